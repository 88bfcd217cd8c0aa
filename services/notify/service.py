"""notify: e-mail and SMS to managers, each send recorded, idempotent and retried."""
import logging

from nameko.rpc import rpc
from nameko.timer import timer
from sqlalchemy import select

from services.notify import deliveries, sending
from services.notify.dependencies import Mailer, SenderTurn, SmsGateway
from services.notify.models import Delivery, OutboxMessage
from services.notify.settings import NotifySettings
from shared import contract, metrics
from shared.clock import Clock
from shared.correlation import Correlation
from shared.db import Database
from shared.errors import EXPECTED_ERRORS, NotFound
from shared.health import broker_answered, database_check, run_checks
from shared.metrics import METRICS_INTERVAL, Metrics
from shared.outbox import Outbox
from shared.rpc import DeadlineRpcProxy
from shared.settings import Settings

log = logging.getLogger(__name__)


class NotifyService:
    name = "notify"
    correlation = Correlation()
    metrics = Metrics()

    db = Database()
    clock = Clock()
    settings = Settings(NotifySettings)
    mailer = Mailer()
    sms = SmsGateway()
    auth = DeadlineRpcProxy("auth")
    turn = SenderTurn()
    outbox = Outbox(OutboxMessage)

    @contract.handles(contract.FILE_PUBLISHED)
    def on_file_published(self, event):
        self._deliver(contract.FILE_PUBLISHED, event)

    @contract.handles(contract.FILES_EXPIRING)
    def on_files_expiring(self, event):
        self._deliver(contract.FILES_EXPIRING, event)

    @contract.handles(contract.FILE_RETRACTED)
    def on_file_retracted(self, event):
        self._deliver(contract.FILE_RETRACTED, event)

    @contract.handles(contract.SMS_CODE_REQUESTED)
    def on_sms_code_requested(self, event):
        self._deliver(contract.SMS_CODE_REQUESTED, event)

    @contract.handles(contract.PASSWORD_RESET_REQUESTED)
    def on_password_reset_requested(self, event):
        self._deliver(contract.PASSWORD_RESET_REQUESTED, event)

    @contract.handles(contract.CREDENTIALS_REISSUED)
    def on_credentials_reissued(self, event):
        self._deliver(contract.CREDENTIALS_REISSUED, event)

    @contract.handles(contract.ACCOUNT_LOCKED)
    def on_account_locked(self, event):
        self._deliver(contract.ACCOUNT_LOCKED, event)

    @timer(interval=1)
    def retry_due_deliveries(self):
        self._send_due()

    @timer(interval=600)
    def wipe_stale_secrets(self):
        """Initial passwords and reset links do not outlive 24 hours in the store, sent or not."""
        wiped = deliveries.wipe_stale_secrets(self.db, self.clock.now())
        self.db.commit()
        if wiped:
            log.info("wiped the secrets of %d delivery(ies) older than 24 hours", wiped)

    @rpc
    def health(self):
        """What ``energiepost health notify`` (the compose healthcheck) asks."""
        return run_checks(self.name, {"broker": broker_answered, "database": database_check(self.db)})

    @timer(interval=METRICS_INTERVAL, eager=True)
    def measure_deliveries(self):
        pending = deliveries.pending_by_kind(self.db)
        for kind in sending.KINDS:
            metrics.DELIVERIES_PENDING.labels(kind).set(pending.get(kind, 0))
        metrics.measure_outbox(self.name, *self.outbox.backlog(self.clock.now()))

    @rpc
    def get_delivery_status(self, event_id):
        rows = self.db.scalars(select(Delivery).where(Delivery.event_id == event_id))
        return [deliveries.status_view(row) for row in rows]

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_deliveries(self, community_id=None, failed=False, kind=None, since=None, limit=None):
        """For the operator: e-mails and SMS with status, attempts, last error, when sent."""
        return deliveries.search(self.db, kinds=sending.KINDS, community_id=community_id,
                                 manager_of=self._manager_of, failed=failed, kind=kind, since=since, limit=limit)

    def _manager_of(self, community_id):
        try:
            return self.auth.get_community(community_id)["manager_id"]
        except NotFound:  # removed: its deliveries are still listed by community
            return None

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def retry_delivery(self, delivery_id):
        """Send a failed or given-up delivery again now (a sent one is refused)."""
        delivery = deliveries.retry(self.db, delivery_id, now=self.clock.now())
        self.db.commit()
        return deliveries.operator_view(delivery)

    def _deliver(self, event_spec, event):
        """Record the delivery first (once per event id), then send it: at once if
        someone waits for it, else with the next batch of this process's sender."""
        key = deliveries.dedupe_key(event_spec.name, event["event_id"])
        delivery_id = deliveries.record(self.db, kind=event_spec.name, payload=event,
                                        community_id=event.get("community_id"), now=self.clock.now())
        if delivery_id is None:
            log.info("event %s was handled before; nothing to do", event["event_id"])
            return
        log.info("delivery %s recorded", key)
        if sending.KINDS[event_spec.name].at_once:
            self._send_now(delivery_id)
        else:
            self._send_due()

    def _send_now(self, delivery_id):
        delivery = deliveries.claim(self.db, delivery_id, self.clock.now())
        if delivery is not None:
            sending.send_batches(self.db, iter([[delivery]]), auth=self.auth, mailer=self.mailer, sms=self.sms,
                                 settings=self.settings, clock=self.clock, outbox=self.outbox)

    def _send_due(self):
        self.turn.take(lambda: sending.send_due(self.db, auth=self.auth, mailer=self.mailer, sms=self.sms,
                                                settings=self.settings, clock=self.clock, outbox=self.outbox))
