"""notify's SMS providers against the dev SMS sink (a real HTTP server), which can require the key."""
import pytest
import requests

from services.notify import sending, sms_providers
from services.notify.settings import NotifySettings
from tests.support.sinks import SmsSink

KEY = "sms-provider-key-0123456789"
NUMBER = "+32470123456"


@pytest.fixture
def keyed_sink(tmp_path):
    """The dev SMS sink requiring ``KEY`` in the ``X-Auth-Key`` header."""
    sink = SmsSink(tmp_path / "sms.jsonl", args=("--api-key-header", "X-Auth-Key"), env={"SMS_SINK_API_KEY": KEY})
    yield sink
    sink.stop()


def provider(sink, **settings):
    return sms_providers.provider(NotifySettings.load({
        "SMS_GATEWAY_URL": sink.url, "SMS_API_KEY": KEY, "SMS_API_KEY_HEADER": "X-Auth-Key", **settings}))


def test_the_http_json_provider_sends_with_its_key_and_the_sender_id(keyed_sink):
    provider(keyed_sink).send(NUMBER, "Uw code is 123456")
    (message,) = keyed_sink.messages()
    assert (message["to"], message["body"]) == (NUMBER, "Uw code is 123456")


def test_without_the_right_key_the_gateway_refuses_and_the_sms_is_retried(keyed_sink):
    with pytest.raises(requests.HTTPError) as refused:
        provider(keyed_sink, SMS_API_KEY="not-the-key-0123456789").send(NUMBER, "Uw code is 123456")
    assert refused.value.response.status_code == 401
    assert not sending.is_permanent(refused.value)  # the configuration is wrong, not the message
    assert keyed_sink.messages() == []


def test_a_refused_message_is_a_permanent_failure(keyed_sink):
    with pytest.raises(sms_providers.Rejected) as rejected:
        provider(keyed_sink).send("0470", "Uw code is 123456")  # the sink wants E.164: 400
    assert sending.is_permanent(rejected.value)


def test_a_gateway_that_is_down_for_a_moment_is_retried(keyed_sink):
    keyed_sink.restart(fail_first=1)
    with pytest.raises(requests.HTTPError) as failed:
        provider(keyed_sink).send(NUMBER, "Uw code is 123456")
    assert failed.value.response.status_code == 503 and not sending.is_permanent(failed.value)
    provider(keyed_sink).send(NUMBER, "Uw code is 123456")
    assert len(keyed_sink.messages()) == 1


def test_field_names_and_sender_follow_the_settings():
    """A provider whose API names the fields otherwise (the request as it leaves notify)."""
    sent = {}

    class Recorder(requests.Session):
        def post(self, url, json=None, headers=None, timeout=None):
            sent.update(url=url, json=json, headers=headers)
            response = requests.Response()
            response.status_code = 202
            return response

    built = sms_providers.provider(NotifySettings.load({
        "SMS_GATEWAY_URL": "https://sms.example.com/v1/send", "SMS_API_KEY": KEY, "SMS_API_KEY_HEADER": "apikey",
        "SMS_TO_FIELD": "recipient", "SMS_BODY_FIELD": "text", "SMS_SENDER_FIELD": "originator"}))
    built.session = Recorder()
    built.send(NUMBER, "Uw code is 123456")
    assert sent == {"url": "https://sms.example.com/v1/send", "headers": {"apikey": KEY},
                    "json": {"recipient": NUMBER, "text": "Uw code is 123456", "originator": "Fluvius"}}


def test_a_sender_id_longer_than_a_phone_shows_is_refused_at_start():
    from shared.settings import ConfigurationError

    with pytest.raises(ConfigurationError, match="SMS_SENDER_ID"):
        NotifySettings.load({"SMS_SENDER_ID": "Fluvius-Netbeheer"})
