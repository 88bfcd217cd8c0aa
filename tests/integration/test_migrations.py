"""Each service's Alembic tree builds exactly the schema its models describe."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from services.auth.models import Base as AuthBase
from services.files.models import Base as FilesBase
from services.notify.models import Base as NotifyBase
from shared.db import make_engine
from shared.migrations import upgrade

MODELS = {"auth": AuthBase.metadata, "files": FilesBase.metadata, "notify": NotifyBase.metadata}


@pytest.mark.parametrize("service", sorted(MODELS))
def test_migrations_match_the_models(database_urls, service):
    engine = make_engine(database_urls[service])  # already upgraded to head by the fixture
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, MODELS[service]) == []
    finally:
        engine.dispose()


@pytest.mark.parametrize("service", sorted(MODELS))
def test_upgrading_twice_is_harmless(database_urls, service):
    upgrade(service, database_urls[service])
