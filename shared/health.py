"""Health of a service: what the ``health`` RPC answers and ``energiepost health SERVICE`` prints.

Each check is a callable that returns normally when its dependency works and raises when it
does not.  The answer names every check with ``ok`` or a short reason (the exception's class
and first line, cut short: never a connection string, a key or a traceback).  The broker
check of a ``health`` RPC is the call itself: its request and its reply both crossed the
broker, so an answer proves the service consumes and publishes.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping

from kombu import Connection
from sqlalchemy import text


log = logging.getLogger(__name__)
OK, FAILING = "ok", "failing"
REASON_LENGTH = 120
_URI_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")


def reason(exc: BaseException) -> str:
    """A short, secret-free reason for a failed check."""
    message = (str(exc).strip().splitlines() or [""])[0]
    message = _URI_PASSWORD.sub(r"\1***@", message)[:REASON_LENGTH]
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def run_checks(service: str, checks: Mapping[str, Callable[[], object]]) -> dict:
    """``{"service", "status": "ok"|"failing", "checks": {name: "ok" | reason}}``."""
    results = {}
    for name, check in checks.items():
        try:
            check()
        except Exception as exc:  # a health check reports every failure, whatever it is
            log.warning("health check %s of %s failed: %s", name, service, reason(exc))
            results[name] = reason(exc)
        else:
            results[name] = OK
    status = OK if all(value == OK for value in results.values()) else FAILING
    return {"service": service, "status": status, "checks": results}


def database_check(session) -> Callable[[], None]:
    def check():
        try:
            session.execute(text("SELECT 1"))
        finally:
            session.rollback()
    return check


def blob_store_check(store) -> Callable[[], None]:
    return store.check


def broker_check(amqp_uri: str, timeout: float) -> Callable[[], None]:
    """A fresh connection to the broker (for a check that is not itself an RPC)."""
    def check():
        with Connection(amqp_uri, connect_timeout=timeout) as connection:
            connection.connect()
    return check


def answer_check(call: Callable[[], dict]) -> Callable[[], None]:
    """A round trip to another service's ``health``: it must answer, and answer ok."""
    def check():
        answer = call()
        if answer.get("status") != OK:
            failing = ", ".join(name for name, value in answer.get("checks", {}).items() if value != OK)
            raise RuntimeError(f"{answer.get('service')} reports failing: {failing}")
    return check


def broker_answered() -> None:
    """The RPC reached the service and its answer goes back over the broker."""


def summary(answer: dict) -> str:
    """One line: ``auth: ok (broker ok, database ok)``."""
    checks = ", ".join(f"{name} {value}" for name, value in answer.get("checks", {}).items())
    return f"{answer.get('service')}: {answer.get('status')} ({checks})"
