"""The upstream ingest API's upload: multipart streamed straight into the blob store.

The file part is written to a blob while it arrives (hashed on the way), never
spooled to a temporary file first and never held in memory.  Anything wrong —
no length, too large, wrong field, bad name, empty file, a broken or stalled body —
raises a domain error and leaves nothing behind.
"""
from __future__ import annotations

from dataclasses import dataclass

from werkzeug.exceptions import ClientDisconnected
from werkzeug.formparser import MultiPartParser

from shared import contract
from shared.blobs import BlobTooLarge, StoredBlob
from services.gateway.errors import LengthRequired, UploadStalled
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


class _BlobSink:
    """What werkzeug's parser writes the file part into."""

    def __init__(self, writer):
        self.writer = writer

    def write(self, data: bytes) -> int:
        return self.writer.write(data)

    def seek(self, *_args) -> None:  # werkzeug rewinds a finished part; nothing to do
        pass


class _UploadParser(MultiPartParser):
    def __init__(self, blobs, max_bytes: int):
        # werkzeug refuses any read larger than max_form_memory_size, file parts included:
        # read in chunks that fit, or every upload over 64 KiB is a 413.
        super().__init__(max_form_memory_size=FORM_OVERHEAD, max_form_parts=8, buffer_size=FORM_OVERHEAD // 2)
        self.blobs = blobs
        self.max_bytes = max_bytes
        self.writer = None
        self.filename = None

    def start_file_streaming(self, event, total_content_length):
        if event.name != "file":
            raise InvalidInput(f"unexpected file field {event.name!r}: send the file as field 'file'", field="file")
        if self.writer is not None:
            raise InvalidInput("send exactly one file per request", field="file")
        self.filename = clean_filename(event.filename)
        self.writer = self.blobs.writer(max_bytes=self.max_bytes)
        return _BlobSink(self.writer)


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

    parser = _UploadParser(blobs, max_bytes)
    try:
        form, _ = parser.parse(request.stream, boundary.encode("latin-1"), length)
        if parser.writer is None:
            raise InvalidInput("no file in field 'file'", field="file")
        if parser.writer.size == 0:
            raise InvalidInput("the file is empty", field="file")
        blob = parser.writer.commit()
    except BlobTooLarge:
        raise PayloadTooLarge(f"the file is larger than the maximum of {max_bytes} bytes", field="file") from None
    except ClientDisconnected as exc:  # werkzeug's, raised while handling the socket's error
        if isinstance(exc.__context__, TimeoutError):  # nothing arrived for REQUEST_IDLE_SECONDS
            raise UploadStalled("the upload stalled: no data arrived for too long", field="file") from None
        raise InvalidInput("the upload was cut off before it was complete", field="file") from None
    except ValueError as exc:  # werkzeug: malformed multipart body
        raise InvalidInput(f"malformed multipart body: {exc}", field="file") from None
    finally:
        if parser.writer is not None:
            parser.writer.abort()  # no-op once committed
    return Upload(blob=blob, filename=parser.filename, kind=form.get("kind") or DEFAULT_KIND,
                  shared_by=form.get("shared_by"))
