"""The CLI's upload body: the file streamed in pieces behind a known length, in the form
the gateway's multipart parser reads, with a progress bar that ends once."""
import io

from werkzeug.formparser import MultiPartParser
from werkzeug.http import parse_options_header

from cli.upload import ProgressBar, upload_body

PIECE = 16 * 1024  # what urllib3 asks a file-like request body for


class Terminal(io.StringIO):
    def isatty(self):
        return True


def read_all(body) -> list[bytes]:
    pieces = []
    while piece := body.read(PIECE):
        pieces.append(piece)
    body.read(PIECE)  # the sender reads once more to see the end
    return pieces


def test_body_streams_the_file_in_pieces_behind_its_length(tmp_path):
    path = tmp_path / "groot.csv"
    path.write_bytes(bytes(range(256)) * 16 * 1024)  # 4 MiB
    with path.open("rb") as handle:
        body = upload_body(handle, path.name, {"kind": "periodic"}, lambda sent, total: None)
        length = body.len
        pieces = read_all(body)
    assert sum(map(len, pieces)) == length > path.stat().st_size
    assert max(map(len, pieces)) <= PIECE


def test_gateway_parser_reads_a_non_ascii_name_and_the_fields(tmp_path):
    path = tmp_path / "afrekening-été-2026.csv"
    path.write_bytes("ean;afname\n541448;12,5\n".encode())
    with path.open("rb") as handle:
        body = upload_body(handle, path.name, {"kind": "adhoc", "shared_by": "Fluvius – Gent", "x": None},
                           lambda sent, total: None)
        data = b"".join(read_all(body))
    mimetype, params = parse_options_header(body.content_type)
    form, files = MultiPartParser().parse(io.BytesIO(data), params["boundary"].encode(), len(data))
    assert mimetype == "multipart/form-data"
    assert dict(form) == {"kind": "adhoc", "shared_by": "Fluvius – Gent"}
    assert files["file"].filename == "afrekening-été-2026.csv"
    assert files["file"].read() == path.read_bytes()


def test_progress_bar_reaches_the_total_and_ends_its_line_once(tmp_path):
    path = tmp_path / "correcties.csv"
    path.write_bytes(b"x" * (1024 * 1024))
    terminal = Terminal()
    with path.open("rb") as handle:
        body = upload_body(handle, path.name, {"kind": "periodic"}, ProgressBar("uploading correcties.csv", terminal))
        read_all(body)
    drawn = terminal.getvalue()
    assert drawn.startswith("\ruploading correcties.csv [")
    assert drawn.endswith("[##############################] 100,0 % 1,05 MB / 1,05 MB\n")  # as the tables write it
    assert drawn.count("\n") == 1


def test_progress_bar_draws_nothing_without_a_terminal():
    stream = io.StringIO()
    ProgressBar("uploading x", stream)(10, 10)
    assert stream.getvalue() == ""
