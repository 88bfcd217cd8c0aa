"""Development SMS gateway sink: accepts SMS over HTTP and appends them to a JSONL file.

A local stand-in for a real SMS provider, used by ``make run`` and by the
tests; never used in production (nothing reaches a phone).

Usage: ``python -m ops.sms_sink [--host 127.0.0.1] [--port 8026]
[--file var/sms.jsonl] [--fail-first N] [--api-key-header X-API-Key]``. Defaults may
also come from ``SMS_SINK_HOST``, ``SMS_SINK_PORT``, ``SMS_SINK_FILE`` and
``SMS_SINK_API_KEY_HEADER`` (flag beats environment beats default).  With
``SMS_SINK_API_KEY`` set (never a flag: it would show in ``ps``) every ``POST
/messages`` must carry that key in the ``--api-key-header`` header, else 401 — as
notify's ``http-json`` provider sends it (``SMS_API_KEY``).

``POST /messages`` with ``{"to": "+32470123456", "body": "..."}`` appends the
line ``{"to": ..., "body": ..., "sent_at": "<UTC ISO-8601>Z"}`` to the file and
answers ``202 {"id": "<uuid hex>", "status": "accepted"}``; invalid input gets
400, an unknown path 404, a wrong method 405, no Content-Length 411, a body over
64 KiB 413.  ``GET /healthz`` answers ``200 {"status": "ok"}``.  ``--fail-first N``
answers the first N ``POST /messages`` with 503 and records nothing, so that tests
can prove a sender retries.  A werkzeug app on werkzeug's threaded server.
"""

import datetime
import hmac
import json
import os
import re
import signal
import sys
import threading
import uuid

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from ops.sinks import sink_arguments

MAX_REQUEST_BYTES = 64 * 1024
MAX_BODY_CHARS = 1600
E164 = re.compile(r"\+[1-9][0-9]{7,14}")
ROUTES = {"/messages": "POST", "/healthz": "GET"}


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


def answer(status, payload, headers=None):
    return Response(json.dumps(payload), status, headers, mimetype="application/json")


class SmsSink:
    """The WSGI app: records each valid message as one line of the file."""

    def __init__(self, path, fail_first=0, api_key=None, api_key_header="X-API-Key"):
        self.path = path
        self.fail_remaining = fail_first
        self.api_key, self.api_key_header = api_key, api_key_header
        self.lock = threading.Lock()  # guards file appends and fail_remaining

    @Request.application
    def __call__(self, request):
        allowed = ROUTES.get(request.path)
        if allowed is None:
            return answer(404, {"error": "not found"})
        if request.method != allowed:
            return answer(405, {"error": "method not allowed"}, {"Allow": allowed})
        if request.method == "GET":
            return answer(200, {"status": "ok"})
        return self.receive(request)

    def receive(self, request):
        if self.api_key and not hmac.compare_digest(request.headers.get(self.api_key_header, "").encode(),
                                                    self.api_key.encode()):
            return answer(401, {"error": f"a valid API key is required in {self.api_key_header}"})
        if request.content_length is None:
            return answer(411, {"error": "a valid Content-Length is required"})
        if request.content_length > MAX_REQUEST_BYTES:
            return answer(413, {"error": f"request body over {MAX_REQUEST_BYTES} bytes"})
        raw = request.get_data()
        if self.should_fail():
            return answer(503, {"error": "temporary failure (simulated by sms sink)"}, {"Retry-After": "1"})
        try:
            payload = json.loads(raw.decode("utf-8"))
        except (ValueError, RecursionError):  # also UnicodeDecodeError, absurd nesting
            return answer(400, {"error": "request body is not valid UTF-8 JSON"})
        error = validate(payload)
        if error:
            return answer(400, {"error": error})
        try:
            self.record(payload["to"], payload["body"])
        except OSError as exc:
            print(f"sms sink: cannot record message: {exc}", file=sys.stderr, flush=True)
            return answer(500, {"error": "could not record the message"})
        return answer(202, {"id": uuid.uuid4().hex, "status": "accepted"})

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
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())


class RequestHandler(WSGIRequestHandler):
    timeout = 30  # seconds; a stalled client cannot pin a thread forever

    def log_request(self, code="-", size="-"):  # werkzeug's, without terminal colours
        self.log_message('"%s" %s %s', self.requestline, code, size)

    def log(self, type, message, *args):
        # The request line holds only method and path, never the message body.
        sys.stderr.write(f"sms sink: {self.address_string()} {message % args}\n")


def _more(parser, env):
    parser.add_argument("--api-key-header", default=env("API_KEY_HEADER", "X-API-Key"),
                        help="the header that carries the key when SMS_SINK_API_KEY is set")


def parse_args(argv=None):
    return sink_arguments("sms", __doc__, argv, port=8026, target=("--file", os.path.join("var", "sms.jsonl")),
                          fails="POST /messages with 503", more=_more)


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(os.path.dirname(os.path.abspath(args.file)), exist_ok=True)
    app = SmsSink(args.file, max(args.fail_first, 0), os.environ.get("SMS_SINK_API_KEY") or None,
                  args.api_key_header)
    try:
        server = make_server(args.host, args.port, app, threaded=True, request_handler=RequestHandler)
    except OSError as exc:  # an unknown host (werkzeug itself says so and exits when the port is taken)
        print(f"sms sink: {exc}", file=sys.stderr, flush=True)
        return 1

    # serve_forever() runs in the main thread, which is where Python runs signal
    # handlers; the short poll interval bounds the delay. shutdown() must run in another thread.
    def request_stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, request_stop)
    host, port = server.server_address[:2]
    print(f"sms sink: http://{host}:{port}/messages -> {args.file}", flush=True)
    server.serve_forever(poll_interval=0.1)  # closes the server when it returns
    app.lock.acquire()  # let an in-flight append finish; hold it until exit
    return 0


if __name__ == "__main__":
    sys.exit(main())
