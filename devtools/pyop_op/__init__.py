"""A third-party OpenID Provider for interoperability tests: IdentityPython's ``pyop`` (the
OP library behind SATOSA, from PyPI) served over TLS on loopback.

pyop does the protocol — authorization requests, PKCE, nonce, ID-token signing, claims
released per scope, client authentication; this package only carries HTTP to and from it,
shows a one-click user picker, and lets tests change a user's claims between logins.
Nothing here comes from Enclave's own demo IdP.
"""

from devtools.pyop_op.server import OPHandle, start_op

__all__ = ["OPHandle", "start_op"]
