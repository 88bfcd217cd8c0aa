"""Small secrets encrypted at rest (AES-256-GCM), each bound to the row it belongs to.

The associated data (e.g. the manager's id) makes a sealed value useless anywhere
else: someone who can write the database cannot move an authenticator secret from
one account to another.
"""
from __future__ import annotations

import base64
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = "v1"
_NONCE_BYTES = 12


class SecretBox:
    def __init__(self, key: bytes):
        self._aead = AESGCM(key)

    def seal(self, plaintext: str, *, bound_to: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = nonce + self._aead.encrypt(nonce, plaintext.encode(), bound_to.encode())
        return f"{_VERSION}:{base64.urlsafe_b64encode(sealed).decode()}"

    def open(self, sealed: str, *, bound_to: str) -> str:
        """The plaintext; ``cryptography.exceptions.InvalidTag`` if the value was altered or moved."""
        version, _, body = sealed.partition(":")
        if version != _VERSION:
            raise ValueError(f"unknown sealed-secret version {version!r}")
        raw = base64.urlsafe_b64decode(body)
        return self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], bound_to.encode()).decode()
