"""A SAML 2.0 identity provider stand-in built on IdentityPython's ``pysaml2``: the demo's second
sign-in option and the tests' IdP. See ``server.py``."""

from devtools.saml_idp.server import SAMLIdP, SAMLIdPHandle, SAMLUser, ServiceProvider, load_users, start_saml_idp

__all__ = ["SAMLIdP", "SAMLIdPHandle", "SAMLUser", "ServiceProvider", "load_users", "start_saml_idp"]
