"""Publishing through the real gateway, broker, databases and SMTP: who gets which e-mail."""
import time

import pytest

from services.auth.passwords import verify_password
from services.auth.models import Manager
from services.auth.service import AuthService
from services.files.service import FilesService
from services.gateway.service import GatewayService
from services.notify.models import Delivery
from services.notify.service import NotifyService
from tests.support.sinks import credentials_in, links_in
from tests.support.system import add_community, ingest, rpc

ALL = (AuthService, FilesService, NotifyService, GatewayService)


@pytest.fixture
def system(runner_factory, service_config):
    runner = runner_factory(service_config, *ALL)
    runner.start()
    add_community(service_config)
    return service_config


def test_first_mail_has_credentials_and_second_has_none(system, mail_sink, open_session):
    first = ingest(system)
    assert first.status_code == 201, first.text
    (mail,) = mail_sink.wait_for(1)
    second = ingest(system, filename="mededeling.pdf", data={"kind": "adhoc"})
    assert second.status_code == 201, second.text
    mails = mail_sink.wait_for(2)

    assert [m["To"] for m in mails] == ["beheer@example.be"] * 2
    assert links_in(mails[0], system["PUBLIC_BASE_URL"]) == [f"{system['PUBLIC_BASE_URL']}/files/{first.json()['id']}"]
    assert links_in(mails[1], system["PUBLIC_BASE_URL"]) == [f"{system['PUBLIC_BASE_URL']}/files/{second.json()['id']}"]
    credentials = credentials_in(mails[0])
    assert credentials["login"] == "beheer@example.be"
    assert credentials_in(mails[1]) == {}
    manager = open_session("auth").query(Manager).one()
    assert verify_password(manager.password_hash, credentials["password"])  # the mailed password works


def test_ingest_answers_with_the_contract_fields(system):
    response = ingest(system, content=b"x" * 1000)
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "name", "size", "sha256", "expires_at"}
    assert body["size"] == 1000 and body["name"] == "correcties-2026-10.csv"
    listed = rpc(system, "files", "list_files", community_id="zonnedelen-gent")
    assert [f["id"] for f in listed] == [body["id"]]


def test_refusing_smtp_server_still_ends_in_exactly_one_mail(runner_factory, service_config, mail_sink, open_session):
    mail_sink.restart(fail_first=1)
    runner_factory(service_config, *ALL).start()
    add_community(service_config)
    assert ingest(service_config).status_code == 201
    (mail,) = mail_sink.wait_for(1)
    password = credentials_in(mail)["password"]
    manager = open_session("auth").query(Manager).one()
    assert verify_password(manager.password_hash, password)  # the retry re-sent the same password
    (delivery,) = open_session("notify").query(Delivery).all()
    assert (delivery.status, delivery.attempts) == ("sent", 1)
    assert delivery.body_text is None  # the password is not kept once the mail is accepted
    time.sleep(1)  # several retry ticks later, still one
    assert len(mail_sink.messages()) == 1
