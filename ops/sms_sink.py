"""Development SMS gateway sink: accepts SMS over HTTP and appends them to a JSONL file.

A local stand-in for a real SMS provider, used by ``make run`` and by the
tests; never used in production (no authentication, nothing reaches a phone).

Usage: ``python -m ops.sms_sink [--host 127.0.0.1] [--port 8026]
[--file var/sms.jsonl] [--fail-first N]``. Defaults may also come from
``SMS_SINK_HOST``, ``SMS_SINK_PORT`` and ``SMS_SINK_FILE`` (flag beats
environment beats default).

``POST /messages`` with ``{"to": "+32470123456", "body": "..."}`` appends the
line ``{"to": ..., "body": ..., "sent_at": "<UTC ISO-8601>Z"}`` to the file and
answers ``202 {"id": "<uuid hex>", "status": "accepted"}``; invalid input gets
400, an unknown path 404, a wrong method 405, a body over 64 KiB 413.
``GET /healthz`` answers ``200 {"status": "ok"}``. ``--fail-first N`` answers
the first N ``POST /messages`` with 503 and records nothing, so that tests can
prove a sender retries.
"""

import argparse
import datetime
import json
import os
import re
import signal
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_REQUEST_BYTES = 64 * 1024
MAX_BODY_CHARS = 1600
E164 = re.compile(r"\+[1-9][0-9]{7,14}")
ROUTES = {"/messages": "POST", "/healthz": "GET"}


class SmsSinkServer(ThreadingHTTPServer):
    request_queue_size = 64  # listen backlog; the default of 5 drops bursts

    def __init__(self, address, path, fail_first=0):
        super().__init__(address, SmsSinkHandler)
        self.file_path = path
        self.fail_remaining = fail_first
        self.lock = threading.Lock()  # guards file appends and fail_remaining

    def should_fail(self):
        with self.lock:
            if self.fail_remaining > 0:
                self.fail_remaining -= 1
                return True
            return False

    def record(self, to, body):
        now = datetime.datetime.now(datetime.timezone.utc)
        sent_at = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        line = json.dumps({"to": to, "body": body, "sent_at": sent_at}, ensure_ascii=False) + "\n"
        with self.lock:
            with open(self.file_path, "a", encoding="utf-8") as fh:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())


def validate(payload):
    """Return an error message for an invalid message payload, else None."""
    if not isinstance(payload, dict):
        return "request body must be a JSON object"
    to, body = payload.get("to"), payload.get("body")
    if not isinstance(to, str) or not E164.fullmatch(to):
        return "'to' must be a string with an E.164 number like +32470123456"
    if not isinstance(body, str) or not body:
        return "'body' must be a non-empty string"
    if len(body) > MAX_BODY_CHARS:
        return f"'body' must be at most {MAX_BODY_CHARS} characters"
    return None


class SmsSinkHandler(BaseHTTPRequestHandler):
    server_version = "sms-sink/1"
    protocol_version = "HTTP/1.1"
    timeout = 30  # seconds; a stalled client cannot pin a thread forever

    def send_json(self, status, payload, headers=()):
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def route(self, method):
        allowed = ROUTES.get(self.path.split("?", 1)[0])
        if allowed == method:
            return True
        self.close_connection = True  # any request body is left unread
        if allowed is None:
            self.send_json(404, {"error": "not found"})
        else:
            self.send_json(405, {"error": "method not allowed"}, [("Allow", allowed)])
        return False

    def do_GET(self):
        if self.route("GET"):
            self.send_json(200, {"status": "ok"})

    def do_POST(self):
        if not self.route("POST"):
            return
        length = self.headers.get("Content-Length", "")
        if not length.isdigit():
            self.close_connection = True
            return self.send_json(411, {"error": "a valid Content-Length is required"})
        length = int(length)
        if length > MAX_REQUEST_BYTES:
            self.close_connection = True
            return self.send_json(413, {"error": f"request body over {MAX_REQUEST_BYTES} bytes"})
        raw = self.rfile.read(length)
        if self.server.should_fail():
            return self.send_json(503, {"error": "temporary failure (simulated by sms sink)"},
                                  [("Retry-After", "1")])
        try:
            payload = json.loads(raw.decode("utf-8"))
        except (ValueError, RecursionError):  # also UnicodeDecodeError, absurd nesting
            return self.send_json(400, {"error": "request body is not valid UTF-8 JSON"})
        error = validate(payload)
        if error:
            return self.send_json(400, {"error": error})
        try:
            self.server.record(payload["to"], payload["body"])
        except OSError as exc:
            self.log_error("cannot record message: %s", exc)
            return self.send_json(500, {"error": "could not record the message"})
        self.send_json(202, {"id": uuid.uuid4().hex, "status": "accepted"})

    def do_other(self):
        self.route(self.command)  # never matches: routes are GET or POST only

    do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_other

    def log_message(self, format, *args):
        # The request line holds only method and path, never the message body.
        sys.stderr.write(f"sms sink: {self.address_string()} {format % args}\n")


def parse_args(argv=None):
    env = os.environ
    parser = argparse.ArgumentParser(prog="python -m ops.sms_sink", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default=env.get("SMS_SINK_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=env.get("SMS_SINK_PORT", "8026"))
    parser.add_argument("--file", default=env.get("SMS_SINK_FILE", os.path.join("var", "sms.jsonl")))
    parser.add_argument("--fail-first", type=int, default=0, metavar="N",
                        help="answer the first N POST /messages with 503")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(os.path.dirname(os.path.abspath(args.file)), exist_ok=True)
    try:
        server = SmsSinkServer((args.host, args.port), args.file, max(args.fail_first, 0))
    except OSError as exc:
        print(f"sms sink: {exc}", file=sys.stderr, flush=True)
        return 1
    # serve_forever() runs in the main thread, which is where Python runs signal
    # handlers even when the OS delivers the signal to a request thread; the
    # short poll interval bounds the delay. shutdown() must run in another thread.
    def request_stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, request_stop)
    host, port = server.server_address[:2]
    print(f"sms sink: http://{host}:{port}/messages -> {args.file}", flush=True)
    server.serve_forever(poll_interval=0.1)
    server.server_close()
    server.lock.acquire()  # let an in-flight append finish; hold it until exit
    return 0


if __name__ == "__main__":
    sys.exit(main())
