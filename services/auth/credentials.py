"""The initial password the first e-mail carries, and its end when the contact details change."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from services.auth.models import Community, Manager
from services.auth.passwords import generate_initial_password, hash_generated_password


def issue_initial_credentials(session: Session, community: Community, *, ref: str, now: datetime) -> dict | None:
    """The login and a fresh initial password, for the one delivery that carries them.

    A manager gets an initial password once.  The same delivery (``ref``) asking
    again gets a new one (its first answer was never delivered: notify keeps the
    rendered e-mail until it is accepted and asks only before rendering); any other
    delivery, or a manager who has a password of their own, gets ``None``.  The
    claim is one conditional UPDATE, so concurrent deliveries cannot both win.
    """
    manager = community.manager
    if not _may_receive(manager, ref):
        return None  # nothing generated, hashed or written: the usual answer at month-end
    password = generate_initial_password()
    claimed = session.execute(
        update(Manager)
        .where(
            Manager.id == manager.id,
            or_(Manager.initial_issue_ref.is_(None), Manager.initial_issue_ref == ref),
            or_(Manager.password_hash.is_(None), Manager.password_is_initial.is_(True)),
            Manager.initial_used_at.is_(None),
        )
        .values(
            password_hash=hash_generated_password(password),
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


def void_initial_password(manager: Manager, *, now: datetime) -> bool:
    """After a contact change an initial password (mailed to the old address, perhaps to the
    wrong person) stops working; the next e-mail to the new address carries a fresh one.
    True when there was one."""
    if not manager.password_is_initial:
        return False
    manager.password_hash = None
    manager.password_is_initial = False
    manager.initial_issue_ref = None
    manager.initial_issued_at = None
    manager.initial_used_at = None
    manager.updated_at = now
    return True


def _may_receive(manager: Manager, ref: str) -> bool:
    """The claim's conditions on the row as loaded: most managers fail them, and then
    nothing is generated or written (the claim checks them again as it writes)."""
    return (manager.initial_issue_ref in (None, ref) and manager.initial_used_at is None
            and (manager.password_hash is None or manager.password_is_initial))
