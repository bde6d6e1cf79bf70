"""Signing checkpoints: a small ``Signer`` interface (a KMS can implement it later) and the
Ed25519 signer whose private key comes from a secret file or the environment.

The key id is the SHA-256 fingerprint of the raw 32-byte public key, so anyone holding the
public key can recompute it and nobody can choose it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import os
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)

ALGORITHM = "Ed25519"
DEV_KEY_NAME = "audit-signing-key.pem"


class Signer(Protocol):
    """What a checkpoint needs from a key: its id, its public half, and a signature."""

    @property
    def key_id(self) -> str: ...

    @property
    def algorithm(self) -> str: ...

    def public_key_bytes(self) -> bytes: ...

    def sign(self, message: bytes) -> bytes: ...


def key_id_of(public_key: bytes) -> str:
    """The fingerprint of a raw Ed25519 public key (64 hex digits)."""
    return hashlib.sha256(public_key).hexdigest()


class Ed25519Signer:
    """An in-process Ed25519 key (from a file or the environment)."""

    algorithm = ALGORITHM

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private_key = private_key
        self._public = private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self._key_id = key_id_of(self._public)

    @property
    def key_id(self) -> str:
        return self._key_id

    def public_key_bytes(self) -> bytes:
        return self._public

    def sign(self, message: bytes) -> bytes:
        return self._private_key.sign(message)

    @classmethod
    def generate(cls) -> Ed25519Signer:
        return cls(Ed25519PrivateKey.generate())

    def private_pem(self) -> bytes:
        return self._private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )


def verify_signature(public_key: bytes, signature: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def parse_private_key(material: bytes) -> Ed25519PrivateKey:
    """A PKCS#8 PEM private key, or the base64 of a raw 32-byte seed."""
    text = material.strip()
    if text.startswith(b"-----BEGIN"):
        key = serialization.load_pem_private_key(text, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ImproperlyConfigured("the audit signing key must be an Ed25519 key")
        return key
    try:
        seed = base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise ImproperlyConfigured("the audit signing key is neither PEM nor base64") from exc
    if len(seed) != 32:
        raise ImproperlyConfigured("a base64 audit signing key must decode to 32 bytes (an Ed25519 seed)")
    return Ed25519PrivateKey.from_private_bytes(seed)


def write_private_key(path: Path, signer: Ed25519Signer) -> None:
    """Create ``path`` (mode 0600, refusing to overwrite) holding the signer's PEM private key."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(signer.private_pem())


def get_signer() -> Signer:
    """The configured signer (cached per configuration)."""
    return _signer(
        settings.ENCLAVE_AUDIT_SIGNING_KEY,
        settings.ENCLAVE_AUDIT_SIGNING_KEY_FILE,
        str(settings.RUN_DIR),
        settings.ENCLAVE_ENV,
    )


@lru_cache(maxsize=8)
def _signer(material: str, path: str, run_dir: str, env: str) -> Signer:
    if material:
        return Ed25519Signer(parse_private_key(material.encode()))
    if path:
        return Ed25519Signer(parse_private_key(Path(path).read_bytes()))
    if env == "production":
        raise ImproperlyConfigured("set ENCLAVE_AUDIT_SIGNING_KEY_FILE (or ENCLAVE_AUDIT_SIGNING_KEY) in production")
    if env == "test":
        logger.warning("audit checkpoints are signed with a key generated for this test process")
        return Ed25519Signer.generate()
    # The embedded demo: one key for web, worker and beat, generated once and kept in the run directory.
    key_file = Path(run_dir) / DEV_KEY_NAME
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):  # another process of the demo created it first
            write_private_key(key_file, Ed25519Signer.generate())
        logger.warning(
            "generated an audit signing key for the demo at %s; production needs ENCLAVE_AUDIT_SIGNING_KEY_FILE",
            key_file,
        )
    return Ed25519Signer(parse_private_key(key_file.read_bytes()))
