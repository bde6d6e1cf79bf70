"""SSO fixtures: the third-party OP (pyop) next to the demo IdP of tests/fixtures/oidc.py."""

from tests.fixtures.third_party_op import start_third_party_op, third_party_op

__all__ = ["start_third_party_op", "third_party_op"]
