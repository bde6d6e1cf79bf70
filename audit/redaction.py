"""Keep secrets out of the audit trail: keys that name secret material are masked."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

REDACTED = "[REDACTED]"
_CAMEL_RE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SECRET_KEY_RE = re.compile(
    r"(^|_)(pass(word|wd|phrase)?|secret|token|api_?key|private_?key|access_?key|credentials?|"
    r"authori[sz]ation|cookie|session_?(id|key)|otp|totp|recovery_?codes?|key_?material|signature)(_|$)"
)


@lru_cache(maxsize=4096)
def is_secret_key(key: str) -> bool:
    """``client_secret``, ``SecretAccessKey``, ``password2`` are secret; ``kms_key_id`` is not."""
    normal = re.sub(r"[^a-z0-9]+", "_", _CAMEL_RE.sub("_", key).lower())
    normal = re.sub(r"(?<=[a-z])(?=\d)", "_", normal)
    return bool(_SECRET_KEY_RE.search(normal))


def redact(value: Any) -> Any:
    """A copy of ``value`` with every secret-named key's value replaced, at any depth."""
    if isinstance(value, dict):
        return {k: (REDACTED if is_secret_key(str(k)) else redact(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value
