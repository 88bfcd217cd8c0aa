"""Streaming a file to the ingest API as multipart/form-data, with progress.

``requests`` would read a file given as ``files=`` into memory; requests-toolbelt's
``MultipartEncoder`` reads it in chunks as it is sent and knows the body's length up
front (so the gateway gets a Content-Length and can refuse an oversized file before
reading it).  The file name goes as UTF-8 in ``filename="..."`` (HTML5 / RFC 7578).
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from shared.formatting import size_nl
from requests_toolbelt import MultipartEncoder, MultipartEncoderMonitor


def upload_body(handle, name: str, fields: dict[str, str | None], on_progress) -> MultipartEncoderMonitor:
    """The request body: the fields that have a value, then the open file ``handle`` as field
    'file'; ``on_progress(sent, total)`` after each piece (its ``content_type`` goes in the header)."""
    parts = [(key, value) for key, value in fields.items() if value is not None]
    encoder = MultipartEncoder(parts + [("file", (name, handle, "application/octet-stream"))])
    return MultipartEncoderMonitor(encoder, lambda monitor: on_progress(monitor.bytes_read, monitor.len))


class ProgressBar:
    """A one-line progress bar on stderr, drawn only for a terminal."""

    def __init__(self, label: str, stream=None):
        self.label = label
        self.stream = stream = stream or sys.stderr  # the one of now, not of the import
        self.enabled = stream.isatty()
        self._last = 0.0
        self._done = None

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.enabled or done == self._done or (now - self._last < 0.1 and done < total):
            return
        self._last, self._done = now, done
        fraction = done / total if total else 1.0
        width = 30
        filled = int(width * fraction)
        percent = f"{fraction * 100:5.1f}".replace(".", ",")  # the tables' Dutch notation
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {percent} % {size_nl(done)} / {size_nl(total)}"
        )
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def check_local_file(path: Path) -> str | None:
    """Why this path cannot be published, or None."""
    if not path.exists():
        return f"{path}: no such file"
    if not path.is_file():
        return f"{path}: not a regular file"
    if not os.access(path, os.R_OK):
        return f"{path}: not readable"
    if path.stat().st_size == 0:
        return f"{path}: the file is empty"
    return None
