"""Live push: from a status change to the message arriving at 100 and 500 open WebSockets.

The sockets are supervisors' wallboards (/ws/wallboard/, logged in by a Django session
cookie), so every socket is in the organization's group and each change fans out to all
of them. The change is a real lifecycle.transition in this process; its push leaves after
commit through Redis (channels_redis) to the web processes, which write it to the sockets.
Latency runs from just before transition() is called to the socket's receipt.

    python -m bench.bench_push [--sockets 100,500] [--changes 20]
"""

import argparse
import asyncio
import json
import time

import websockets

from bench.common import Stack, percentiles, print_machine


def session_cookie(username):
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore

    user = get_user_model().objects.get(username=username)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return f"sessionid={session.session_key}"


def make_calls(tenant, count):
    from calls.models import Call, SfvopiApp

    app = SfvopiApp.objects.get(app_id=tenant["app_id"])
    calls = Call.objects.bulk_create(
        Call(organization_id=app.organization_id, app=app, from_number=tenant["from_number"],
             to_number="+919800000018", carrier_call_id=f"sbx-bench-{index}")
        for index in range(count)
    )  # fmt: skip
    return [(call.pk, call.request_uuid) for call in calls]


def change(call_id):
    from django.db import close_old_connections

    from calls import lifecycle
    from calls.models import CallStatus

    lifecycle.transition(call_id, CallStatus.RINGING, source="bench")
    close_old_connections()


class Clients:
    def __init__(self, url, headers):
        self.url, self.headers = url, headers
        self.sockets, self.readers = [], []
        self.arrivals = {}  # request_uuid -> [receipt times]

    async def open(self, count, batch=50):
        while len(self.sockets) < count:
            todo = min(batch, count - len(self.sockets))
            opened = await asyncio.gather(
                *(websockets.connect(self.url, additional_headers=self.headers, open_timeout=30) for _ in range(todo))
            )
            for socket in opened:
                self.sockets.append(socket)
                self.readers.append(asyncio.create_task(self.read(socket)))

    async def read(self, socket):
        try:
            async for raw in socket:
                received = time.perf_counter()
                self.arrivals.setdefault(json.loads(raw)["call"]["request_uuid"], []).append(received)
        except websockets.ConnectionClosed:
            pass

    async def close(self):
        await asyncio.gather(*(socket.close() for socket in self.sockets), return_exceptions=True)
        for reader in self.readers:
            reader.cancel()


async def measure(clients, calls, interval):
    started = {}
    for call_id, request_uuid in calls:
        started[request_uuid] = time.perf_counter()
        await asyncio.to_thread(change, call_id)
        await asyncio.sleep(interval)
    await asyncio.sleep(2)
    delays, missing = [], 0
    for request_uuid, at in started.items():
        got = clients.arrivals.get(request_uuid, [])
        missing += len(clients.sockets) - len(got)
        delays.extend(t - at for t in got)
    return {"changes": len(calls), "deliveries": len(delays), "missing": missing, **percentiles(delays)}


async def run(stack, cookie, calls, counts, changes, interval):
    host = stack.base.removeprefix("http://")
    clients = Clients(f"ws://{host}/ws/wallboard/", {"Cookie": cookie, "Origin": stack.base})
    results = []
    for count in counts:
        opened_at = time.perf_counter()
        await clients.open(count)
        opened_s = round(time.perf_counter() - opened_at, 1)
        await asyncio.sleep(1)
        batch, calls = calls[:changes], calls[changes:]
        result = await measure(clients, batch, interval)
        result.update(sockets=len(clients.sockets), connect_s=opened_s, web_rss_mb=sorted(stack.web_rss().values()))
        print(json.dumps(result), flush=True)
        results.append(result)
    await clients.close()
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sockets", default="100,500")
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between status changes")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--layer", default="core", choices=["core", "pubsub"], help="REDIS_CHANNEL_LAYER")
    args = parser.parse_args()
    print_machine()
    counts = [int(n) for n in args.sockets.split(",")]
    with Stack("push", web_workers=args.web_workers, env={"REDIS_CHANNEL_LAYER": args.layer}) as stack:
        tenant = stack.demo()
        cookie = session_cookie(tenant["supervisor_username"])
        calls = make_calls(tenant, args.changes * len(counts))
        stack.start()
        print(f"server: uvicorn --workers {args.web_workers} + manage.py worker; channel layer "
              f"channels_redis ({args.layer}) at {stack.env['REDIS_URL']}", flush=True)  # fmt: skip
        results = asyncio.run(run(stack, cookie, calls, counts, args.changes, args.interval))

    print(f"\n## Live push: status change -> message at every open wallboard socket (Redis, {args.layer} layer)")
    for r in results:
        print(f"{r['sockets']:>4} sockets: p50 {r['p50']} ms, p95 {r['p95']} ms, p99 {r['p99']} ms over "
              f"{r['deliveries']} deliveries of {r['changes']} changes, missing {r['missing']}; "
              f"web RSS {r['web_rss_mb']} MB (target p95 <= 100 ms at 500)")  # fmt: skip


if __name__ == "__main__":
    main()
