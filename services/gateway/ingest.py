"""The upstream ingest API's upload: multipart streamed straight into the blob store.

The file part is written to a blob while it arrives (hashed on the way), never
spooled to a temporary file first and never held in memory: the body is read in
1 MiB chunks straight from the server's input (``services/gateway/multipart.py``).
Anything wrong — no length, too large, wrong field, bad name, empty file, a broken or
stalled body — raises a domain error and leaves nothing behind.
"""
from __future__ import annotations

from dataclasses import dataclass

from services.gateway import multipart
from services.gateway.errors import LengthRequired, UploadStalled
from shared import contract
from shared.blobs import BlobTooLarge, StoredBlob
from shared.errors import InvalidInput, PayloadTooLarge
from shared.filenames import clean_filename

FORM_OVERHEAD = 64 * 1024  # room for the multipart framing and the small fields
DEFAULT_KIND = "periodic"
PUBLISHED_FIELDS = ("id", "name", "size", "sha256", "expires_at")  # of the published file, in the 201 answer
IDEMPOTENCY_HEADER = "Idempotency-Key"


@dataclass(frozen=True)
class Upload:
    blob: StoredBlob
    filename: str
    kind: str
    shared_by: str | None


class _Upload:
    """What the multipart reader hands the file part to: one blob, for field ``file``."""

    def __init__(self, blobs, max_bytes: int):
        self.blobs = blobs
        self.max_bytes = max_bytes
        self.writer = None
        self.filename = None

    def open_file(self, part: multipart.Part):
        if part.name != "file":
            raise InvalidInput(f"unexpected file field {part.name!r}: send the file as field 'file'", field="file")
        if self.writer is not None:
            raise InvalidInput("send exactly one file per request", field="file")
        self.filename = clean_filename(part.filename)
        self.writer = self.blobs.writer(max_bytes=self.max_bytes)
        return self.writer.write


def _body(request, length: int):
    """``read(size)`` of the body's ``length`` bytes, straight from the server's input (werkzeug's
    stream would copy every chunk twice): ``b""`` at its end; a stall or a cut-off is an error."""
    stream = request.environ["wsgi.input"]
    remaining = length

    def read(size: int) -> bytes:
        nonlocal remaining
        if remaining <= 0:
            return b""
        try:
            data = stream.read(min(size, remaining))
        except TimeoutError:  # nothing arrived for REQUEST_IDLE_SECONDS
            raise UploadStalled("the upload stalled: no data arrived for too long", field="file") from None
        except (OSError, ValueError):
            data = b""
        if not data:
            raise InvalidInput("the upload was cut off before it was complete", field="file")
        remaining -= len(data)
        return data

    return read


def idempotency_key(request) -> str | None:
    """The optional ``Idempotency-Key``: the same key publishes once (as an upstream
    ``request_id``); a repeated request is answered with the file of the first."""
    value = request.headers.get(IDEMPOTENCY_HEADER)
    if value is None:
        return None
    if not contract.is_request_id(value):
        raise InvalidInput(f"{IDEMPOTENCY_HEADER} must be 1 to 100 letters, digits or . _ : -",
                           field=IDEMPOTENCY_HEADER)
    return value


def receive_upload(request, *, blobs, max_bytes: int) -> Upload:
    length = request.content_length
    if length is None:
        raise LengthRequired("send a Content-Length (chunked uploads are not accepted)")
    if length > max_bytes + FORM_OVERHEAD:
        raise PayloadTooLarge(f"the file is larger than the maximum of {max_bytes} bytes", field="file")
    boundary = request.mimetype_params.get("boundary")
    if request.mimetype != "multipart/form-data" or not boundary:
        raise InvalidInput("send the file as multipart/form-data in field 'file'", field="file")

    upload = _Upload(blobs, max_bytes)
    try:
        form = multipart.parse(_body(request, length), boundary.encode("latin-1"), open_file=upload.open_file,
                               max_field_bytes=FORM_OVERHEAD, max_parts=8)
        if upload.writer is None:
            raise InvalidInput("no file in field 'file'", field="file")
        if upload.writer.size == 0:
            raise InvalidInput("the file is empty", field="file")
        blob = upload.writer.commit()
    except BlobTooLarge:
        raise PayloadTooLarge(f"the file is larger than the maximum of {max_bytes} bytes", field="file") from None
    except ValueError as exc:  # a malformed multipart body
        raise InvalidInput(f"malformed multipart body: {exc}", field="file") from None
    finally:
        if upload.writer is not None:
            upload.writer.abort()  # no-op once committed
    return Upload(blob=blob, filename=upload.filename, kind=form.get("kind") or DEFAULT_KIND,
                  shared_by=form.get("shared_by"))
