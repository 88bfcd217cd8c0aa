"""The ingest API's multipart reader: the same fields and file bytes as werkzeug's parser,
however the body is cut into reads, and the same refusals."""
import io
import random

import pytest
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import MultiPartParser

from services.gateway.multipart import MalformedBody, parse

BOUNDARY = b"----energiepost-7Fq3"
# Content that looks like framing: line breaks, dashes, the boundary's start, a delimiter minus its last byte.
PIECES = [b"\r", b"\n", b"\r\n", b"-", b"--", b"a;b", b"\xff\x00", b"--" + BOUNDARY[:-1], b"\r\n--" + BOUNDARY[:-1],
          b"\n--" + BOUNDARY[:5], b"----", BOUNDARY[2:]]


def content(rng: random.Random, length: int) -> bytes:
    """Random bytes with near-misses of the framing, never the boundary itself (RFC 2046)."""
    out = bytearray()
    while len(out) < length:
        out += rng.choice(PIECES) if rng.random() < 0.3 else rng.randbytes(rng.randint(1, 40))
        while b"--" + BOUNDARY in out:
            del out[-len(BOUNDARY):]
    return bytes(out[:length])


def body(parts, *, line_break=b"\r\n", preamble=b"", epilogue=b"") -> bytes:
    out = preamble + (line_break if preamble else b"")
    for name, filename, data in parts:
        disposition = b'form-data; name="%s"' % name.encode()
        if filename is not None:
            disposition += b'; filename="%s"' % filename.encode()
        out += b"--" + BOUNDARY + line_break + b"Content-Disposition: " + disposition + line_break
        out += b"Content-Type: text/csv" + line_break + line_break + data + line_break
    return out + b"--" + BOUNDARY + b"--" + line_break + epilogue


def reader(data: bytes, rng: random.Random | None = None):
    """``read(size)`` that returns at most ``size`` bytes; with ``rng`` often fewer."""
    stream = io.BytesIO(data)
    return lambda size: stream.read(rng.randint(1, size) if rng else size)


def ours(data: bytes, *, chunk_size=1024 * 1024, rng=None, max_parts=8, max_field_bytes=64 * 1024):
    files = []

    def open_file(part):
        files.append((part.name, part.filename, bytearray()))
        return files[-1][2].extend

    fields = parse(reader(data, rng), BOUNDARY, open_file=open_file, chunk_size=chunk_size, max_parts=max_parts,
                   max_field_bytes=max_field_bytes)
    return fields, [(name, filename, bytes(value)) for name, filename, value in files]


def werkzeugs(data: bytes):
    parser = MultiPartParser(max_form_memory_size=64 * 1024, max_form_parts=8, buffer_size=32 * 1024)
    form, files = parser.parse(io.BytesIO(data), BOUNDARY, len(data))
    return ({key: form[key] for key in form},
            [(name, storage.filename, storage.read()) for name, storage in files.items(multi=True)])


@pytest.mark.parametrize("seed", range(40))
def test_fields_and_file_come_out_as_werkzeug_reads_them_however_the_body_is_cut(seed):
    rng = random.Random(seed)
    line_break = rng.choice([b"\r\n", b"\n"])
    file = content(rng, rng.choice([0, 1, 77, 5000, 200_000]))
    if line_break == b"\n" and file.endswith(b"\r"):
        file += b"."  # a CR before a bare LF delimiter belongs to the delimiter
    parts = [("kind", None, b"periodic"), ("file", "a.csv", file), ("shared_by", None, "Fluvius Één".encode())]
    rng.shuffle(parts)
    data = body(parts, line_break=line_break, preamble=rng.choice([b"", b"preamble"]),
                epilogue=rng.choice([b"", b"epilogue\r\n"]))
    expected = werkzeugs(data)
    assert expected[1][0][2] == dict((n, d) for n, _, d in parts)["file"]  # the test's own framing is right
    for chunk_size in (1 if len(file) < 10_000 else 5003, 7, len(BOUNDARY) + 3, 4096, 1024 * 1024):
        assert ours(data, chunk_size=chunk_size) == expected, chunk_size
    assert ours(data, chunk_size=64 * 1024, rng=rng) == expected


def test_a_delimiter_across_every_chunk_edge_is_found():
    data = body([("file", "a.csv", b"x" * 1000)])
    for chunk_size in range(980, 1060):
        assert ours(data, chunk_size=chunk_size)[1] == [("file", "a.csv", b"x" * 1000)]


def test_the_file_arrives_in_the_chunks_read_not_byte_by_byte():
    writes = []
    parse(reader(body([("file", "a.csv", b"y" * 3_000_000)])), BOUNDARY, open_file=lambda part: writes.append,
          max_field_bytes=64 * 1024, max_parts=8)
    assert sum(map(len, writes)) == 3_000_000 and len(writes) <= 6


@pytest.mark.parametrize("data", [
    b"",
    b"no boundary at all",
    body([("file", "a.csv", b"x")])[:-8],  # cut off before the closing delimiter
    b"--" + BOUNDARY + b"\r\nContent-Type: text/csv\r\n\r\nx\r\n--" + BOUNDARY + b"--\r\n",  # no Content-Disposition
    b"--" + BOUNDARY + b"\r\n\r\nx\r\n--" + BOUNDARY + b"--\r\n",  # no headers
    b"--" + BOUNDARY + b"junk\r\n",
])
def test_a_malformed_body_is_refused(data):
    with pytest.raises(MalformedBody):
        ours(data)
    with pytest.raises(ValueError):  # werkzeug refuses it too
        werkzeugs(data)


def test_too_many_parts_too_large_a_field_or_endless_framing_is_413():
    with pytest.raises(RequestEntityTooLarge):
        ours(body([("kind", None, b"x")] * 9))
    with pytest.raises(RequestEntityTooLarge):
        ours(body([("kind", None, b"x" * 1001)]), max_field_bytes=1000)
    ours(body([("kind", None, b"x" * 1000)] * 8), max_field_bytes=1000)
    endless_headers = b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="x"' + b" " * 70_000
    for endless in (b"preamble" * 9000, endless_headers):
        with pytest.raises(RequestEntityTooLarge):
            ours(endless)
        with pytest.raises(RequestEntityTooLarge):
            werkzeugs(endless)


def test_the_first_value_of_a_field_counts():
    assert ours(body([("kind", None, b"adhoc"), ("kind", None, b"periodic")]))[0] == {"kind": "adhoc"}
