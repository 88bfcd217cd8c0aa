"""Guessing and lockout (NIST SP 800-63B 5.2.2, OWASP "device cookies").

Failed passwords and codes of an account are counted as *consecutive* failures, which only a
successful login (password and second factor) resets — no window that starts over.  Wrong
codes weigh ``CODE`` (2), wrong passwords ``PASSWORD`` (1): whoever has the password gets
half as many code guesses.  After LOGIN_FREE_FAILURES the next try waits a back-off of
LOGIN_BACKOFF_SECONDS, doubling with each further failure up to LOGIN_BACKOFF_MAX_SECONDS;
at LOGIN_HARD_LIMIT (at most 100) the stream is locked until a password reset link is used
or the operator unlocks it (``energiepost community unlock``), and the manager gets an
e-mail (event ``account_locked``).

The counters are kept per *stream*: each trusted device of the manager (services.auth.devices)
has its own, and every other client shares the account's ``unknown`` stream.  Someone who
knows only the e-mail address can exhaust the unknown stream, never the manager's own
browser.  Accounts are the login as typed (keyed: services.auth.typed_logins), so an unknown login is counted and
locked exactly like a real one: the answers reveal nothing about which accounts exist.

Besides, failures are counted per client address (IPv6 per /64, which one subscriber
usually holds whole) in a LOGIN_FAILURE_WINDOW_MINUTES window: LOGIN_MAX_FAILURES from
one address block it for unknown devices, against one address trying many accounts.
"""
from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.orm import Session as DbSession

from services.auth import audit
from services.auth.rate_window import reached
from services.auth.models import FailureCounter, LoginFailure
from shared import contract, metrics
from shared.outbox import Emitter
from shared.errors import TooManyRequests

UNKNOWN = "unknown"  # the stream of every client without a trusted-device cookie for the account
PASSWORD, CODE = 1, 2  # what a wrong password and a wrong code weigh

LOCKED = "Te veel mislukte pogingen. Probeer het over {minutes} minuten opnieuw."
HARD_LOCKED = ("Aanmelden is geblokkeerd na te veel mislukte pogingen. Kies via 'Wachtwoord vergeten?' "
               "een nieuw wachtwoord om de blokkering op te heffen, of contacteer {operator}.")
KNOWN_DEVICE_STILL_WORKS = " Op een toestel waarop u eerder aanmeldde, kunt u wel nog aanmelden."


@dataclass(frozen=True)
class Client:
    """Who is trying: the account (login as typed, keyed), the stream its failures count
    in, the client address, and the manager (None for an unknown login)."""

    account: str
    stream: str
    address: str | None
    manager_id: str | None = None
    label: str | None = None  # how the audit trail names an unknown login

    @property
    def trusted(self) -> bool:
        return self.stream != UNKNOWN


def address_key(client_ip) -> str | None:
    """What address limits count: an IPv4 address, or the /64 an IPv6 address is in."""
    try:
        address = ipaddress.ip_address(client_ip or "")
    except ValueError:
        return client_ip or None
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def backoff_seconds(failures: int, settings) -> int:
    """How long after the last failure the next try must wait."""
    beyond = failures - settings.login_free_failures
    if beyond < 0:
        return 0
    if beyond >= 32:  # long past the maximum; no need to compute 2**beyond
        return settings.login_backoff_max_seconds
    return min(settings.login_backoff_seconds * 2 ** beyond, settings.login_backoff_max_seconds)


def _counter(db: DbSession, client: Client) -> FailureCounter | None:
    """The stream's counter, its row locked until commit (PostgreSQL): concurrent tries of one
    stream are checked and counted one after the other, so a burst cannot slip past the back-off."""
    return db.scalar(select(FailureCounter).where(FailureCounter.account == client.account,
                                                  FailureCounter.stream == client.stream)
                     .with_for_update().execution_options(populate_existing=True))


def _refuse(db: DbSession, client: Client, message: str, reason: str, *, now) -> None:
    metrics.LOGIN_LOCKS.inc()
    audit.record(db, "login_locked", now=now, manager_id=client.manager_id, client_ip=client.address,
                 detail=f"{client.label + ', ' if client.label else ''}{reason}")
    db.commit()
    raise TooManyRequests(message)


def refuse_if_locked(db: DbSession, client: Client, *, now: datetime, settings) -> None:
    """TooManyRequests while the client's stream is locked or waiting out its back-off, or
    (unknown devices only) its address is over the limit.  The right password does not help."""
    _check(db, client, _counter(db, client), now=now, settings=settings)


def _check(db: DbSession, client: Client, counter: FailureCounter | None, *, now: datetime, settings) -> None:
    if counter is not None and (counter.locked_at is not None or counter.failures >= settings.login_hard_limit):
        # (at the limit but not yet locked: the last allowed try is still being checked)
        message = HARD_LOCKED.format(operator=settings.operator_name)
        _refuse(db, client, message + ("" if client.trusted else KNOWN_DEVICE_STILL_WORKS),
                f"hard stop ({_stream_name(client)})", now=now)
    if counter is not None and counter.failures:
        wait = counter.last_failure_at + timedelta(seconds=backoff_seconds(counter.failures, settings)) - now
        if wait > timedelta(0):
            _refuse(db, client, LOCKED.format(minutes=max(1, math.ceil(wait.total_seconds() / 60))),
                    f"back-off after {counter.failures} ({_stream_name(client)})", now=now)
    key = address_key(client.address)
    if key and not client.trusted:
        if reached(db, LoginFailure.at, limit=settings.login_max_failures, now=now,
                   window=timedelta(minutes=settings.login_failure_window_minutes), scope="address", key=key):
            _refuse(db, client, LOCKED.format(minutes=settings.login_failure_window_minutes),
                    f"address {key} over the limit", now=now)


# --- a try counted before it is checked ------------------------------------------------------

@dataclass(frozen=True)
class Counted:
    """A try ``count_first`` counted as failed before it was checked."""

    client: Client
    weight: int
    at: datetime
    before: datetime | None  # the stream's last failure before this try (None: none counted)
    address_failure: int | None  # the LoginFailure row counted at the client's address


def count_first(db: DbSession, client: Client, *, weight: int, now: datetime, settings) -> Counted:
    """For a check that gives up the connection while it runs (argon2 in services.auth.offload):
    the stream's counter row is made if need be and locked, the try refused if the stream is
    locked or backing off, else counted as failed at once; the caller commits, then checks.
    So a burst of simultaneous tries is checked one after the other, each seeing the tries
    before it as failures: no more get through than the back-off and the hard limit allow.
    Then ``confirm`` (a wrong try: the hard stop, the e-mail) or ``take_back`` (a right one)."""
    db.execute(_insert(db).values(account=client.account, stream=client.stream, failures=0, last_failure_at=now)
               .on_conflict_do_nothing(index_elements=[FailureCounter.account, FailureCounter.stream]))
    counter = _counter(db, client)  # made above: now locked until commit (PostgreSQL)
    _check(db, client, counter, now=now, settings=settings)
    before = counter.last_failure_at if counter.failures else None
    counter.failures += weight
    counter.last_failure_at = now
    address_failure = None
    key = address_key(client.address)
    if key:
        row = LoginFailure(scope="address", key=key, at=now)
        db.add(row)
        db.flush()
        address_failure = row.id
    return Counted(client=client, weight=weight, at=now, before=before, address_failure=address_failure)


def confirm(db: DbSession, counted: Counted, *, now: datetime, settings, outbox: Emitter) -> None:
    """The try counted first was wrong: at the hard limit the stream locks and the manager is told."""
    _lock_at_limit(db, counted.client, now=now, settings=settings, outbox=outbox)


def take_back(db: DbSession, counted: Counted) -> None:
    """The try counted first was right: it no longer counts (nor delays the next step's back-off)."""
    client = counted.client
    row = (FailureCounter.account == client.account, FailureCounter.stream == client.stream)
    db.execute(update(FailureCounter).where(*row, FailureCounter.failures >= counted.weight).values(
        failures=FailureCounter.failures - counted.weight,
        last_failure_at=case((FailureCounter.last_failure_at == counted.at, counted.before or counted.at),
                             else_=FailureCounter.last_failure_at),
    ).execution_options(synchronize_session=False))
    db.execute(delete(FailureCounter).where(*row, FailureCounter.failures <= 0, FailureCounter.locked_at.is_(None))
               .execution_options(synchronize_session=False))
    if counted.address_failure is not None:
        db.execute(delete(LoginFailure).where(LoginFailure.id == counted.address_failure)
                   .execution_options(synchronize_session=False))


# --- counting after the check -----------------------------------------------------------------

def count_failure(db: DbSession, client: Client, *, weight: int, now: datetime, settings, outbox: Emitter) -> None:
    """One more failure (of ``weight``) in the client's stream and at its address; at the hard
    limit the stream locks (once: one conditional UPDATE) and the manager is told."""
    db.execute(_upsert(db, client, weight, now))
    key = address_key(client.address)
    if key:
        db.add(LoginFailure(scope="address", key=key, at=now))
    _lock_at_limit(db, client, now=now, settings=settings, outbox=outbox)


def _lock_at_limit(db: DbSession, client: Client, *, now: datetime, settings, outbox: Emitter) -> None:
    """At the hard limit the stream locks (once: one conditional UPDATE) and the manager is told."""
    locked = db.execute(
        update(FailureCounter)
        .where(FailureCounter.account == client.account, FailureCounter.stream == client.stream,
               FailureCounter.locked_at.is_(None), FailureCounter.failures >= settings.login_hard_limit)
        .values(locked_at=now).execution_options(synchronize_session=False)
    ).rowcount
    if not locked:
        return
    audit.record(db, "account_locked", now=now, manager_id=client.manager_id, client_ip=client.address,
                 detail=f"{client.label + ', ' if client.label else ''}{_stream_name(client)}")
    if client.manager_id is not None:
        outbox.emit(contract.ACCOUNT_LOCKED, now=now, manager_id=client.manager_id,
                    stream="trusted" if client.trusted else UNKNOWN)


def _insert(db: DbSession):
    """INSERT of a counter in the database's dialect (for ON CONFLICT)."""
    if db.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(FailureCounter)


def _upsert(db: DbSession, client: Client, weight: int, now: datetime):
    """INSERT ... ON CONFLICT DO UPDATE: concurrent failures are all counted."""
    statement = _insert(db).values(account=client.account, stream=client.stream, failures=weight,
                                              last_failure_at=now)
    return statement.on_conflict_do_update(
        index_elements=[FailureCounter.account, FailureCounter.stream],
        set_={"failures": FailureCounter.failures + weight, "last_failure_at": now},
    )


def succeeded(db: DbSession, client: Client) -> None:
    """A completed login resets its stream (a stream locked meanwhile stays locked)."""
    db.execute(delete(FailureCounter).where(FailureCounter.account == client.account,
                                            FailureCounter.stream == client.stream,
                                            FailureCounter.locked_at.is_(None)))


def unlock(db: DbSession, account: str, *, manager_id: str, by: str, now: datetime, client_ip=None) -> int:
    """Lift every lock and reset every counter of the account (a used reset link, the
    operator); returns how many streams were locked."""
    was_locked = locked_streams(db, account)
    db.execute(delete(FailureCounter).where(FailureCounter.account == account))
    if was_locked:
        audit.record(db, "account_unlocked", now=now, manager_id=manager_id, client_ip=client_ip, detail=f"by {by}")
    return was_locked


def forget(db: DbSession, account: str) -> None:
    """The account's counters go with the account."""
    db.execute(delete(FailureCounter).where(FailureCounter.account == account))


def locked_streams(db: DbSession, account: str) -> int:
    return db.scalar(select(func.count()).select_from(FailureCounter).where(
        FailureCounter.account == account, FailureCounter.locked_at.is_not(None)))


def _stream_name(client: Client) -> str:
    return f"device {client.stream[:8]}" if client.trusted else "unknown devices"
