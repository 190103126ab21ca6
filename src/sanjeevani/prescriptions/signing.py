"""Ed25519 signatures over a prescription's content.

Two signatures cover the same canonical content:

- the platform's, with the key kept outside the database (``settings.SIGNING_KEY_FILE``),
  so that a copy of the database cannot forge one;
- the doctor's own, with a per-doctor key (``DoctorSigningKey``). Its private half is kept
  in the database sealed with AES-256-GCM under a key derived (HKDF-SHA256) from the
  platform secret (``SECRET_KEY``; ``SECRET_KEY_FALLBACKS`` too when unsealing), so a copy
  of the database alone cannot sign as a doctor, and keys work on every app node without a
  shared key directory. Its public half is kept in the clear for ever: retired keys keep
  verifying what they signed.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
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


# --- the doctor's own key ------------------------------------------------------------------

_SEAL_INFO = b"sanjeevani doctor signing key v1"
SEAL_PREFIX = "v1:"


class SigningKeyUnavailable(Exception):
    """A doctor's private key could not be unsealed (the platform secret changed without
    keeping the old one in ``SECRET_KEY_FALLBACKS``); rotating the doctor's key fixes it."""


def fingerprint(public_raw: bytes) -> str:
    """A key's id: the first 16 hex digits of SHA-256 over its raw public key."""
    return hashlib.sha256(public_raw).hexdigest()[:16]


def _sealing_keys() -> list[bytes]:
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return [
        HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_SEAL_INFO).derive(
            str(secret).encode()
        )
        for secret in secrets
    ]


def seal_private_key(private: Ed25519PrivateKey, key_id_: str) -> str:
    """The raw private key encrypted under the current platform secret; the key id is
    authenticated with it, so a sealed key cannot be moved to another key row."""
    raw = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    nonce = os.urandom(12)
    sealed = AESGCM(_sealing_keys()[0]).encrypt(nonce, raw, key_id_.encode())
    return SEAL_PREFIX + base64.b64encode(nonce + sealed).decode("ascii")


def unseal_private_key(sealed: str, key_id_: str) -> Ed25519PrivateKey:
    if not sealed.startswith(SEAL_PREFIX):
        raise SigningKeyUnavailable("Unknown sealed key format.")
    blob = base64.b64decode(sealed[len(SEAL_PREFIX) :])
    nonce, body = blob[:12], blob[12:]
    for key in _sealing_keys():
        try:
            raw = AESGCM(key).decrypt(nonce, body, key_id_.encode())
        except InvalidTag:
            continue
        return Ed25519PrivateKey.from_private_bytes(raw)
    raise SigningKeyUnavailable("The platform secret that sealed this key is gone.")


def new_doctor_key() -> tuple[str, str, str]:
    """A fresh doctor key: (key id, base64 raw public key, sealed private key)."""
    private = Ed25519PrivateKey.generate()
    public_raw = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    kid = fingerprint(public_raw)
    return kid, base64.b64encode(public_raw).decode("ascii"), seal_private_key(private, kid)


def sign_as_doctor(content: dict[str, Any], sealed: str, key_id_: str) -> str:
    """The doctor's base64 signature of ``content``."""
    signature = unseal_private_key(sealed, key_id_).sign(canonical_json(content))
    return base64.b64encode(signature).decode("ascii")


def verify_doctor_content(
    content: dict[str, Any], signature: str, signed_key_id: str, public_b64: str
) -> bool:
    """True when ``signature`` is the signature of exactly ``content`` by the public key
    ``public_b64`` whose fingerprint is ``signed_key_id`` (a swapped public key fails)."""
    try:
        public_raw = base64.b64decode(public_b64, validate=True)
        if fingerprint(public_raw) != signed_key_id:
            return False
        Ed25519PublicKey.from_public_bytes(public_raw).verify(
            base64.b64decode(signature, validate=True), canonical_json(content)
        )
    except (InvalidSignature, ValueError):
        return False
    return True
