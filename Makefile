# Enclave — the two commands: `make run` (embedded demo) and `make test` (everything).
.PHONY: run test lint fmt bench install

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

bench: install
	.venv/bin/python -m benchmarks
