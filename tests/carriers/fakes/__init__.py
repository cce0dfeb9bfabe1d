"""Local fakes of the carriers' HTTP APIs: real servers on loopback, written from the docs.

Each fake checks every request we send it (path with its casing and trailing slash,
method, auth, encoding, required fields) the way the provider would, answering errors in
the provider's way and noting what was wrong in `problems`. Tests can script the next
answers (429, 5xx ...) and build the provider's documented callbacks to send to our
endpoints.
"""

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Seen:
    method: str
    path: str
    query: dict
    headers: dict
    raw: bytes
    at: float  # time.monotonic() when it arrived

    @property
    def content_type(self):
        return self.headers.get("Content-Type", "").split(";")[0].strip()

    def form(self):
        return {key: values[0] for key, values in parse_qs(self.raw.decode(), keep_blank_values=True).items()}

    def json(self):
        return json.loads(self.raw)


@dataclass
class Reply:
    status: int
    body: object = None
    headers: dict = field(default_factory=dict)


class FakeProvider:
    def __init__(self):
        self.seen = []
        self.problems = []
        self.script = []  # Replies given before the real handling, one per request
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                seen = Seen(self.command, parts.path, parse_qs(parts.query), dict(self.headers),
                            self.rfile.read(length) if length else b"", time.monotonic())
                with fake._lock:
                    fake.seen.append(seen)
                    scripted = fake.script.pop(0) if fake.script else None
                reply = scripted or fake.handle(seen)
                body = reply.body if isinstance(reply.body, bytes) else (
                    b"" if reply.body is None else json.dumps(reply.body).encode())
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_DELETE = do_PUT = _handle

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def root(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def refuse(self, status, problem, body=None):
        self.problems.append(problem)
        return Reply(status, body if body is not None else {"error": problem})

    def require(self, fields, names):
        missing = [name for name in names if not fields.get(name)]
        return f"missing required fields: {', '.join(missing)}" if missing else ""

    def handle(self, seen):
        raise NotImplementedError
