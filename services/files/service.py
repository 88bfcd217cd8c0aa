"""files: published files, their blobs, and the events about them."""
import logging
import os
import socket
import uuid
from datetime import datetime

from nameko.rpc import rpc
from nameko.timer import timer

from services.files import access, deletion, helpdesk, interventions, publishing, retention, upstream
from services.files.upstream import upstream_request
from services.files.models import OutboxMessage
from services.files.settings import FilesSettings
from shared import contract, metrics
from shared.blobs import Blobs
from shared.clock import Clock
from shared.correlation import Correlation
from shared.db import Database
from shared.errors import EXPECTED_ERRORS
from shared.health import blob_store_check, broker_answered, database_check, run_checks
from shared.metrics import METRICS_INTERVAL, Metrics
from shared.outbox import Outbox
from shared.rpc import DeadlineRpcProxy
from shared.settings import Settings


log = logging.getLogger(__name__)


class FilesService:
    name = "files"
    correlation = Correlation()
    metrics = Metrics()

    db = Database()
    blobs = Blobs()
    clock = Clock()
    settings = Settings(FilesSettings)
    auth = DeadlineRpcProxy("auth")
    outbox = Outbox(OutboxMessage)

    @rpc
    def health(self):
        """What ``energiepost health files`` (the compose healthcheck) and the gateway's /readyz ask."""
        return run_checks(self.name, {"broker": broker_answered, "database": database_check(self.db),
                                      "blob_store": blob_store_check(self.blobs)})

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def publish_file(self, community_id, blob_key, name, size, sha256, kind="periodic", shared_by=None,
                     request_id=None):
        """Publish a staged blob; with a ``request_id`` (the ingest API's Idempotency-Key)
        a repeated request answers with the file it made the first time."""
        file, _ = self._publish(community_id=community_id, blob_key=blob_key, name=name, size=size,
                                sha256=sha256, kind=kind, shared_by=shared_by, request_id=request_id)
        return publishing.file_view(file)

    def _publish(self, **request):
        """``(file, duplicate)``: the publish the HTTP path and the upstream event share."""
        file, duplicate = publishing.publish_once(
            self.db,
            self.blobs,
            check_community=lambda community_id: self.auth.get_community(community_id),
            default_shared_by=self.settings.operator_name,
            retention_days=self.settings.retention_days,
            now=self.clock.now(),
            outbox=self.outbox,
            **request,
        )
        if not duplicate:
            metrics.FILES_PUBLISHED.labels(file.kind).inc()
            log.info("file %s published for %s (%s, %d bytes)", file.id, file.community_id, file.kind, file.size)
        return file, duplicate

    @upstream_request(contract.PUBLISH_REQUESTED)
    def on_publish_requested(self, payload):
        """The upstream's claim-check: answered with ``publish_accepted`` or ``publish_rejected``."""
        upstream.handle_publish_requested(
            self.db, self.blobs, payload,
            publish=lambda request: self._publish(**request),
            now=self.clock.now(), outbox=self.outbox,
        )

    @contract.handles(contract.FILE_EMAILED)
    def on_file_emailed(self, event):
        publishing.record_emailed(self.db, event["file_id"], datetime.fromisoformat(event["emailed_at"]))
        self.db.commit()

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def get_file_status(self, file_id):
        """A file's status for the upstream (``GET /api/v1/files/{id}``)."""
        return publishing.status_view(publishing.get_file(self.db, file_id))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_files(self, community_id):
        """Every file of a community, deleted ones included, with its downloads (for the operator)."""
        self.auth.get_community(community_id)
        files = publishing.list_community_files(self.db, community_id)
        downloads = publishing.download_counts(self.db, community_id)
        return [publishing.file_view(f, downloads.get(f.id)) for f in files]

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_audit_events(self, community_id=None, since=None, limit=None):
        """Downloads and deletions for the operator's audit (who, when, which file)."""
        return helpdesk.audit_trail(self.db, community_id=community_id, since=since, limit=limit)

    @contract.handles(contract.COMMUNITY_REMOVED)
    def on_community_removed(self, event):
        deleted = helpdesk.remove_community_files(self.db, event["community_id"], now=self.clock.now(),
                                                  outbox=self.outbox)
        self.db.commit()  # unreachable from here on, whatever happens to the blobs
        deletion.remove_blobs(self.db, self.blobs, deleted)

    # --- the operator's steps on one file (audited) ------------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def retract_file(self, file_id, reason, actor):
        """``energiepost files retract``: deleted for good, the manager told."""
        file = interventions.retract(self.db, file_id, reason=reason, actor=actor, now=self.clock.now(),
                                     outbox=self.outbox)
        self.db.commit()  # unreachable from here on, whatever happens to the blob
        deletion.remove_blobs(self.db, self.blobs, [file])
        return publishing.file_view(file)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def extend_file(self, file_id, until, actor):
        """``energiepost files extend``: a later last day, within MAX_EXTEND_DAYS."""
        file = interventions.extend(self.db, file_id, until=until, actor=actor, now=self.clock.now(),
                                    retention_days=self.settings.retention_days,
                                    max_extend_days=self.settings.max_extend_days)
        self.db.commit()
        return publishing.file_view(file)

    # --- retention ----------------------------------------------------------------------

    @timer(interval=30)
    def schedule_retention(self):
        """Fire every due date's ``retention_due`` once, across replicas and downtime."""
        retention.claim_due_dates(self.db, now=self.clock.now(), at=self.settings.retention_at,
                                  zone=self.settings.retention_zone, outbox=self.outbox)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def fire_retention(self, run_date=None):
        """``energiepost retention run [--today DATE]``: the same event, by hand."""
        now = self.clock.now()
        day = retention.parse_run_date(run_date) if run_date else retention.local_date(now, self.settings.retention_zone)
        retention.fire(self.db, day, trigger=retention.MANUAL, now=now, outbox=self.outbox)
        self.db.commit()
        return {"run_date": day.isoformat()}

    @contract.handles(contract.RETENTION_DUE)
    def on_retention_due(self, event):
        holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        retention.run_when_free(self.db, self.blobs, event, holder=holder, settings=self.settings,
                                now=self.clock.now(), outbox=self.outbox)

    @timer(interval=METRICS_INTERVAL, eager=True)
    def measure_outbox(self):
        metrics.measure_outbox(self.name, *self.outbox.backlog(self.clock.now()))

    # --- the manager's portal: the session is resolved by auth, the rules applied here ----

    def _session(self, session_token):
        session = self.auth.resolve_session(session_token)
        return session, [c["id"] for c in session["communities"]]

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("session_token",))
    def list_my_files(self, session_token, sort="name", descending=False, page=1, focus=None):
        """One page of "Mijn ontvangen bestanden" and the session it was asked for (so that
        the gateway needs no call of its own to auth): the page's files, the count and total
        size of all, ``page`` of ``pages``; ``focus`` opens the page with an e-mail link's file."""
        session, communities = self._session(session_token)
        listing = access.file_page(self.db, communities, now=self.clock.now(), sort=sort,
                                   descending=bool(descending), page=page, focus=focus)
        return {"session": session, **listing}

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("session_token",))
    def describe_my_files(self, session_token, file_ids):
        """The selected files, to confirm their deletion."""
        _, communities = self._session(session_token)
        return access.chosen_files(self.db, communities, file_ids, now=self.clock.now())

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("session_token",))
    def grant_download(self, session_token, file_ids):
        session, communities = self._session(session_token)
        granted = access.grant_download(self.db, self.blobs, communities, file_ids,
                                        manager_id=session["manager_id"], login=session["login"],
                                        now=self.clock.now(), outbox=self.outbox)
        self.db.commit()
        return granted

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("session_token",))
    def delete_my_files(self, session_token, file_ids):
        session, communities = self._session(session_token)
        deleted = access.delete_by_manager(self.db, communities, file_ids, login=session["login"],
                                           now=self.clock.now(), outbox=self.outbox)
        self.db.commit()  # unreachable from here on, whatever happens to the blobs
        deletion.remove_blobs(self.db, self.blobs, deleted)
        return {"deleted": len(deleted)}
