"""files' service under ``worker_factory`` on either blob store (parametrise
``blob_store_config``): auth mocked with one community and its manager, a clock standing
at PUBLISHED.  Import the fixtures into a test module (``# noqa: F401``); override
``files_settings`` there for other settings."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest
from nameko.testing.services import worker_factory

from services.files.models import OutboxMessage
from services.files.service import FilesService
from services.files.settings import FilesSettings
from shared.blobs import BlobStoreSettings, open_blob_store
from shared.outbox import Emitter
from tests.support.clock import FixedClock
from tests.support.workers import Worker

PUBLISHED = datetime(2026, 10, 1, 10, 0, tzinfo=timezone.utc)  # last day 30-10-2026, expires 31-10 00:00 Brussels
COMMUNITY = "zonnedelen-gent"
MANAGER = {"manager_id": str(uuid.uuid4()), "login": "beheer@example.be",
           "communities": [{"id": COMMUNITY, "name": "Zonnedelen Gent"}]}


@pytest.fixture
def files_settings():
    return FilesSettings.load({})


@pytest.fixture
def session(open_session):
    return open_session("files")


@pytest.fixture
def blobs(blob_store_config):
    return open_blob_store(BlobStoreSettings.load(blob_store_config))


@pytest.fixture
def clock():
    return FixedClock(PUBLISHED)


@pytest.fixture
def service(session, blobs, clock, files_settings):
    """The service itself (its mocked ``dispatch`` and ``auth`` to inspect)."""
    service = worker_factory(FilesService, db=session, blobs=blobs, clock=clock, settings=files_settings,
                             outbox=Emitter(session, OutboxMessage))
    service.auth.get_community.return_value = {"id": COMMUNITY, "name": "Zonnedelen Gent"}
    service.auth.resolve_session.return_value = MANAGER
    return service


@pytest.fixture
def files(service, session):
    """The service called as nameko calls it: one unit of work per call."""
    return Worker(service, session)


def publish(files, blobs, name="a.csv") -> tuple[str, str]:
    """A published file of COMMUNITY: (its id, its blob key)."""
    blob = blobs.put([b"ean;afname\n541448;12,5\n"])
    return files.publish_file(COMMUNITY, blob.key, name, blob.size, blob.sha256)["id"], blob.key
