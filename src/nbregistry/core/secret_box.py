"""Webhook signing secrets, encrypted at rest with a key kept outside the database.

The dispatcher needs each secret itself (it signs with HMAC-SHA256), so the secret cannot be
stored as a hash. It is stored encrypted (Fernet: AES-128-CBC + HMAC-SHA256, from ``cryptography``)
with a key in ``<registry root>/webhook-secrets.key`` (or ``$NBREGISTRY_WEBHOOK_KEY_FILE``, the one
key file several server replicas share), created on first use with mode 0600. Whoever
gets ``registry.db`` alone (a backup, a copied file, an SQL console, a bug that dumps a table) gets
neither the secrets nor the power to sign; the key file is not part of any bundle or API answer.
Losing the key file means the stored secrets cannot be used: deliveries fail with a message saying
so, and subscriptions must be added again (with new secrets for their receivers).
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import IntegrityError

KEY_NAME = "webhook-secrets.key"
KEY_FILE_ENV = "NBREGISTRY_WEBHOOK_KEY_FILE"
PREFIX = "fernet:"


def key_path(root: Path) -> Path:
    """``$NBREGISTRY_WEBHOOK_KEY_FILE`` when set, else ``<root>/webhook-secrets.key``. Server replicas
    on one database each have a root of their own: they must all use one key file (a mounted secret),
    or a secret sealed by one replica cannot be opened by the others (docs/scale-out.md)."""
    shared = os.environ.get(KEY_FILE_ENV, "").strip()
    return Path(shared).expanduser() if shared else Path(root) / KEY_NAME


def _key(root: Path, *, create: bool) -> bytes | None:
    path = key_path(root)
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        if not create:
            return None
    from cryptography.fernet import Fernet

    key = Fernet.generate_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as out:
        out.write(key + b"\n")
        out.flush()
        os.fsync(out.fileno())
    return key


def seal(root: Path, secret: str) -> str:
    """The stored form of ``secret`` (the key file is created when it does not exist yet)."""
    from cryptography.fernet import Fernet

    return PREFIX + Fernet(_key(root, create=True)).encrypt(secret.encode()).decode()


def unseal(root: Path, stored: str) -> str:
    """The secret a stored value holds; :class:`IntegrityError` when this registry's key cannot open it."""
    if not stored.startswith(PREFIX):
        raise IntegrityError("webhook secret is not stored encrypted (run this nbregistry once to migrate it)")
    key = _key(root, create=False)
    if key is None:
        raise IntegrityError(f"webhook secret cannot be decrypted: the key file {key_path(root)} is missing")
    from cryptography.fernet import Fernet, InvalidToken

    try:
        return Fernet(key).decrypt(stored[len(PREFIX):].encode()).decode()
    except (InvalidToken, ValueError):
        raise IntegrityError(f"webhook secret cannot be decrypted with the key in {key_path(root)} "
                             "(was it replaced?); add the webhook again") from None
