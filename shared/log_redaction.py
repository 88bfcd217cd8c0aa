"""Keeping secrets out of the logs, whatever the log level (``LOG_LEVEL=DEBUG`` included).

nameko logs every RPC reply body at DEBUG (``RPC reply event complete <reply> {...}``),
and replies carry initial passwords, SMS codes, reset, login and session tokens: the
line stays, the body goes.  (No URL carries a secret: the password-reset link keeps its
token after ``#``, which browsers never send, so the gateway's access log has none.)

Installed on import of ``shared``, so in every service and the CLI.
"""
from __future__ import annotations

import logging


class _NoRpcBodies(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(arg, (dict, list)) for arg in record.args):
            record.args = tuple("(not logged)" if isinstance(arg, (dict, list)) else arg for arg in record.args)
        return True


def install() -> None:
    logger = logging.getLogger("nameko.rpc")
    if not any(isinstance(f, _NoRpcBodies) for f in logger.filters):
        logger.addFilter(_NoRpcBodies())
