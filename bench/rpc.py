"""Round-trips per second of a trivial RPC (``auth.get_community``: one primary-key
read), one call after the other, against bare AMQP request/reply round-trips through
the same broker to an echo process (kombu, no nameko) in the same run: the price of
each hop between services."""
from __future__ import annotations

import subprocess
import sys
import time
import uuid

from kombu import Connection, Consumer, Producer, Queue

from bench.system import bench_system
from shared.rpc import RpcClient
from tests.support.system import add_community

SECONDS = 3.0
ECHO = r'''
import sys
from kombu import Connection, Consumer, Producer, Queue
with Connection(sys.argv[1]) as connection:
    channel = connection.channel()
    producer = Producer(channel)
    def echo(body, message):
        producer.publish(body, routing_key=message.properties["reply_to"],
                         correlation_id=message.properties["correlation_id"])
        message.ack()
    with Consumer(channel, [Queue(sys.argv[2], auto_delete=True)], callbacks=[echo]):
        print("ready", flush=True)
        while True:
            connection.drain_events()
'''


def count_for(seconds: float, call) -> float:
    """Calls per second of ``call()`` one after the other for ``seconds``."""
    call()  # warm up
    calls, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        call()
        calls += 1
    return calls / elapsed


def bare_amqp(amqp_uri: str) -> float:
    name = f"bench-echo-{uuid.uuid4().hex[:8]}"
    echo = subprocess.Popen([sys.executable, "-c", ECHO, amqp_uri, name], stdout=subprocess.PIPE, text=True)
    try:
        assert echo.stdout.readline().strip() == "ready"
        with Connection(amqp_uri) as connection:
            channel = connection.channel()
            producer, replies = Producer(channel), Queue(f"{name}-reply", exclusive=True, auto_delete=True)
            answers = []
            with Consumer(channel, [replies], callbacks=[lambda body, message: answers.append(body)], no_ack=True):

                def round_trip():
                    answers.clear()
                    producer.publish({"args": [], "kwargs": {"community_id": "x"}}, routing_key=name,
                                     reply_to=replies.name, correlation_id=uuid.uuid4().hex, serializer="json")
                    while not answers:
                        connection.drain_events(timeout=10)

                return count_for(SECONDS, round_trip)
    finally:
        echo.terminate()
        echo.wait()


def main() -> list[tuple[str, ...]]:
    with bench_system() as system:
        system.start("auth")
        add_community({"AMQP_URI": system.amqp_uri})
        bare = bare_amqp(system.amqp_uri)
        with RpcClient(system.amqp_uri, timeout=10) as rpc:
            nameko = count_for(SECONDS, lambda: rpc.call("auth", "get_community", community_id="zonnedelen-gent"))
    return [(
        "RPC round-trips, one after the other (auth.get_community)", f"{nameko:,.0f}/s ({1000 / nameko:.2f} ms)",
        f"bare AMQP request/reply {bare:,.0f}/s ({1000 / bare:.2f} ms)", f"{nameko / bare:.2f}x", "report",
    )]
