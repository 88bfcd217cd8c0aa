"""Trusted devices (OWASP "device cookies"): a browser the manager completed a login on gets
a random 256-bit token in a long-lived cookie; only its hash is stored.

Failed logins are counted per device (services.auth.lockout): a client that presents a
live device token of the account it tries counts in that device's own stream; every
other client counts in the account's stream for unknown devices.  So whoever knows only
the e-mail address can lock out unknown devices, never the manager's own browser.
The token is renewed at every login on the device (the old one stops working), and every
device of the manager is forgotten when the password or the contact details change.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session as DbSession

from services.auth.models import TrustedDevice
from services.auth.tokens import new_token, token_hash


def recognise(db: DbSession, token, manager_id: str | None, *, now: datetime) -> TrustedDevice | None:
    """The live trusted device of ``manager_id`` whose token this is, or None."""
    if manager_id is None or not isinstance(token, str) or not token:
        return None
    device = db.scalar(select(TrustedDevice).where(TrustedDevice.token_hash == token_hash(token)))
    if device is None or device.manager_id != manager_id or now >= device.expires_at:
        return None
    return device


def trust(db: DbSession, manager_id: str, token, *, now: datetime, settings) -> tuple[TrustedDevice, str]:
    """After a completed login: the device (the one ``token`` names, else a new one) with a
    new token, valid TRUSTED_DEVICE_DAYS from now; returns it and the token for the cookie."""
    device = recognise(db, token, manager_id, now=now)
    fresh = new_token()
    if device is None:
        device = TrustedDevice(id=str(uuid.uuid4()), manager_id=manager_id, created_at=now)
        db.add(device)
    device.token_hash = token_hash(fresh)
    device.last_used_at = now
    device.expires_at = now + timedelta(days=settings.trusted_device_days)
    return device, fresh


def forget_all(db: DbSession, manager_id: str, *, now: datetime) -> None:
    """The manager's devices are trusted no more (their records stay until the security
    retention): after a new password or new contact details every browser starts over."""
    db.execute(update(TrustedDevice).where(TrustedDevice.manager_id == manager_id, TrustedDevice.expires_at > now)
               .values(expires_at=now).execution_options(synchronize_session=False))


def cookie_max_age(settings) -> int:
    """How long the browser keeps the cookie, in seconds."""
    return settings.trusted_device_days * 24 * 3600
