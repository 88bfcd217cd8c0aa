"""The operator's CLI publishing through the real gateway: a streamed multipart upload
with a Content-Length, its file name intact."""
import pytest

from cli.main import main
from services.auth.service import AuthService
from services.files.service import FilesService
from services.gateway.ingest import FORM_OVERHEAD
from services.gateway.service import GatewayService
from services.notify.service import NotifyService
from tests.support.system import INGEST_KEY, add_community, rpc, stored_blobs

MAX_UPLOAD_BYTES = 1000


@pytest.fixture
def system(runner_factory, service_config, monkeypatch):
    config = {**service_config, "MAX_UPLOAD_BYTES": MAX_UPLOAD_BYTES}
    runner_factory(config, AuthService, FilesService, NotifyService, GatewayService).start()
    add_community(config)
    monkeypatch.setenv("ENERGIEPOST_API_URL", config["PUBLIC_BASE_URL"])
    monkeypatch.setenv("ENERGIEPOST_INGEST_KEY", INGEST_KEY)
    return config


def test_a_non_ascii_file_name_arrives_intact(system, tmp_path, capsys):
    document = tmp_path / "afrekening-été-2026.csv"
    document.write_bytes("ean;afname\n541448;12,5\n".encode())

    status = main(["publish", "zonnedelen-gent", str(document), "--kind", "adhoc", "--shared-by", "Fluvius – Gent"])

    out, err = capsys.readouterr()
    assert status == 0, err
    (file,) = rpc(system, "files", "list_files", community_id="zonnedelen-gent")
    assert out.strip().splitlines()[-1] == file["id"]
    assert (file["name"], file["kind"], file["shared_by"]) == ("afrekening-été-2026.csv", "adhoc", "Fluvius – Gent")
    assert list(stored_blobs(system).values()) == [document.read_bytes()]


def test_a_file_over_the_maximum_is_refused_by_its_content_length(system, tmp_path, capsys):
    """Refused from the request's head: a chunked upload would get 411 instead."""
    document = tmp_path / "te-groot.csv"
    document.write_bytes(b"x" * (MAX_UPLOAD_BYTES + FORM_OVERHEAD + 1))

    status = main(["publish", "zonnedelen-gent", str(document)])

    assert status == 1
    assert "publish refused (413)" in capsys.readouterr().err
    assert rpc(system, "files", "list_files", community_id="zonnedelen-gent") == []
    assert stored_blobs(system) == {}
