"""A local stand-in for a customer's webhook server, for trying the call center on one machine.

Prints every webhook as one JSON line: method, path, headers, the raw body exactly as it
arrived, the parsed fields, and whether its Standard Webhooks signature verifies (with
--secret). Answers the answer webhook with Stream JSON pointing at a small WebSocket
server of its own (--stream-port), so the sandbox's audio stream has somewhere to go:
it logs the stream's start and end, and plays the callee's audio back to the line.
"""

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from django.core.management.base import BaseCommand
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import serve as websocket_serve


def stream_json(url):
    return {
        "stream": {
            "url": url,
            "codec": "PCMA",
            "sample_rate": 8000,
            "direction": "BOTH",
            "bidirectional": True,
            "stream_timeout": 86400,
            "keep_call_alive": True,
        }
    }


def signature_check(secret, raw, headers):
    """'verified', 'not checked (no --secret)', or 'INVALID: <why>'."""
    if not secret:
        return "not checked (no --secret)"
    try:
        # A GET webhook carries no body; what it signs is described in the README's security notes.
        Webhook(secret).verify(raw, headers, json_parse=False)
    except WebhookVerificationError as exc:
        return f"INVALID: {exc}"
    return "verified"


class Command(BaseCommand):
    help = (
        "A local stand-in for your webhook server: prints every webhook (method, path, headers, raw body, "
        "signature check) as one JSON line and answers the answer webhook with Stream JSON for a local "
        "WebSocket echo."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=9000)
        parser.add_argument(
            "--stream-port", type=int, default=None, help="the local audio stream's WebSocket port (default: port + 1)"
        )
        parser.add_argument("--secret", default="", help="the app's webhook_secret, to verify signatures")

    def emit(self, record):
        self.stdout.write(json.dumps(record))
        self.stdout.flush()

    def handle(self, *, host, port, stream_port, secret, **options):
        stream_port = stream_port or port + 1
        stream_url = f"ws://{host}:{stream_port}/stream"
        emit = self.emit

        def echo(socket):
            """The customer's media server: plays every frame of callee audio back to the line."""
            frames = 0
            try:
                for message in socket:
                    event = json.loads(message)
                    if event.get("event") == "start":
                        emit({"stream": "start", "streamId": event.get("streamId"), "callId": event.get("callId")})
                    elif event.get("event") == "media":
                        frames += 1
                        media = event["media"]
                        reply = {"contentType": media["contentType"], "sampleRate": media["sampleRate"],
                                 "payload": media["payload"]}
                        socket.send(json.dumps({"event": "playAudio", "media": reply}))
            except (ConnectionClosed, ValueError, KeyError):
                pass
            emit({"stream": "end", "media_frames": frames})

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                headers = dict(self.headers.items())
                try:
                    body = json.loads(raw) if raw else dict(parse_qsl(parts.query))
                except ValueError:
                    body = None
                emit(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": headers,
                        "raw_body": raw.decode(errors="replace"),
                        "body": body,
                        "signature": signature_check(secret, raw, headers),
                    }
                )
                reply = json.dumps(stream_json(stream_url) if parts.path.endswith("answer") else {"ok": True})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply.encode())

            do_GET = do_POST = _handle

            def log_message(self, *args):
                pass

        quiet = logging.getLogger("webhook_receiver.stream")
        quiet.setLevel(logging.WARNING)
        stream_server = websocket_serve(echo, host, stream_port, logger=quiet)
        threading.Thread(target=stream_server.serve_forever, daemon=True).start()
        self.stderr.write(
            f"Receiving webhooks on http://{host}:{port}/ (answer URLs get Stream JSON for {stream_url})"
            + ("" if secret else "; pass --secret to verify signatures")
        )
        http_server = ThreadingHTTPServer((host, port), Handler)
        try:
            http_server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            http_server.server_close()
            stream_server.shutdown()
