"""Passwords: the initial one the first e-mail carries, and their hashes (argon2id)."""
from __future__ import annotations

import secrets
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from services.auth.models import Community, Manager

# No look-alike characters (0/o, 1/l/i): the password is typed over from an e-mail.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile


def generate_initial_password() -> str:
    """Four groups of four, about 79 bits: e.g. 'k7qm-t3xa-9pwd-hv2e'."""
    groups = ("".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(4))
    return "-".join(groups)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def issue_initial_credentials(session: Session, community: Community, *, ref: str, now: datetime) -> dict | None:
    """The login and a fresh initial password, for the one delivery that carries them.

    A manager gets an initial password once.  The same delivery (``ref``) asking
    again gets a new one (its first answer was never delivered: notify keeps the
    rendered e-mail until it is accepted and asks only before rendering); any other
    delivery, or a manager who has a password of their own, gets ``None``.  The
    claim is one conditional UPDATE, so concurrent deliveries cannot both win.
    """
    manager = community.manager
    password = generate_initial_password()
    claimed = session.execute(
        update(Manager)
        .where(
            Manager.id == manager.id,
            or_(Manager.initial_issue_ref.is_(None), Manager.initial_issue_ref == ref),
            or_(Manager.password_hash.is_(None), Manager.password_is_initial.is_(True)),
        )
        .values(
            password_hash=hash_password(password),
            password_is_initial=True,
            initial_issue_ref=ref,
            initial_issued_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        return None
    session.expire(manager)
    return {"login": manager.login, "password": password}
