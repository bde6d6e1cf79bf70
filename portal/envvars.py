"""The environment variables Enclave's settings read, found by reading the settings source.

Used by the deployment tests to keep docker-compose.yml and the README's configuration
table honest: a variable the code reads but nobody documents, or one compose sets but
the code never reads, fails a test.
"""

from __future__ import annotations

import re
from pathlib import Path

SETTINGS = Path(__file__).with_name("settings.py")
_ENV_CALL = re.compile(r"""env(?:\(\))?\.(?:str|bool|int|float|list|dict|db|email_url)\(\s*["']([A-Z][A-Z0-9_]*)["']""")
# Variables whose names carry an id chosen by the operator, e.g. ENCLAVE_OIDC_CORP_ISSUER.
PATTERNS = {
    "ENCLAVE_OIDC_<ID>_NAME": re.compile(r"^ENCLAVE_OIDC_[A-Z0-9_]+_NAME$"),
    "ENCLAVE_OIDC_<ID>_ISSUER": re.compile(r"^ENCLAVE_OIDC_[A-Z0-9_]+_ISSUER$"),
    "ENCLAVE_OIDC_<ID>_CLIENT_ID": re.compile(r"^ENCLAVE_OIDC_[A-Z0-9_]+_CLIENT_ID$"),
    "ENCLAVE_OIDC_<ID>_CLIENT_SECRET": re.compile(r"^ENCLAVE_OIDC_[A-Z0-9_]+_CLIENT_SECRET$"),
    "ENCLAVE_OIDC_<ID>_TOKEN_AUTH_METHOD": re.compile(r"^ENCLAVE_OIDC_[A-Z0-9_]+_TOKEN_AUTH_METHOD$"),
    "ENCLAVE_OIDC_<ID>_*": re.compile(
        r"^ENCLAVE_OIDC_[A-Z0-9_]+_(SCOPES|SUBJECT_CLAIM|GROUPS_CLAIM|ROLE_MAPPING|MFA_AMR|MFA_ACR|GROUPS_OVERAGE)$"
    ),
    "ENCLAVE_SAML_<ID>_*": re.compile(
        r"^ENCLAVE_SAML_[A-Z0-9_]+_(NAME|IDP_ENTITY_ID|IDP_METADATA_URL|IDP_SSO_URL|IDP_X509CERT|SP_ENTITY_ID|ATTR_[A-Z]+)$"
    ),
}


def read_by_settings() -> set[str]:
    """Every literal variable name the settings module reads."""
    return set(_ENV_CALL.findall(SETTINGS.read_text()))


def is_known(name: str) -> bool:
    return name in read_by_settings() or any(p.match(name) for p in PATTERNS.values())
