"""SMS providers: how notify hands a text message to whoever delivers it.

A provider has one method, ``send(to, body)``: it returns once the provider has accepted
the message, raises ``Rejected`` when the provider refused this message for good (the
delivery is marked failed at once), and raises anything else when the message may go
through later (the delivery is retried).  ``SMS_PROVIDER`` names the provider in
``PROVIDERS``; each is built from notify's settings.

``http-json`` is a generic authenticated HTTP JSON gateway: it POSTs
``{"<SMS_TO_FIELD>": "+32...", "<SMS_BODY_FIELD>": "...", "<SMS_SENDER_FIELD>": "Fluvius"}``
to ``SMS_GATEWAY_URL`` with the key in the ``SMS_API_KEY_HEADER`` header.  The dev SMS
sink (``ops/sms_sink.py``, optionally requiring the key) speaks it with the default
field names.  To add a provider whose API differs, see README ("Adding an SMS provider").
"""
from __future__ import annotations

import requests

# Answers that say something about the request itself (its key, its address, the rate),
# not about this message: retried, like a gateway that is down.
NOT_ABOUT_THE_MESSAGE = {401, 403, 404, 405, 407, 408, 409, 425, 429}


class Rejected(Exception):
    """The provider refused this message for good: retrying will not help."""


class HttpJsonProvider:
    def __init__(self, url: str, *, api_key: str | None = None, api_key_header: str = "X-API-Key",
                 sender_id: str = "Fluvius", to_field: str = "to", body_field: str = "body",
                 sender_field: str = "from", timeout: float = 10.0):
        self.url, self.timeout = url, timeout
        self.headers = {api_key_header: api_key} if api_key else {}
        self.fields = (to_field, body_field, sender_field)
        self.sender_id = sender_id
        self.session = requests.Session()

    def send(self, to: str, body: str) -> None:
        to_field, body_field, sender_field = self.fields
        response = self.session.post(self.url, json={to_field: to, body_field: body, sender_field: self.sender_id},
                                     headers=self.headers, timeout=self.timeout)
        if 400 <= response.status_code < 500 and response.status_code not in NOT_ABOUT_THE_MESSAGE:
            raise Rejected(f"SMS gateway answered {response.status_code}")
        response.raise_for_status()


def http_json(settings) -> HttpJsonProvider:
    return HttpJsonProvider(
        settings.sms_gateway_url, api_key=settings.sms_api_key, api_key_header=settings.sms_api_key_header,
        sender_id=settings.sms_sender_id, to_field=settings.sms_to_field, body_field=settings.sms_body_field,
        sender_field=settings.sms_sender_field, timeout=settings.sms_timeout_seconds,
    )


PROVIDERS = {"http-json": http_json}


def provider(settings):
    """The provider ``SMS_PROVIDER`` names, built from the settings."""
    return PROVIDERS[settings.sms_provider](settings)
