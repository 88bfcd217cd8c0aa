"""Keeping secrets out of the logs, whatever the log level (``LOG_LEVEL=DEBUG`` included).

- nameko logs every RPC reply body at DEBUG (``RPC reply event complete <reply> {...}``),
  and replies carry initial passwords, SMS codes, reset, login and session tokens:
  the line stays, the body goes.
- The gateway's access log (eventlet, INFO) holds the request line, and a password-reset
  link carries its token in the path: the token is masked.

Installed on import of ``shared``, so in every service and the CLI.
"""
from __future__ import annotations

import logging
import re

_RESET_TOKEN = re.compile(r"(/reset/)[^\s?#\"]+")


class _NoRpcBodies(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(arg, (dict, list)) for arg in record.args):
            record.args = tuple("(not logged)" if isinstance(arg, (dict, list)) else arg for arg in record.args)
        return True


class _NoResetTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/reset/" in message:
            record.msg, record.args = _RESET_TOKEN.sub(r"\1***", message), ()
        return True


def install() -> None:
    for name, log_filter in (("nameko.rpc", _NoRpcBodies()), ("nameko.web.server", _NoResetTokens())):
        logger = logging.getLogger(name)
        if not any(type(f) is type(log_filter) for f in logger.filters):
            logger.addFilter(log_filter)
