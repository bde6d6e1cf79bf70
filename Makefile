# Enclave — the two commands: `make run` (embedded demo) and `make test` (everything).
.PHONY: run test lint fmt bench install chaos

run:
	scripts/run.sh

test:
	scripts/test.sh

install:
	scripts/bootstrap.sh requirements-dev.txt

lint: install
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy .
	.venv/bin/lint-imports
	PYTHONPATH=. .venv/bin/python scripts/import_cycles.py

fmt: install
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

# `make bench` runs every benchmark at bank scale and prints one table (floor, figure, ratio, verdict);
# `make bench ARGS=--quick` runs the same code on tiny sizes (what CI runs: it checks they run, not speed).
bench: install
	DATABASE_URL="$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}" .venv/bin/python -m benchmarks $(ARGS)

# Fault injection: SIGKILL the worker at random moments in every phase, CHAOS_TRIALS times (default 50),
# and print a table of kill moments, recovery times and the cloud resources found. Needs PostgreSQL and Redis.
CHAOS_TRIALS ?= 50
chaos: install
	CHAOS_TRIALS=$(CHAOS_TRIALS) ENCLAVE_REQUIRE_SERVICES=1 .venv/bin/python -m pytest tests/integration/test_chaos.py -m integration -s -q -p no:randomly
