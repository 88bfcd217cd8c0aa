"""Publish by event: the upstream (settlement) system's claim-check.

The upstream writes the file under ``INCOMING_PREFIX`` in the blob store and emits
``publish_requested`` (exchange ``upstream.events``).  ``files`` answers every request
on ``files.events`` with ``publish_accepted`` (the file id) or ``publish_rejected``
(a reason from ``contract.REJECT_REASONS``), both through the outbox.  A request id
publishes once: a repeated or redelivered request is answered ``publish_accepted``
again, with the same file and ``duplicate: true``.

Nothing the upstream sends can stop the consumer: a body that is not JSON (or has
another content type) reaches the handler as ``Undecodable`` instead of killing the
queue consumer, and the handler answers every failure with ``publish_rejected`` and
returns — the message is acked, never requeued (no hot loop, no blocked queue).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from nameko.events import EventHandler
from nameko.messaging import QueueConsumer
from sqlalchemy.orm import Session

from services.files import publishing
from shared import contract
from shared.blobs import BlobNotFound
from shared.errors import AlreadyExists, InvalidInput, NotFound, ServiceUnavailable
from shared.outbox import Emitter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Undecodable:
    """A message body that could not be decoded (not JSON, or a content type not accepted)."""

    problem: str


class _LenientQueueConsumer(QueueConsumer):
    """nameko's queue consumer, but an undecodable message goes to its handler instead
    of raising in the consumer (which would stop the container)."""

    def get_consumers(self, consumer_cls, channel):
        consumers = super().get_consumers(consumer_cls, channel)
        for provider, consumer in self._consumers.items():
            consumer.on_decode_error = partial(self._undecodable, provider)
        return consumers

    def _undecodable(self, provider, message, exc):
        provider.handle_message(Undecodable(f"{type(exc).__name__}: {exc}"[:200]), message)


class UpstreamRequestHandler(EventHandler):
    queue_consumer = _LenientQueueConsumer()


def upstream_request(event: contract.Event):
    """``@upstream_request(contract.PUBLISH_REQUESTED)``: a SERVICE_POOL event handler on
    the upstream's exchange that also receives undecodable bodies."""
    return UpstreamRequestHandler.decorator(event.source, event.name)


class Rejected(Exception):
    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason, self.message = reason, message


def _request_id_of(payload) -> str | None:
    value = payload.get("request_id") if isinstance(payload, dict) else None
    return value if contract.is_request_id(value) else None


def parse_request(payload) -> dict:
    if isinstance(payload, Undecodable):
        raise Rejected("malformed", f"the body is not a JSON object: {payload.problem}")
    if isinstance(payload, dict) and "version" in payload and payload["version"] != contract.PUBLISH_REQUESTED.version:
        raise Rejected("unknown_version", f"version {payload['version']!r} is not known; "
                                          f"send version {contract.PUBLISH_REQUESTED.version}")
    try:
        return contract.PUBLISH_REQUESTED.parse(payload)
    except contract.ContractError as exc:
        raise Rejected("malformed", str(exc)) from None


def _reason(exc: Exception) -> Rejected:
    """A publishing error as a rejection reason."""
    if isinstance(exc, Rejected):
        return exc
    if isinstance(exc, BlobNotFound) or (isinstance(exc, NotFound) and exc.field == "blob_key"):
        return Rejected("object_missing", "no object under that key in the incoming prefix")
    if isinstance(exc, NotFound):
        return Rejected("unknown_community", "no such community")
    if isinstance(exc, InvalidInput):
        reason = {"size": "size_mismatch", "sha256": "sha256_mismatch"}.get(exc.field, "invalid")
        return Rejected(reason, exc.message)
    if isinstance(exc, AlreadyExists):
        return Rejected("request_id_reused", exc.message)
    if isinstance(exc, ServiceUnavailable):
        return Rejected("unavailable", exc.message)
    log.exception("publish request failed unexpectedly")
    return Rejected("unavailable", "the request could not be handled now; send it again later")


def handle_publish_requested(session: Session, blobs, payload, *, publish, now: datetime, outbox: Emitter) -> dict:
    """Check, adopt and publish one request; returns the reply it enqueued (committed).

    ``publish(request)`` is the HTTP path's publish (``FilesService._publish``): it
    measures the staged copy, adopts it, records the file, its ``file_published`` and
    the request id in one transaction, and returns ``(file, duplicate)``."""
    request_id = _request_id_of(payload)
    try:
        request = parse_request(payload)
        earlier = publishing.find_request(session, request_id, community_id=request["community_id"],
                                          sha256=request["sha256"])
        if earlier is not None:
            file, duplicate = earlier, True
        else:
            blob_key = blobs.stage_incoming(request["object_key"])
            file, duplicate = publish(dict(
                community_id=request["community_id"], blob_key=blob_key, name=request["name"],
                size=request["size"], sha256=request["sha256"], kind=request["kind"],
                shared_by=request.get("shared_by"), request_id=request_id,
            ))
        _remove_incoming(blobs, request["object_key"])  # also a retry's upload of a file published before
    except Exception as exc:
        session.rollback()
        rejected = _reason(exc)
        log.warning("publish request %s rejected: %s (%s)", request_id, rejected.reason, rejected.message)
        reply = outbox.emit(contract.PUBLISH_REJECTED, now=now, request_id=request_id, reason=rejected.reason,
                            message=rejected.message[:500])
        session.commit()
        return reply
    log.info("publish request %s accepted: file %s%s (period %s)", request_id, file.id,
             " (duplicate)" if duplicate else "", request.get("period"))
    reply = outbox.emit(contract.PUBLISH_ACCEPTED, now=now, request_id=request_id, file_id=file.id,
                        community_id=file.community_id, duplicate=duplicate)
    session.commit()
    return reply


def _remove_incoming(blobs, object_key: str) -> None:
    """The claim-check is redeemed: the upstream's object goes (a copy is ours now)."""
    try:
        blobs.remove_incoming(object_key)
    except Exception:
        log.warning("could not remove incoming object %s", object_key, exc_info=True)
