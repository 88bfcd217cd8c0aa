"""The message contract: every event that crosses a service boundary.

Each event has a source service (nameko publishes it on the ``<source>.events``
exchange), a name, a schema version and its fields.  Payloads carry ``event_id``,
``occurred_at`` and ``version`` besides their own fields, and carry ids rather than
personal data.  Both sides use this module: ``build`` when dispatching,
``parse`` when handling.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Mapping


class ContractError(ValueError):
    """A payload does not match its event's schema."""


def _is_timestamp(value) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return False
    return parsed.tzinfo is not None


def _is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


def _is_date(value) -> bool:
    from datetime import date

    try:
        date.fromisoformat(value)
    except (TypeError, ValueError):
        return False
    return isinstance(value, str) and len(value) == 10


def _is_expiring_list(value) -> bool:
    """[{"file_id", "name", "size", "expires_at", "downloaded"}, ...], at least one."""
    item = {"file_id": "uuid", "name": "str", "size": "int", "expires_at": "timestamp", "downloaded": "bool"}
    return isinstance(value, list) and bool(value) and all(
        isinstance(entry, dict) and set(entry) == set(item) and all(_KINDS[kind](entry[key]) for key, kind in item.items())
        for entry in value
    )


# field kind -> check
_KINDS = {
    "str": lambda v: isinstance(v, str) and v != "",
    "optional_str": lambda v: v is None or isinstance(v, str),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "timestamp": _is_timestamp,
    "uuid": _is_uuid,
    "sha256": lambda v: isinstance(v, str) and len(v) == 64 and all(c in "0123456789abcdef" for c in v),
    "file_kind": lambda v: v in FILE_KINDS,
    "bool": lambda v: isinstance(v, bool),
    "date": _is_date,
    "trigger": lambda v: v in ("schedule", "manual"),
    "expiring_files": _is_expiring_list,
}
FILE_KINDS = ("periodic", "adhoc")
ENVELOPE = {"event_id": "uuid", "occurred_at": "timestamp", "version": "int"}


@dataclass(frozen=True)
class Event:
    source: str
    name: str
    version: int
    fields: Mapping[str, str]

    def build(self, *, event_id: str | None = None, occurred_at: datetime | None = None, **fields) -> dict:
        occurred_at = occurred_at or datetime.now(timezone.utc)
        payload = {
            "event_id": event_id or str(uuid.uuid4()),
            "occurred_at": occurred_at.isoformat(),
            "version": self.version,
            **fields,
        }
        return self.parse(payload)

    def parse(self, payload) -> dict:
        """Check a payload against the schema; returns it, or raises ContractError."""
        if not isinstance(payload, dict):
            raise ContractError(f"{self.name}: payload must be an object")
        if payload.get("version") != self.version:
            raise ContractError(
                f"{self.name}: version {payload.get('version')!r} is not {self.version}"
            )
        expected = {**ENVELOPE, **self.fields}
        unknown = sorted(set(payload) - set(expected))
        if unknown:
            raise ContractError(f"{self.name}: unknown fields {unknown}")
        for field, kind in expected.items():
            if field not in payload and not kind.startswith("optional"):
                raise ContractError(f"{self.name}: missing field {field!r}")
            if field in payload and not _KINDS[kind](payload[field]):
                raise ContractError(f"{self.name}: field {field!r} is not a valid {kind}")
        return payload


FILE_PUBLISHED = Event(
    source="files",
    name="file_published",
    version=1,
    fields={
        "file_id": "uuid",
        "community_id": "str",
        "name": "str",
        "size": "int",
        "sha256": "sha256",
        "kind": "file_kind",
        "shared_by": "str",
        "published_at": "timestamp",
        "expires_at": "timestamp",
    },
)

FILE_DELETED = Event(
    source="files",
    name="file_deleted",
    version=1,
    fields={
        "file_id": "uuid",
        "community_id": "str",
        "reason": "str",
        "deleted_at": "timestamp",
    },
)

RETENTION_DUE = Event(
    source="files",
    name="retention_due",
    version=1,
    fields={"run_date": "date", "trigger": "trigger"},
)
"""The daily retention run for a calendar date (Europe/Brussels): fired once per date
by files' scheduler, or by hand with ``energiepost retention run``."""

FILES_EXPIRING = Event(
    source="files",
    name="files_expiring",
    version=1,
    fields={"community_id": "str", "run_date": "date", "files": "expiring_files"},
)
"""A community's files that will be deleted within the reminder window: one
reminder e-mail per community and run date."""

SMS_CODE_REQUESTED = Event(
    source="auth",
    name="sms_code_requested",
    version=1,
    fields={"attempt_id": "uuid", "manager_id": "uuid"},
)
"""A login needs an SMS code; notify asks auth for it (``issue_sms_code``) when it
sends, so the code never travels in an event or sits in an outbox."""

PASSWORD_RESET_REQUESTED = Event(
    source="auth",
    name="password_reset_requested",
    version=1,
    fields={"reset_id": "uuid", "manager_id": "uuid"},
)
"""A manager asked for a reset link; notify asks auth for the link's token
(``issue_reset_token``) when it sends."""

EVENTS = (FILE_PUBLISHED, FILE_DELETED, RETENTION_DUE, FILES_EXPIRING, SMS_CODE_REQUESTED, PASSWORD_RESET_REQUESTED)
