"""Encryption for secrets that must be reusable (registry passwords, API keys).

Fernet from `cryptography`; the key comes from ENCRYPTION_KEY or is derived from SECRET_KEY.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


@cache
def _fernet(secret: str) -> Fernet:
    digest = hashlib.sha256(("tutumweb-encryption:" + secret).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _current() -> Fernet:
    return _fernet(settings.ENCRYPTION_KEY or settings.SECRET_KEY)


def encrypt(plaintext: str) -> str:
    return _current().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    """Decrypt a value from `encrypt`; an unreadable value (key changed) decrypts to ''."""
    if not token:
        return ""
    try:
        return _current().decrypt(token.encode()).decode()
    except InvalidToken:
        return ""


def digest(value: str) -> str:
    """A lookup hash for API keys: keys are random, so a plain SHA-256 is enough."""
    return hashlib.sha256(value.encode()).hexdigest()
