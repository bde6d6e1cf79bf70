"""The demo OpenID Connect provider (loopback only), used by ``make run`` and the SSO tests."""

from devtools.oidc_idp.server import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    Client,
    DemoUser,
    IdPHandle,
    OIDCProvider,
    load_users,
    start_idp,
)

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "Client",
    "DemoUser",
    "IdPHandle",
    "OIDCProvider",
    "load_users",
    "start_idp",
]
