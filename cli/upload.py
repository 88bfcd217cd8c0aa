"""Streaming a file to the ingest API as multipart/form-data, with progress.

``requests`` would read a file given as ``files=`` into memory; this body is read
in chunks as it is sent and knows its length up front (so the gateway gets a
Content-Length and can refuse an oversized file before reading it).
"""
from __future__ import annotations

import os
import secrets
import sys
import time
from pathlib import Path
from urllib.parse import quote

CHUNK = 1024 * 1024


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


class MultipartBody:
    """A file-like request body: form fields, then the file, then the closing boundary."""

    def __init__(self, path: Path, fields: dict[str, str], on_progress=None):
        self.boundary = "energiepost-" + secrets.token_hex(16)
        self.path = path
        self.file_size = path.stat().st_size
        self.on_progress = on_progress or (lambda sent, total: None)
        head = b"".join(
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            for name, value in fields.items()
            if value is not None
        )
        name = path.name
        disposition = f'form-data; name="file"; filename="{_quoted(name)}"'
        if not name.isascii():
            disposition += f"; filename*=UTF-8''{quote(name)}"
        head += (
            f"--{self.boundary}\r\nContent-Disposition: {disposition}\r\n"
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        self._parts = [head, None, f"\r\n--{self.boundary}--\r\n".encode()]
        self._length = len(head) + self.file_size + len(self._parts[2])
        self._file = open(path, "rb")
        self._part = 0
        self._sent_file = 0

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return self._length

    def read(self, _size: int = -1) -> bytes:
        """The next piece of the body (http.client sends whatever size it gets)."""
        while self._part < 3:
            if self._part == 1:
                chunk = self._file.read(CHUNK)
                if chunk:
                    self._sent_file += len(chunk)
                    self.on_progress(self._sent_file, self.file_size)
                    return chunk
                self._part += 1
                continue
            data = self._parts[self._part]
            self._part += 1
            return data
        return b""

    def close(self) -> None:
        self._file.close()


class ProgressBar:
    """A one-line progress bar on stderr, drawn only for a terminal."""

    def __init__(self, label: str, stream=sys.stderr):
        self.label = label
        self.stream = stream
        self.enabled = stream.isatty()
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self._last < 0.1 and done < total):
            return
        self._last = now
        fraction = done / total if total else 1.0
        width = 30
        filled = int(width * fraction)
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {fraction:6.1%} "
            f"{done / 1e6:,.1f}/{total / 1e6:,.1f} MB"
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
