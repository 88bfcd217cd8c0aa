"""Where notify's e-mails go, asked once per batch of e-mails.

For each e-mail: the manager of its community (address, login, community name)
and, for a file's e-mail to a manager who never had a password, the login and an
initial password (``credentials.issue_initial_credentials``: once per manager).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from services.auth.credentials import issue_initial_credentials
from services.auth.models import Community
from shared.errors import InvalidInput

MAX_MAILS = 500


def recipient_view(community: Community) -> dict:
    manager = community.manager
    return {
        "community_id": community.id,
        "community_name": community.name,
        "manager_id": manager.id,
        "email": manager.email,
        "login": manager.login,
        # whether later e-mails may say "uw eigen wachtwoord" (the manager has chosen one)
        "has_own_password": manager.password_hash is not None and not manager.password_is_initial,
    }


def prepare_mail_recipients(session: Session, mails, *, now: datetime) -> list[dict | None]:
    """``mails``: ``[{"community_id", "ref", "credentials": bool}]``, ``ref`` naming the
    delivery.  Answers in the same order: ``{"recipient", "credentials"}`` (credentials
    ``None`` unless asked for and due), or ``None`` for a community that does not exist.
    The caller commits."""
    mails = _checked(mails)
    ids = {mail["community_id"] for mail in mails}
    communities = {
        community.id: community
        for community in session.scalars(
            select(Community).where(Community.id.in_(ids)).options(joinedload(Community.manager))
        )
    }
    answers = []
    for mail in mails:
        community = communities.get(mail["community_id"])
        if community is None:
            answers.append(None)
            continue
        issued = issue_initial_credentials(session, community, ref=mail["ref"], now=now) if mail["credentials"] else None
        answers.append({"recipient": recipient_view(community), "credentials": issued})
    return answers


def _checked(mails) -> list[dict]:
    if not isinstance(mails, list) or len(mails) > MAX_MAILS:
        raise InvalidInput(f"mails must be a list of at most {MAX_MAILS}")
    for mail in mails:
        if not (isinstance(mail, dict) and set(mail) == {"community_id", "ref", "credentials"}
                and isinstance(mail["community_id"], str) and isinstance(mail["ref"], str)
                and 0 < len(mail["ref"]) <= 64 and isinstance(mail["credentials"], bool)):
            raise InvalidInput('each mail is {"community_id": str, "ref": str (at most 64), "credentials": bool}')
    return mails
