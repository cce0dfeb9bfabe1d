import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from django.core.management.base import BaseCommand

STREAM = {
    "stream": {
        "url": "wss://example.com/audio",
        "codec": "PCMA",
        "sample_rate": 8000,
        "direction": "BOTH",
        "bidirectional": True,
        "stream_timeout": 86400,
        "keep_call_alive": True,
    }
}


class Command(BaseCommand):
    help = (
        "A local stand-in for your webhook server: prints every ring/answer/hangup webhook "
        "as one JSON line and answers the answer webhook with Stream JSON."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=9000)

    def handle(self, *, host, port, **options):
        stdout = self.stdout

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else dict(parse_qsl(parts.query))
                stdout.write(json.dumps({"method": self.command, "path": parts.path, "body": body}))
                stdout.flush()
                reply = json.dumps(STREAM if parts.path.endswith("answer") else {"ok": True}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            do_GET = do_POST = _handle

            def log_message(self, *args):
                pass

        self.stderr.write(f"Receiving webhooks on http://{host}:{port}/ (answer URLs get Stream JSON)")
        ThreadingHTTPServer((host, port), Handler).serve_forever()
