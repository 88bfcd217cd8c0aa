"""Log lines: JSON objects (LOG_FORMAT=json) or text, with the correlation id, without secrets."""
import json
import logging

import pytest

from shared import correlation, log_redaction, logs


def line(formatter, logger="services.notify.sending", message="delivery %s sent", args=("file_published:1",)):
    record = logging.LogRecord(logger, logging.INFO, __file__, 1, message, args, None)
    for found in logging.getLogger(logger).filters:
        found.filter(record)
    return formatter.format(record)


def test_a_json_line_is_one_object_with_the_correlation_id(monkeypatch):
    monkeypatch.setenv("ENERGIEPOST_SERVICE", "notify")
    with correlation.bound("3f2b6c0d9e8a4b1c"):
        text = line(logs.formatter("json"))
    assert "\n" not in text
    parsed = json.loads(text)
    assert parsed["message"] == "delivery file_published:1 sent"
    assert (parsed["correlation_id"], parsed["service"], parsed["level"]) == ("3f2b6c0d9e8a4b1c", "notify", "INFO")


def test_outside_any_work_the_correlation_id_is_null():
    assert json.loads(line(logs.formatter("json")))["correlation_id"] is None


def test_a_text_line_ends_with_the_correlation_id():
    with correlation.bound("3f2b6c0d9e8a4b1c"):
        assert line(logs.formatter("text")).endswith("delivery file_published:1 sent [3f2b6c0d9e8a4b1c]")


def test_an_rpc_reply_body_stays_out_of_a_json_line():
    log_redaction.install()
    text = line(logs.formatter("json"), "nameko.rpc", "RPC reply event complete %s %s",
                ("<reply>", {"password": "abcd-efgh-jkmn-pqrs"}))
    assert "abcd-efgh" not in text and "(not logged)" in json.loads(text)["message"]


def test_an_unknown_format_is_refused():
    with pytest.raises(ValueError, match="LOG_FORMAT must be one of text, json"):
        logs.formatter("xml")


def test_a_correlation_id_from_outside_is_taken_only_if_it_is_plain():
    assert correlation.valid("req-2026-11-27.0001") == "req-2026-11-27.0001"
    assert correlation.valid("x\n{\"level\": \"ERROR\"}") is None
    assert correlation.valid("short") is None
