"""Declare every event handler's queue before any service starts.

RabbitMQ drops an event published while no queue is bound to its routing key (and
returns a ``mandatory`` one to the outbox, which retries it for ever).
Declaring the handler queues up front (with exactly the names and arguments
nameko uses, read off the services' own ``@event_handler`` entrypoints) means an
event published before its handler service has ever started waits for it.  The
upstream system's queues (``energiepost.upstream.replies`` and ``.status``) are declared
here too: every event that outside subscribers may follow is bound to one.

``python -m ops.declare_queues`` (run by ``make run`` and the compose ``migrate`` step).
"""
from __future__ import annotations

import inspect
import sys

from kombu import Connection, Queue, binding
from nameko.events import SERVICE_POOL, EventHandler
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.standalone.events import get_event_exchange

from services.auth.service import AuthService
from services.files.service import FilesService
from services.gateway.service import GatewayService
from services.notify.service import NotifyService
from ops.settings import OpsSettings
from shared import contract

SERVICES = (AuthService, FilesService, NotifyService, GatewayService)


def handler_queues(services=SERVICES) -> list[Queue]:
    """The durable queues nameko would declare for the services' event handlers."""
    queues = []
    for service in services:
        for method_name, method in inspect.getmembers(service, inspect.isfunction):
            for entrypoint in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ()):
                if not isinstance(entrypoint, EventHandler) or entrypoint.handler_type is not SERVICE_POOL:
                    continue
                exchange = get_event_exchange(entrypoint.source_service, {})
                name = f"evt-{entrypoint.source_service}-{entrypoint.event_type}--{service.name}.{method_name}"
                queues.append(
                    Queue(name, exchange=exchange, routing_key=entrypoint.event_type,
                          durable=True, auto_delete=False, exclusive=False)
                )
    return queues


def upstream_queues() -> list[Queue]:
    """The upstream's queues (``contract.UPSTREAM_QUEUES``): the replies to its publish
    requests, and every status event it may follow, bound on the sources' exchanges
    (docs/upstream.md).  Declared here, so those events are never returned unroutable
    to an outbox."""
    return [
        Queue(name, bindings=[binding(get_event_exchange(event.source, {}), routing_key=event.name)
                              for event in events],
              durable=True, auto_delete=False, exclusive=False)
        for name, events in contract.UPSTREAM_QUEUES.items()
    ]


def declare(amqp_uri: str, services=SERVICES) -> list[str]:
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        declared = []
        for queue in [*handler_queues(services), *upstream_queues()]:
            queue(channel).declare()  # declares the exchange, the queue and the binding
            declared.append(queue.name)
        return declared


def main() -> int:
    names = declare(OpsSettings.load().amqp_uri)
    print(f"declared {len(names)} event queue(s): {', '.join(names)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
