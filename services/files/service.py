"""files: published files, their blobs, and the events about them."""
import logging

from eventlet.semaphore import Semaphore
from nameko.events import EventDispatcher
from nameko.rpc import rpc
from nameko.timer import timer

from services.files import publishing
from services.files.models import OutboxMessage
from shared import outbox
from shared.blobs import Blobs
from shared.clock import Clock
from shared.db import Database
from shared.errors import EXPECTED_ERRORS
from shared.rpc import Rpc
from shared.settings import SettingsProvider

log = logging.getLogger(__name__)

# One relay at a time per process (the RPC's kick and the timer may overlap);
# across replicas the outbox rows are locked with SKIP LOCKED.
_relay_lock = Semaphore()


class FilesService:
    name = "files"

    db = Database("files")
    blobs = Blobs()
    clock = Clock()
    settings = SettingsProvider()
    auth = Rpc("auth")
    dispatch = EventDispatcher(mandatory=True)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def publish_file(self, community_id, blob_key, name, size, sha256, kind="periodic", shared_by=None):
        file = publishing.publish_file(
            self.db,
            self.blobs,
            check_community=lambda community_id: self.auth.get_community(community_id),
            community_id=community_id,
            blob_key=blob_key,
            name=name,
            size=size,
            sha256=sha256,
            kind=kind,
            shared_by=shared_by,
            default_shared_by=self.settings.operator_name,
            retention_days=self.settings.retention_days,
            now=self.clock.now(),
        )
        self.db.commit()
        view = publishing.file_view(file)
        try:
            self._relay()  # publish the event now rather than at the next tick
        except Exception:  # the file is committed; the timer relays the event
            log.exception("relaying the outbox after publishing failed")
        return view

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_files(self, community_id):
        """Every file of a community, deleted ones included (for the operator)."""
        self.auth.get_community(community_id)
        return [publishing.file_view(f) for f in publishing.list_community_files(self.db, community_id)]

    @timer(interval=1)
    def relay_outbox(self):
        self._relay()

    def _relay(self):
        with _relay_lock:
            outbox.relay(self.db, OutboxMessage, self.dispatch, self.clock.now())
