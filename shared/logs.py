"""Log lines as text or as JSON (``LOG_FORMAT=json``: one object per line), each with the
correlation id of the work it belongs to (``shared/correlation.py``).

config.yaml's ``LOGGING`` builds the formatter with ``shared.logs.formatter``.  What a
line says has passed the redaction filters already (``shared/log_redaction.py``): no
formatter prints an RPC body, a password or a token.
"""
from __future__ import annotations

import json
import logging
import os
from datetime import datetime, timezone

from shared import correlation

FORMATS = ("text", "json")
TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def service_name() -> str | None:
    """The service this process runs (``ops.serve`` sets ``ENERGIEPOST_SERVICE``)."""
    return os.environ.get("ENERGIEPOST_SERVICE") or None


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": service_name(),
            "logger": record.name,
            "message": record.getMessage(),
            "correlation_id": correlation.current(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self):
        super().__init__(TEXT)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        correlation_id = correlation.current()
        return f"{text} [{correlation_id}]" if correlation_id else text


def formatter(style: str = "text") -> logging.Formatter:
    """For dictConfig (``()``: shared.logs.formatter, ``style``: ${LOG_FORMAT:text})."""
    if style not in FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {style!r}")
    return JsonFormatter() if style == "json" else TextFormatter()
