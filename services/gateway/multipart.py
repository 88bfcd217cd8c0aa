"""A multipart/form-data body (RFC 7578) read from a stream in large chunks.

The ingest API's body is one big file part and a few small fields.  The file's bytes
are handed on as slices of the chunks they arrived in (no copy, no line-by-line
parsing): the next delimiter is found with ``bytes.find``, and the last few bytes of
a chunk are held back in case a delimiter straddles two chunks.  Plain fields are
kept in memory, within ``max_field_bytes`` each.

As lenient as werkzeug's parser (which this replaces for the ingest API: it reads
32 KiB at a time and copies every byte several times) about line breaks (CRLF, or a
bare LF) and a preamble.  Anything else malformed is a ``MalformedBody`` (a
``ValueError``); too many parts, too large a field or a preamble or headers without an
end within a field's limit is werkzeug's ``RequestEntityTooLarge`` (413), as before.
"""
from __future__ import annotations

import re
from collections.abc import Callable

from werkzeug.datastructures import Headers
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import parse_options_header

CHUNK = 1024 * 1024
MAX_BOUNDARY = 200  # RFC 2046 allows 70 characters
BLANK_LINE = re.compile(rb"\r?\n\r?\n")
LINE_BREAK_AFTER_PADDING = re.compile(rb"[ \t]*\r?\n")
UNFINISHED_PADDING = re.compile(rb"[ \t]*\r?")
HEADER_CONTINUATION = re.compile(rb"\r?\n[ \t]")
CHARSETS = {"ascii", "us-ascii", "utf-8", "iso-8859-1"}  # werkzeug's list for plain fields


class MalformedBody(ValueError):
    pass


class Part:
    """A part's head: its field name, its filename (``None`` for a plain field) and headers."""

    def __init__(self, name: str | None, filename: str | None, headers: Headers):
        self.name, self.filename, self.headers = name, filename, headers


def parse(read: Callable[[int], bytes], boundary: bytes, *, open_file: Callable[[Part], Callable],
          max_field_bytes: int, max_parts: int, chunk_size: int = CHUNK) -> dict[str, str]:
    """Read a body with ``read(size)`` (``b""`` at its end) and return its plain fields (the
    first value of each name).  The content of a part with a filename goes to the
    ``write(data)`` that ``open_file(part)`` returns as it arrives (``data``: bytes or a
    memoryview, valid during the call)."""
    return _Parser(read, boundary, chunk_size, max_field_bytes).run(open_file, max_parts)


class _Parser:
    def __init__(self, read, boundary: bytes, chunk_size: int, max_field_bytes: int):
        if not 0 < len(boundary) <= MAX_BOUNDARY:
            raise MalformedBody(f"the boundary must be 1 to {MAX_BOUNDARY} characters")
        self.read, self.chunk_size, self.max_field_bytes = read, chunk_size, max_field_bytes
        self.dash_boundary = b"--" + boundary
        self.delimiter = b"\n" + self.dash_boundary  # and the CR before it, if there is one
        self.buffer = b""

    def run(self, open_file, max_parts: int) -> dict[str, str]:
        fields: dict[str, str] = {}
        self._preamble()
        parts = 0
        while self._part_follows():
            parts += 1
            if parts > max_parts:
                raise RequestEntityTooLarge()
            part = self._head()
            if part.filename is not None:
                self._content(open_file(part), limit=None)
            else:
                value: list[bytes] = []
                self._content(lambda data: value.append(bytes(data)), limit=self.max_field_bytes)
                fields.setdefault(part.name, b"".join(value).decode(_charset(part.headers), "replace"))
        self.buffer = b""
        while self.read(self.chunk_size):  # the epilogue: read and ignored
            pass
        return fields

    def _fill(self, what: str) -> None:
        """One more chunk into the buffer."""
        data = self.read(self.chunk_size)
        if not data:
            raise MalformedBody(f"the body ended {what}")
        self.buffer = self.buffer + data if self.buffer else data

    def _find(self, pattern: re.Pattern, what: str) -> re.Match:
        """The first match of ``pattern`` in the buffer, reading on while there is none
        (up to ``max_field_bytes``: the framing and plain fields are small)."""
        while (match := pattern.search(self.buffer)) is None:
            if len(self.buffer) > self.max_field_bytes:
                raise RequestEntityTooLarge()  # as werkzeug: more than a field's worth without an end
            self._fill(f"in {what}")
        return match

    def _preamble(self) -> None:
        """Skip to the first delimiter: at the very start, or after a line break."""
        while len(self.buffer) < len(self.dash_boundary):
            self._fill("before the first boundary")
        if self.buffer.startswith(self.dash_boundary):
            self.buffer = self.buffer[len(self.dash_boundary):]
            return
        while (found := self._delimiter()) == -1:
            if len(self.buffer) > self.max_field_bytes:
                raise RequestEntityTooLarge()
            self._fill("before the first boundary")
        self.buffer = self.buffer[found + len(self.delimiter):]

    def _delimiter(self) -> int:
        """Where the first delimiter in the buffer starts, or -1.  As with werkzeug, the boundary
        is one only when ``--`` or a line break (after spaces or tabs) follows it: the buffer is
        read on when it ends too early to tell (rare)."""
        start = 0
        while (found := self.buffer.find(self.delimiter, start)) != -1:
            after = found + len(self.delimiter)
            if self.buffer.startswith(b"--", after) or LINE_BREAK_AFTER_PADDING.match(self.buffer, after):
                return found
            if self.buffer[after:] == b"-" or (UNFINISHED_PADDING.fullmatch(self.buffer, after)
                                               and len(self.buffer) - after < 1024):
                self._fill("inside a part")
            else:
                start = found + 1
        return -1

    def _part_follows(self) -> bool:
        """After a delimiter: ``--`` closes the body; else padding and a line break, then a part."""
        while len(self.buffer) < 2:
            self._fill("after a boundary")
        if self.buffer.startswith(b"--"):
            return False
        while (match := LINE_BREAK_AFTER_PADDING.match(self.buffer)) is None:
            if not UNFINISHED_PADDING.fullmatch(self.buffer) or len(self.buffer) > 1024:
                raise MalformedBody("unexpected characters after a boundary")
            self._fill("after a boundary")
        self.buffer = self.buffer[match.end():]
        return True

    def _head(self) -> Part:
        while len(self.buffer) < 2:
            self._fill("in a part's headers")
        if self.buffer.startswith((b"\n", b"\r\n")):  # no headers at all
            raise MalformedBody("a part without Content-Disposition")
        end = self._find(BLANK_LINE, "a part's headers")
        headers = _headers(self.buffer[:end.start()])
        self.buffer = self.buffer[end.end():]
        if "content-disposition" not in headers:
            raise MalformedBody("a part without Content-Disposition")
        _, options = parse_options_header(headers["content-disposition"])
        return Part(options.get("name"), options.get("filename"), headers)

    def _content(self, write, limit: int | None) -> None:
        """A part's content, up to the next delimiter, to ``write`` as it comes."""
        delimiter, written = self.delimiter, 0

        def emit(data) -> None:
            nonlocal written
            written += len(data)
            if limit is not None and written > limit:
                raise RequestEntityTooLarge()
            write(data)

        keep = len(delimiter)  # the tail that may hold the start of a delimiter, with the CR before it
        while (found := self._delimiter()) == -1:
            if len(self.buffer) > keep:
                emit(memoryview(self.buffer)[:len(self.buffer) - keep])
                self.buffer = self.buffer[len(self.buffer) - keep:]
            held = self.buffer
            data = self.read(self.chunk_size)
            if not data:
                raise MalformedBody("the body ended inside a part")
            if len(data) < keep or (held + data[:keep]).find(delimiter) != -1:
                self.buffer = held + data  # short, or a delimiter across the edge: rare, copied
            else:  # no delimiter starts in ``held``: the chunk is searched as it is
                if held:
                    emit(held)
                self.buffer = data
        end = found - 1 if self.buffer[found - 1:found] == b"\r" else found
        if end > 0:
            emit(memoryview(self.buffer)[:end])
        self.buffer = self.buffer[found + len(delimiter):]


def _headers(block: bytes) -> Headers:
    """As werkzeug reads them: continuation lines joined, one ``name: value`` a line."""
    headers = Headers()
    for line in HEADER_CONTINUATION.sub(b" ", block).splitlines():
        line = line.strip(b" \t")
        if line:
            name, _, value = line.decode().partition(":")
            headers.add(name.strip(" \t"), value.strip(" \t"))
    return headers


def _charset(headers: Headers) -> str:
    charset = parse_options_header(headers.get("content-type", ""))[1].get("charset", "").lower()
    return charset if charset in CHARSETS else "utf-8"
