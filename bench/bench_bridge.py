"""The stream bridge: frame-in to frame-out latency at N concurrent Vobiz streams.

Each fake Vobiz stream sends a µ-law `media` frame every 20 ms to the bridge
(/ws/media/<token>/ on a uvicorn server in its own process); the bridge transcodes it to
the A-law the customer asked for and sends it to the fake customer media server. Latency
runs from just before Vobiz's send to the customer server's receipt (frames of one stream
arrive in order, so the n-th sent matches the n-th received).

The same run measures a baseline: a bare relay (the `websockets` library alone, no Django,
Channels or transcoding, in its own process) that forwards each frame unchanged to the same
customer server, with the same clients and the same clock. No socket compresses (the
bridge's own client to the customer does not either). The fake Vobiz streams and the
customer server share this one process, so at high stream counts the harness itself adds
delay to both figures alike.

Everything runs on loopback with a throwaway SQLite database in a temporary directory and
the in-memory channel layer (no PostgreSQL or Redis is touched).

    python -m bench.bench_bridge [--streams 100] [--seconds 10]
"""

import argparse
import asyncio
import base64
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import websockets

ROOT = Path(__file__).resolve().parent.parent
FRAME_SECONDS = 0.02
SPEECH = bytes((0x10 + index * 7) % 0xF0 for index in range(160))

RELAY = """
import asyncio, sys
import websockets
try:
    import uvloop  # as uvicorn runs the bridge
    uvloop.install()
except ImportError:
    pass

async def relay(incoming):
    async with websockets.connect(sys.argv[2], max_queue=None, compression=None) as outgoing:
        async for message in incoming:
            await outgoing.send(message)

async def main():
    async with websockets.serve(relay, "127.0.0.1", int(sys.argv[1]), compression=None):
        await asyncio.Future()

asyncio.run(main())
"""


# The bridge's server under cProfile: uvicorn run in-process, told to exit after a while.
PROFILED_SERVER = """
import cProfile, sys, threading
import uvicorn
server = uvicorn.Server(uvicorn.Config("callcenter.asgi:application", port=int(sys.argv[1]),
                                      log_level="warning", lifespan="off"))
threading.Timer(float(sys.argv[2]), lambda: setattr(server, "should_exit", True)).start()
cProfile.run("server.run()", sys.argv[3])
"""


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop(process, grace=0.0):
    """Stop a process this bench started (uvicorn waits for open sockets on SIGTERM)."""
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.terminate()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def percentiles(samples):
    ordered = sorted(samples)
    def at(p):
        return round(ordered[min(max(int(round(p / 100 * len(ordered) + 0.5)) - 1, 0), len(ordered) - 1)] * 1000, 2)
    return {"p50": at(50), "p95": at(95), "p99": at(99), "max": round(ordered[-1] * 1000, 2)}


def prepare_calls(env, count, customer_url):
    """Migrate a fresh SQLite database and create `count` answered Vobiz calls; their bridge URLs."""
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True,
                   stderr=subprocess.DEVNULL)
    code = f"""
import json, django
django.setup()
from calls.media import bridge
from calls.models import Call, CarrierKind
from calls.streams import parse_stream
from tenants.models import Organization
org = Organization.objects.create(name="Bench")
stream = parse_stream(json.dumps({{"stream": {{"url": {customer_url!r}, "codec": "PCMA"}}}}))
calls = [Call.objects.create(organization=org, from_number="+918000000001", to_number="+918000000002",
         carrier=CarrierKind.VOBIZ, status="in_progress", stream=stream) for _ in range({count})]
print(json.dumps([[bridge.bridge_url(call), str(call.call_uuid)] for call in calls]))
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


class Customer:
    """The customer's media server: each stream's receipt times, in order, by the callId of its start."""

    def __init__(self):
        self.index_of = {}  # callId -> client index
        self.arrivals = {}  # client index -> receipt times

    async def handle(self, ws):
        index = None
        try:
            async for raw in ws:
                received = time.perf_counter()
                message = json.loads(raw)
                if message["event"] == "start":
                    index = self.index_of[message["callId"]]
                elif message["event"] == "media" and index is not None:
                    self.arrivals.setdefault(index, []).append(received)
        except websockets.ConnectionClosed:
            pass


async def run_streams(urls, seconds, start_message, media_message, customer, wait_open):
    """Open one client per URL, then send a frame every 20 ms on each for `seconds`."""
    sockets = []
    for batch in range(0, len(urls), 25):
        sockets += await asyncio.gather(*(websockets.connect(url, open_timeout=30, compression=None) for url in urls[batch:batch + 25]))
    await asyncio.sleep(wait_open)  # the bridge opens its side to the customer
    sent = {index: [] for index in range(len(sockets))}
    for index, ws in enumerate(sockets):
        await ws.send(json.dumps(start_message(index)))
    await asyncio.sleep(0.5)

    async def pump(index, ws):
        next_at = time.perf_counter()
        chunk = 0
        deadline = next_at + seconds
        while next_at < deadline:
            chunk += 1
            sent[index].append(time.perf_counter())
            await ws.send(json.dumps(media_message(index, chunk)))
            next_at += FRAME_SECONDS
            await asyncio.sleep(max(next_at - time.perf_counter(), 0))

    await asyncio.gather(*(pump(index, ws) for index, ws in enumerate(sockets)))
    await asyncio.sleep(1.0)  # the last frames arrive
    for ws in sockets:
        await ws.close()
    latencies, lost = [], 0
    for index, sent_times in sent.items():
        received_times = customer.arrivals.get(index, [])
        lost += max(len(sent_times) - len(received_times), 0)
        latencies += [received - sent_at for sent_at, received in zip(sent_times, received_times)]
    return latencies, lost, sum(len(times) for times in sent.values())


async def measure(urls, seconds, customer, wait_open, *, bridged):
    def start(index):
        if bridged:
            return {"event": "start", "start": {"streamId": f"vobiz-{index}", "callId": f"v-{index}",
                                                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000}}}
        return {"event": "start", "streamId": f"vobiz-{index}", "callId": f"relay-{index}"}

    def media(index, chunk):
        return {"event": "media", "streamId": f"vobiz-{index}",
                "media": {"track": "inbound", "timestamp": str(chunk * 20), "chunk": chunk,
                          "payload": base64.b64encode(SPEECH).decode()}}

    return await run_streams(urls, seconds, start, media, customer, wait_open)


def report(name, latencies, lost, total):
    figures = percentiles(latencies) if latencies else {}
    print(f"{name}: frames sent {total}, measured {len(latencies)}, lost {lost}, latency ms {figures}")
    return figures


async def main_async(args):
    with tempfile.TemporaryDirectory() as scratch:
        customer = Customer()
        async with websockets.serve(customer.handle, "127.0.0.1", 0, max_queue=None, compression=None) as server:
            customer_url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/media"
            env = {**os.environ, "DATABASE_URL": f"sqlite:///{scratch}/bench.sqlite3",
                   "ALLOW_PRIVATE_WEBHOOK_URLS": "1", "DJANGO_SETTINGS_MODULE": "callcenter.settings",
                   "LOG_LEVEL": "WARNING"}
            env.pop("REDIS_URL", None)
            port = free_port()
            env["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"
            calls = prepare_calls(env, args.streams, customer_url)
            urls = [url for url, _ in calls]
            customer.index_of = {f"relay-{index}": index for index in range(args.streams)}

            # Baseline first: the bare relay.
            relay_port = free_port()
            relay = subprocess.Popen([sys.executable, "-c", RELAY, str(relay_port), customer_url], cwd=ROOT)
            try:
                await asyncio.sleep(1.5)
                latencies, lost, total = await measure([f"ws://127.0.0.1:{relay_port}/"] * args.streams,
                                                       args.seconds, customer, 0.5, bridged=False)
                baseline = report("bare relay (websockets only)", latencies, lost, total)
            finally:
                stop(relay)

            customer.arrivals.clear()
            customer.index_of = {call_uuid: index for index, (_, call_uuid) in enumerate(calls)}
            if args.profile:
                lifetime = 4 + 2.5 + args.seconds + 2
                command = ["-c", PROFILED_SERVER, str(port), str(lifetime), args.profile]
            else:
                command = ["-m", "uvicorn", "callcenter.asgi:application", "--port", str(port),
                           "--log-level", "warning", "--lifespan", "off", "--ws", args.ws,
                           "--workers", str(args.workers)]
            web = subprocess.Popen([sys.executable, *command], cwd=ROOT, env=env)
            try:
                await asyncio.sleep(4)
                latencies, lost, total = await measure(urls, args.seconds, customer, 2.0, bridged=True)
                bridged = report(f"bridge (uvicorn x{args.workers}, mu-law -> A-law), {args.streams} streams",
                                 latencies, lost, total)
            finally:
                stop(web, grace=15 if args.profile else 0)
    print(json.dumps({"streams": args.streams, "ws": args.ws, "workers": args.workers, "seconds": args.seconds, "cpus": os.cpu_count(),
                      "load_average_at_end": os.getloadavg(), "baseline_ms": baseline, "bridge_ms": bridged}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes serving the bridge")
    parser.add_argument("--profile", help="write a cProfile of the bridge's server process to this file")
    parser.add_argument("--ws", default="auto", help="uvicorn's WebSocket implementation (auto, websockets, "
                                                    "websockets-sansio, wsproto)")
    try:
        import uvloop  # the harness's own overhead, lower for both figures alike

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
