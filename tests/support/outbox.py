"""The outbox's relay in unit tests: ``outbox.relay(session, model, broker, now)`` with
``Published`` standing in for the broker (the real one: tests/integration/test_outbox.py)."""
from nameko.amqp.publish import UndeliverableMessage


class Published(list):
    """What the relay handed to the broker, as ``(event_type, payload)``; while ``refusing``
    it answers as RabbitMQ does a ``mandatory`` publish that no queue is bound for."""

    refusing = False

    def __call__(self, event_type, payload):
        if self.refusing:
            raise UndeliverableMessage()
        self.append((event_type, payload))
