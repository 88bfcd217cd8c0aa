"""notify: e-mail and SMS to managers, each send recorded, idempotent and retried."""
import logging

from nameko.events import event_handler
from nameko.rpc import rpc
from nameko.timer import timer
from sqlalchemy import select

from services.notify import deliveries, sending
from services.notify.dependencies import Mailer, SmsGateway
from services.notify.models import Delivery
from services.notify.settings import NotifySettings
from shared import contract
from shared.clock import Clock
from shared.db import Database
from shared.rpc import DeadlineRpcProxy
from shared.settings import Settings

log = logging.getLogger(__name__)


class NotifyService:
    name = "notify"

    db = Database()
    clock = Clock()
    settings = Settings(NotifySettings)
    mailer = Mailer()
    sms = SmsGateway()
    auth = DeadlineRpcProxy("auth")

    @event_handler(contract.FILE_PUBLISHED.source, contract.FILE_PUBLISHED.name)
    def on_file_published(self, payload):
        self._deliver(contract.FILE_PUBLISHED, payload)

    @event_handler(contract.FILES_EXPIRING.source, contract.FILES_EXPIRING.name)
    def on_files_expiring(self, payload):
        self._deliver(contract.FILES_EXPIRING, payload)

    @event_handler(contract.SMS_CODE_REQUESTED.source, contract.SMS_CODE_REQUESTED.name)
    def on_sms_code_requested(self, payload):
        self._deliver(contract.SMS_CODE_REQUESTED, payload)

    @event_handler(contract.PASSWORD_RESET_REQUESTED.source, contract.PASSWORD_RESET_REQUESTED.name)
    def on_password_reset_requested(self, payload):
        self._deliver(contract.PASSWORD_RESET_REQUESTED, payload)

    @timer(interval=1)
    def retry_due_deliveries(self):
        for delivery_id in deliveries.due_ids(self.db, self.clock.now()):
            self._attempt(delivery_id)

    @rpc
    def get_delivery_status(self, event_id):
        rows = self.db.scalars(select(Delivery).where(Delivery.event_id == event_id))
        return [deliveries.status_view(row) for row in rows]

    def _deliver(self, event_spec, payload):
        """Record the delivery first (once per event id), then try to send it."""
        try:
            event = event_spec.parse(payload)
        except contract.ContractError as exc:
            log.error("dropping malformed %s event: %s", event_spec.name, exc)
            return
        delivery = deliveries.record(self.db, kind=event_spec.name, payload=event,
                                     community_id=event.get("community_id"), now=self.clock.now())
        if delivery is None:
            log.info("event %s was handled before; nothing to do", event["event_id"])
            return
        self._attempt(delivery.id)

    def _attempt(self, delivery_id):
        now = self.clock.now()
        delivery = deliveries.claim(self.db, delivery_id, now)
        if delivery is not None:
            sending.attempt(
                self.db, delivery, auth=self.auth, mailer=self.mailer, sms=self.sms, settings=self.settings, now=now
            )
