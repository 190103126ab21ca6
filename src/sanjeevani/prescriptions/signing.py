"""Ed25519 signatures over a prescription's content, with the platform key kept outside the
database (``settings.SIGNING_KEY_FILE``), so that a copy of the database cannot forge one."""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def canonical_json(content: dict[str, Any]) -> bytes:
    """The bytes that are signed: sorted keys, no spaces, UTF-8; stable across databases
    (PostgreSQL's jsonb reorders keys, so the order must not matter)."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def generate_key_file(path: Path) -> None:
    """Write a new private key readable only by its owner. Fails if the file exists."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)


@functools.lru_cache(maxsize=4)
def _load_private_key(path: str, production: bool) -> Ed25519PrivateKey:
    key_path = Path(path)
    if not key_path.exists():
        if production:
            raise ImproperlyConfigured(
                f"The prescription signing key {key_path} is missing. Create it once with "
                "`manage.py create_signing_key` (or point SIGNING_KEY_FILE at the existing "
                "key); production never generates a key on the fly."
            )
        with contextlib.suppress(FileExistsError):
            generate_key_file(key_path)
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured(f"{key_path} does not hold an Ed25519 private key.")
    return key


def private_key() -> Ed25519PrivateKey:
    return _load_private_key(str(settings.SIGNING_KEY_FILE), bool(settings.PRODUCTION))


def public_key() -> Ed25519PublicKey:
    return private_key().public_key()


def public_key_pem() -> bytes:
    return public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def key_id(key: Ed25519PublicKey | None = None) -> str:
    """Names the key that signed, so a rotated key can be told apart from tampering."""
    raw = (key or public_key()).public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return hashlib.sha256(raw).hexdigest()[:16]


def sign_content(content: dict[str, Any]) -> tuple[str, str]:
    """Return (base64 signature, key id)."""
    signature = private_key().sign(canonical_json(content))
    return base64.b64encode(signature).decode("ascii"), key_id()


def verify_content(content: dict[str, Any], signature: str, signed_key_id: str) -> bool:
    """True when ``signature`` is the platform key's signature of exactly ``content``."""
    if signed_key_id != key_id():
        return False
    try:
        public_key().verify(base64.b64decode(signature, validate=True), canonical_json(content))
    except (InvalidSignature, ValueError):
        return False
    return True


def verify(prescription: Any) -> bool:
    """Recompute the canonical JSON of the stored content and check its signature."""
    return verify_content(prescription.content, prescription.signature, prescription.key_id)
