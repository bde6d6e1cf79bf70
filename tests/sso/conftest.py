"""SSO fixtures: the third-party OP (pyop) next to the demo IdP of tests/fixtures/oidc.py, and the
SAML IdP stand-in (pysaml2) of tests/fixtures/saml.py."""

from tests.fixtures.saml import saml_idp, start_saml
from tests.fixtures.third_party_op import start_third_party_op, third_party_op

__all__ = ["saml_idp", "start_saml", "start_third_party_op", "third_party_op"]
