"""The message contract: every event that crosses a service boundary.

Each event has a source service (nameko publishes it on the ``<source>.events``
exchange), a name, a schema version and its fields.  Payloads carry ``event_id``,
``occurred_at`` and ``version`` besides their own fields, and carry ids rather than
personal data.  Both sides use this module: ``build`` when dispatching,
``parse`` when handling.
"""
from __future__ import annotations

import functools
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Mapping

from nameko.events import event_handler

log = logging.getLogger(__name__)


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
    "request_id": lambda v: isinstance(v, str) and bool(_REQUEST_ID.match(v)),
    "object_key": lambda v: isinstance(v, str) and len(v) <= OBJECT_KEY_MAX and bool(_OBJECT_KEY.match(v)),
    "reject_reason": lambda v: v in REJECT_REASONS,
    "delete_reason": lambda v: v in DELETE_REASONS,
    "lock_stream": lambda v: v in ("unknown", "trusted"),
}
REQUEST_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,100}$"
OBJECT_KEY_PATTERN = r"^(?!\.{1,2}(/|$))(?!.*/\.{1,2}(/|$))[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$"
"""Relative, plain segments, none of them ``.`` or ``..``."""
_REQUEST_ID = re.compile(REQUEST_ID_PATTERN)


def is_request_id(value) -> bool:
    return _KINDS["request_id"](value)


def is_object_key(value) -> bool:
    return _KINDS["object_key"](value)


_OBJECT_KEY = re.compile(OBJECT_KEY_PATTERN)
OBJECT_KEY_MAX = 200
FILE_KINDS = ("periodic", "adhoc")
ENVELOPE = {"event_id": "uuid", "occurred_at": "timestamp", "version": "int",
            "correlation_id": "optional_str"}  # what started it, for following it in the logs


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


def handles(event: Event):
    """``@event_handler`` for ``event`` whose method gets the parsed payload; a malformed one
    is logged and dropped (nameko acks it either way, and a redelivery would not mend it)."""
    def decorate(method):
        @functools.wraps(method)
        def handle(self, payload):
            try:
                parsed = event.parse(payload)
            except ContractError as exc:
                log.error("dropping malformed %s event: %s", event.name, exc)
                return None
            return method(self, parsed)
        return event_handler(event.source, event.name)(handle)
    return decorate


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
        "reason": "delete_reason",
        "deleted_at": "timestamp",
    },
)

FILE_RETRACTED = Event(
    source="files",
    name="file_retracted",
    version=1,
    fields={
        "file_id": "uuid",
        "community_id": "str",
        "name": "str",
        "published_at": "timestamp",
        "retracted_at": "timestamp",
    },
)
"""The operator took a file back (``energiepost files retract``): one short e-mail to the
community's manager.  (``file_deleted`` with reason ``retracted`` goes out as well.)"""

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

CREDENTIALS_REISSUED = Event(
    source="auth",
    name="credentials_reissued",
    version=1,
    fields={"community_id": "str", "manager_id": "uuid"},
)
"""The operator voided a manager's password (``energiepost community resend-credentials``):
notify sends a new first e-mail, asking auth for the new initial password when it sends."""

COMMUNITY_REMOVED = Event(
    source="auth",
    name="community_removed",
    version=1,
    fields={"community_id": "str"},
)
"""The operator removed a community (``energiepost community remove``): files deletes its files."""

ACCOUNT_LOCKED = Event(
    source="auth",
    name="account_locked",
    version=1,
    fields={"manager_id": "uuid", "stream": "lock_stream"},
)
"""A manager's logins were locked after too many consecutive failures: from unknown
devices (``unknown``) or on one of their trusted devices (``trusted``).  notify e-mails
the manager (asking auth for the address: ``get_lock_notice``)."""

EVENTS = (FILE_PUBLISHED, FILE_DELETED, FILE_RETRACTED, RETENTION_DUE, FILES_EXPIRING, SMS_CODE_REQUESTED,
          PASSWORD_RESET_REQUESTED, CREDENTIALS_REISSUED, COMMUNITY_REMOVED, ACCOUNT_LOCKED)


# --- the upstream (settlement) system: publish by event, and what it may follow ----------

UPSTREAM_SOURCE = "upstream"
"""The upstream publishes on the ``upstream.events`` exchange (topic, durable)."""

REPLIES_QUEUE = "energiepost.upstream.replies"
STATUS_QUEUE = "energiepost.upstream.status"
"""The durable queues the upstream consumes: the replies to its publish requests, and
the status events of files.  Declared (with their bindings) by ``ops.declare_queues``,
so no event meant for the upstream is ever returned to an outbox for lack of a queue."""

DELETE_REASONS = ("retention", "manager", "operator")

PUBLISH_REQUESTED = Event(
    source=UPSTREAM_SOURCE,
    name="publish_requested",
    version=1,
    fields={
        "request_id": "request_id",
        "community_id": "str",
        "object_key": "object_key",
        "name": "str",
        "size": "int",
        "sha256": "sha256",
        "kind": "file_kind",
        "shared_by": "optional_str",
        "period": "optional_str",
    },
)
"""Claim-check: the file waits under INCOMING_PREFIX in the blob store as ``object_key``."""

PUBLISH_ACCEPTED = Event(
    source="files",
    name="publish_accepted",
    version=1,
    fields={"request_id": "request_id", "file_id": "uuid", "community_id": "str", "duplicate": "bool"},
)

REJECT_REASONS = {
    "malformed": "not JSON, or a field missing, unknown or of the wrong type",
    "unknown_version": "a version this system does not know",
    "unknown_community": "no such community",
    "object_missing": "no object under that key in the incoming prefix",
    "size_mismatch": "the object's size is not the given size",
    "sha256_mismatch": "the object's sha256 is not the given sha256",
    "invalid": "a field's value is not accepted (file name, shared_by, an empty file)",
    "request_id_reused": "the request_id was used before for another file",
    "unavailable": "a service did not answer in time: send the same request again later",
}
"""``publish_rejected`` reasons (machine-readable) and what they mean."""

PUBLISH_REJECTED = Event(
    source="files",
    name="publish_rejected",
    version=1,
    fields={"request_id": "optional_str", "reason": "reject_reason", "message": "str"},
)
"""``request_id`` is null only when the request was too malformed to carry one."""

FILE_DOWNLOADED = Event(
    source="files",
    name="file_downloaded",
    version=1,
    fields={"file_id": "uuid", "community_id": "str", "downloaded_at": "timestamp"},
)
"""A file's first download (later downloads raise no event)."""

FILE_REMINDED = Event(
    source="files",
    name="file_reminded",
    version=1,
    fields={"file_id": "uuid", "community_id": "str", "reminded_at": "timestamp", "expires_at": "timestamp"},
)
"""The file was listed in its community's reminder before deletion."""

FILE_EMAILED = Event(
    source="notify",
    name="file_emailed",
    version=1,
    fields={"file_id": "uuid", "community_id": "str", "emailed_at": "timestamp"},
)
"""The mail server accepted the e-mail announcing the file."""

STATUS_EVENTS = (FILE_PUBLISHED, FILE_EMAILED, FILE_DOWNLOADED, FILE_REMINDED, FILE_DELETED)
REPLY_EVENTS = (PUBLISH_ACCEPTED, PUBLISH_REJECTED)
UPSTREAM_QUEUES = {REPLIES_QUEUE: REPLY_EVENTS, STATUS_QUEUE: STATUS_EVENTS}
UPSTREAM_EVENTS = REPLY_EVENTS + STATUS_EVENTS

EVENTS = EVENTS + (PUBLISH_REQUESTED, PUBLISH_ACCEPTED, PUBLISH_REJECTED, FILE_DOWNLOADED, FILE_REMINDED,
                   FILE_EMAILED)
EVENTS_BY_NAME = {event.name: event for event in EVENTS}


# --- JSON Schema (docs/schemas/, for the upstream; ``python -m shared.contract``) ---------

def _kind_schema(kind: str) -> dict:
    return {
        "str": {"type": "string", "minLength": 1},
        "optional_str": {"type": ["string", "null"]},
        "int": {"type": "integer"},
        "timestamp": {"type": "string", "format": "date-time", "description": "ISO 8601 with a UTC offset"},
        "uuid": {"type": "string", "format": "uuid"},
        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "file_kind": {"enum": list(FILE_KINDS)},
        "bool": {"type": "boolean"},
        "date": {"type": "string", "format": "date"},
        "trigger": {"enum": ["schedule", "manual"]},
        "request_id": {"type": "string", "pattern": REQUEST_ID_PATTERN},
        "object_key": {"type": "string", "pattern": OBJECT_KEY_PATTERN, "maxLength": OBJECT_KEY_MAX,
                       "description": "relative to INCOMING_PREFIX"},
        "reject_reason": {"enum": list(REJECT_REASONS)},
        "delete_reason": {"enum": list(DELETE_REASONS)},
    }[kind]


def json_schema(event: Event) -> dict:
    """The JSON Schema of an event's payload, from the same field list ``parse`` checks."""
    fields = {**ENVELOPE, **event.fields}
    properties = {name: _kind_schema(kind) for name, kind in fields.items()}
    properties["version"] = {"const": event.version}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://energiepost/schemas/{event.name}.v{event.version}.json",
        "title": event.name,
        "description": f"exchange {event.source}.events, routing key {event.name}",
        "type": "object",
        "required": [name for name, kind in fields.items() if not kind.startswith("optional")],
        "properties": properties,
        "additionalProperties": False,
    }


def upstream_schemas() -> dict[str, dict]:
    """File name -> schema, for every event the upstream sends or receives."""
    return {f"{event.name}.v{event.version}.json": json_schema(event)
            for event in (PUBLISH_REQUESTED, *UPSTREAM_EVENTS)}


def write_schemas(directory) -> list[str]:
    import json
    from pathlib import Path

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, schema in upstream_schemas().items():
        (directory / name).write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return sorted(upstream_schemas())


if __name__ == "__main__":  # python -m shared.contract: regenerate docs/schemas/
    from pathlib import Path

    print("\n".join(write_schemas(Path(__file__).resolve().parents[1] / "docs" / "schemas")))
