"""Registering communities and their managers (the operator's helpdesk does this).

A manager is identified by e-mail address, which is also the login; one manager
may manage several communities.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.auth import contacts
from services.auth.models import Community, Manager
from shared.errors import AlreadyExists, InvalidInput, NotFound


def community_view(community: Community) -> dict:
    return {
        "id": community.id,
        "name": community.name,
        "email": community.manager.email,
        "gsm": community.manager.gsm,
        "created_at": community.created_at.isoformat(),
        "updated_at": community.updated_at.isoformat(),
    }


def get_community(session: Session, community_id: str) -> Community:
    community = session.get(Community, community_id) if isinstance(community_id, str) else None
    if community is None:
        raise NotFound(f"unknown community {community_id!r}", field="community_id")
    return community


def _manager_by_email(session: Session, email: str) -> Manager | None:
    return session.scalar(select(Manager).where(Manager.email == email))


def _new_manager(session: Session, email: str, gsm: str, now: datetime) -> Manager:
    manager = Manager(id=str(uuid.uuid4()), email=email, gsm=gsm, created_at=now, updated_at=now)
    session.add(manager)
    return manager


def add_community(session: Session, *, community_id, name, email, gsm, now: datetime) -> Community:
    community_id = contacts.community_id(community_id)
    name = contacts.community_name(name)
    email = contacts.email(email)
    gsm = contacts.gsm(gsm)
    if session.get(Community, community_id) is not None:
        raise AlreadyExists(f"community {community_id!r} already exists", field="community_id")
    manager = _manager_by_email(session, email)
    if manager is None:
        manager = _new_manager(session, email, gsm, now)
    elif manager.gsm != gsm:
        raise InvalidInput(
            f"{email} already manages another community with a different GSM number; "
            "change it first with 'community update'",
            field="gsm",
        )
    community = Community(id=community_id, name=name, manager=manager, created_at=now, updated_at=now)
    session.add(community)
    return community


def update_community(session: Session, *, community_id, email=None, gsm=None, name=None, now: datetime):
    """Change a community's contact details; returns (community, managers whose contact changed).

    A new e-mail address that nobody uses yet renames the manager's account when
    this is their only community (they keep their password); otherwise the
    community moves to the account of that address (created if need be).
    """
    community = get_community(session, community_id)
    if email is None and gsm is None and name is None:
        raise InvalidInput("nothing to update: give --email, --gsm or --name")
    changed: list[Manager] = []
    if name is not None:
        community.name = contacts.community_name(name)
    manager = community.manager
    if email is not None:
        email = contacts.email(email)
        if email != manager.email:
            owner = _manager_by_email(session, email)
            others = session.scalar(
                select(func.count()).select_from(Community).where(
                    Community.manager_id == manager.id, Community.id != community.id
                )
            )
            if owner is None and others == 0:
                manager.email = email
                changed.append(manager)
            else:
                target = owner or _new_manager(session, email, manager.gsm, now)
                community.manager = target
                manager = target
    if gsm is not None:
        gsm = contacts.gsm(gsm)
        if gsm != manager.gsm:
            manager.gsm = gsm
            changed.append(manager)
    manager.updated_at = now
    community.updated_at = now
    return community, changed


def list_communities(session: Session) -> list[Community]:
    return list(session.scalars(select(Community).order_by(Community.id)))
