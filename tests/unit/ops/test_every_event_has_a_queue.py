"""The class of bug behind a file_deleted that stayed in the outbox for good: an event
published ``mandatory`` with no queue bound.  Every event the services publish is bound
to a queue that ``ops.declare_queues`` declares — a handler's or the upstream's."""
from ops.declare_queues import handler_queues, upstream_queues
from shared import contract


def bound() -> set[tuple[str, str]]:
    pairs = {(queue.exchange.name, queue.routing_key) for queue in handler_queues()}
    for queue in upstream_queues():
        pairs |= {(b.exchange.name, b.routing_key) for b in queue.bindings}
    return pairs


def test_every_published_event_has_a_declared_queue():
    published = [event for event in contract.EVENTS if event.source != contract.UPSTREAM_SOURCE]
    missing = [event.name for event in published if (f"{event.source}.events", event.name) not in bound()]
    assert missing == []


def test_the_upstream_queues_carry_the_documented_events():
    assert {queue.name: sorted(b.routing_key for b in queue.bindings) for queue in upstream_queues()} == {
        "energiepost.upstream.replies": ["publish_accepted", "publish_rejected"],
        "energiepost.upstream.status": ["file_deleted", "file_downloaded", "file_emailed", "file_published",
                                        "file_reminded"],
    }
