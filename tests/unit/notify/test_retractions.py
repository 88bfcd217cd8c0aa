"""The short e-mail a manager gets when the operator takes a file back."""
import uuid

from shared.contract import FILE_RETRACTED
from tests.support.sinks import html, links_in, plain_text
from tests.unit.notify.test_reminders import BASE_URL, mailer, notify  # noqa: F401  (fixtures)


def retracted(name="<verkeerd> & oud.csv"):
    return FILE_RETRACTED.build(file_id=str(uuid.uuid4()), community_id="zonnedelen-gent", name=name,
                                published_at="2026-11-20T09:30:00+00:00", retracted_at="2026-11-26T09:30:00+00:00")


def test_the_manager_is_told_which_file_was_withdrawn_once_without_credentials(notify, mailer):
    event = retracted()
    notify.on_file_retracted(event)
    notify.on_file_retracted(dict(event))  # redelivered: one mail

    (message,) = mailer.sent
    assert message["Subject"] == "Fluvius heeft een document ingetrokken (Zonnedelen Gent): <verkeerd> & oud.csv"
    text = plain_text(message)
    assert "Fluvius heeft dit document ingetrokken:\n\n    <verkeerd> & oud.csv (klaargezet op 20-11-2026)" in text
    assert links_in(message, BASE_URL) == [f"{BASE_URL}/files"]
    assert "&lt;verkeerd&gt; &amp; oud.csv" in html(message) and "<verkeerd>" not in html(message)
    assert "Wachtwoord" not in text
    (request,) = notify.auth.prepare_mail_recipients.call_args.args[0]
    assert request["credentials"] is False
