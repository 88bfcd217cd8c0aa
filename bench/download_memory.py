"""Downloads stream: memory does not grow with the files' size.

Builds the gateway's zip response for two files of 16 MiB (baseline) and of
512 MiB each, reads it to the end as the server would, in a fresh process each
time, and compares the growth of peak memory (RSS).  The ratio should stay near
1; holding the files would make it ~32.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile

CHILD = r'''
import json, resource, sys
from shared.blobs import FileBlobStore
from services.gateway.downloads import zipped
store = FileBlobStore(sys.argv[1])
size = int(sys.argv[2])
chunk = b"x" * (1024 * 1024)
files = []
for name in ("a.csv", "b.csv"):
    blob = store.put(chunk for _ in range(size // len(chunk)))
    store.adopt(blob.key)
    files.append({"blob_key": blob.key, "size": blob.size, "name": name})
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
response = zipped(store, files, "bestanden.zip")
sent = sum(len(part) for part in response.response)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
assert sent == int(response.headers["Content-Length"])
print(json.dumps({"sent": sent, "growth_kib": after - before}))
'''


def measure(size: int) -> dict:
    with tempfile.TemporaryDirectory() as directory:
        out = subprocess.run([sys.executable, "-c", CHILD, directory, str(size)], check=True,
                             capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> list[tuple[str, ...]]:
    small = measure(16 * 1024**2)
    large = measure(512 * 1024**2)
    ratio = max(large["growth_kib"], 1024) / max(small["growth_kib"], 1024)  # below 1 MiB counts as 1 MiB
    return [
        ("zip download, 2 x 512 MiB: peak memory growth", f"{large['growth_kib'] / 1024:.1f} MiB",
         f"2 x 16 MiB: {small['growth_kib'] / 1024:.1f} MiB", f"{ratio:.2f}x", "< 2x (buffering would be ~32x)"),
    ]
