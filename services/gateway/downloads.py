"""Streaming downloads: one file as itself, several as one zip built while it is sent.

Memory stays flat whatever the files' sizes: bytes go from the blob store to the
socket in chunks.  The body generators run after the worker is torn down, so
they use only the process-wide blob store, never a worker's dependencies.
"""
from __future__ import annotations

from urllib.parse import quote

from werkzeug.wrappers import Response
from zipstream import ZIP_STORED, ZipStream


def content_disposition(filename: str) -> str:
    """RFC 6266: an ASCII fallback plus the exact name, UTF-8 and percent-encoded."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _stream(chunks):
    yield from chunks  # a plain generator: no len(), so werkzeug streams it


def single(blobs, file: dict) -> Response:
    response = Response(_stream(blobs.read_chunks(file["blob_key"])), mimetype=file["content_type"],
                        direct_passthrough=True)
    response.headers["Content-Length"] = str(file["size"])
    response.headers["Content-Disposition"] = content_disposition(file["name"])
    return response


def _unique_names(files: list[dict]) -> list[str]:
    seen: dict[str, int] = {}
    names = []
    for file in files:
        name = file["name"]
        count = seen.get(name.lower(), 0)
        seen[name.lower()] = count + 1
        if count:
            stem, dot, suffix = name.rpartition(".")
            name = f"{stem} ({count + 1}).{suffix}" if dot and stem else f"{name} ({count + 1})"
        names.append(name)
    return names


def zipped(blobs, files: list[dict], archive_name: str) -> Response:
    archive = ZipStream(compress_type=ZIP_STORED, sized=True)  # stored: sizes known, so Content-Length too
    for file, name in zip(files, _unique_names(files)):
        archive.add(blobs.read_chunks(file["blob_key"]), name, size=file["size"])
    response = Response(_stream(archive), mimetype="application/zip", direct_passthrough=True)
    response.headers["Content-Length"] = str(len(archive))
    response.headers["Content-Disposition"] = content_disposition(archive_name)
    return response
