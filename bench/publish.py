"""Publishes per second through the ingest API with 1, 4 and 16 clients at once,
against bare nameko RPC calls to ``files.publish_file`` (the blobs put in the store
beforehand) with as many clients, in the same run: the price of the HTTP upload and
the gateway on top of files' own work."""
from __future__ import annotations

import io
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from bench.portal import COMMUNITY
from bench.system import bench_system, scaled
from shared.blobs import open_blob_store
from shared.rpc import RpcClient
from tests.support.system import INGEST_KEY, add_community

CLIENTS = (1, 4, 16)
CONTENT = b"ean;afname;injectie\n" + b"541448000000000001;12,5;-3,2\n" * 30


def timed(clients: int, count: int, work) -> float:
    """Publishes per second: ``count`` calls of ``work(client, n)`` over ``clients`` threads."""
    share = [range(n, count, clients) for n in range(clients)]
    with ThreadPoolExecutor(clients) as pool:
        started = time.perf_counter()
        list(pool.map(work, range(clients), share))
        return count / (time.perf_counter() - started)


def over_the_api(base_url: str):
    sessions = {}

    def work(client: int, numbers) -> None:
        http = sessions.setdefault(client, requests.Session())
        for n in numbers:
            response = http.post(f"{base_url}/api/v1/communities/{COMMUNITY}/files", timeout=60,
                                 headers={"Authorization": f"Bearer {INGEST_KEY}"},
                                 files={"file": (f"correcties-{n}.csv", io.BytesIO(CONTENT), "text/csv")})
            assert response.status_code == 201, response.text

    return work


def over_rpc(amqp_uri: str, blobs: list):
    def work(client: int, numbers) -> None:
        with RpcClient(amqp_uri, timeout=60) as rpc:
            for n in numbers:
                blob = blobs[n]
                rpc.call("files", "publish_file", community_id=COMMUNITY, blob_key=blob.key,
                         name=f"correcties-{n}.csv", size=blob.size, sha256=blob.sha256)

    return work


def main() -> list[tuple[str, ...]]:
    count = scaled(200, minimum=32)
    rows = []
    with bench_system() as system:
        for service in ("auth", "files", "gateway"):
            system.start(service)
        add_community({"AMQP_URI": system.amqp_uri}, community_id=COMMUNITY)
        store = open_blob_store(system.settings.blob_store)
        api = over_the_api(system.base_url)
        api(0, range(3))  # warm up
        for clients in CLIENTS:
            blobs = [store.put([CONTENT]) for _ in range(count)]
            bare = timed(clients, count, over_rpc(system.amqp_uri, blobs))
            through_api = timed(clients, count, api)
            rows.append((f"publish over the ingest API, {clients} client(s) at once", f"{through_api:,.0f}/s",
                         f"RPC files.publish_file {bare:,.0f}/s", f"{through_api / bare:.2f}x", "report"))
    return rows
