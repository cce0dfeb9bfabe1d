"""Live push: from a status change to the message arriving at 100 and 500 open WebSockets.

Served as production serves it (bin/cluster): N `manage.py serve --no-worker` processes,
each on a port of its own, with the sockets spread over them in turn as a load balancer
would, and a separate `manage.py worker`. The clients are browser-like: `websockets`
offers permessage-deflate as browsers do, and the sockets are supervisors' wallboards
(/ws/wallboard/) logged in by five supervisors' session cookies, so every socket is in
the organization's group and each change fans out to all of them. The change is a real
lifecycle.transition in this process; its push leaves after commit through Redis to the
web processes, which write it to the sockets. Latency runs from just before transition()
is called to the socket's receipt.

In the same run the same number of sockets then open on a bare Channels consumer
(bench/asgi.py: joins the organization's group on channels_redis's stock core layer and
forwards the text), served by the same processes, and the same kind of status changes are
forwarded to it from this process (on commit, on a push loop of its own, not waited for).
The figures of both and their ratio are printed.

    python -m bench.bench_push [--sockets 100,500] [--changes 20] [--web-processes 2]
"""

import argparse
import asyncio
import json
import os
import threading
import time

import websockets

from bench.common import Stack, cpu_seconds, percentiles, print_machine

SUPERVISORS = 5


def session_cookie(user):
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return f"sessionid={session.session_key}"


def supervisor_cookies(tenant, count):
    """Session cookies of `count` supervisors of the tenant's organization (the demo's first)."""
    from django.contrib.auth import get_user_model

    from agents import services

    first = get_user_model().objects.get(username=tenant["supervisor_username"])
    organization = first.membership.organization
    users = [first]
    for n in range(1, count):
        users.append(services.supervisor_create(organization=organization, username=f"bench-supervisor-{n}",
                                                password="bench-password-not-used"))  # fmt: skip
    return organization.pk, [session_cookie(user) for user in users]


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


class BareForwarder:
    """While connected to lifecycle.transitioned: each committed change also goes to the bare
    consumer's group on the stock layer, handed to a loop of its own without waiting (as
    ours are), with the same frame our wallboards get."""

    def __init__(self):
        from channels.layers import get_channel_layer

        self.layer = get_channel_layer("bare")
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="bare-push", daemon=True).start()

    def __call__(self, sender, *, call, **kwargs):
        from django.db import transaction

        transaction.on_commit(lambda: self.push(call))

    def push(self, call):
        from bench.asgi import bare_group
        from calls.realtime import framed
        from calls.representations import call_public

        text = framed({"type": "call.update", "call": call_public(call)})["frame"]
        asyncio.run_coroutine_threadsafe(
            self.layer.group_send(bare_group(call.organization_id), {"type": "bare.push", "text": text}), self.loop
        )


class Clients:
    def __init__(self, urls, cookies, origin):
        self.urls, self.cookies, self.origin = urls, cookies, origin
        self.sockets, self.readers = [], []
        self.arrivals = {}  # request_uuid -> [receipt times]

    async def open(self, count, batch=50):
        while len(self.sockets) < count:
            todo = range(len(self.sockets), min(len(self.sockets) + batch, count))
            opened = await asyncio.gather(*(
                # Round robin over the web processes, and over the supervisors' sessions.
                websockets.connect(self.urls[n % len(self.urls)], open_timeout=30, compression="deflate",
                                   additional_headers={"Cookie": self.cookies[n % len(self.cookies)],
                                                       "Origin": self.origin})
                for n in todo
            ))  # fmt: skip
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


async def one_side(stack, side, urls, cookies, count, calls, interval):
    clients = Clients(urls, cookies, stack.base)
    opened_at = time.perf_counter()
    await clients.open(count)
    opened_s = round(time.perf_counter() - opened_at, 1)
    await asyncio.sleep(1)
    web = stack.web_pids()
    cpu_before = cpu_seconds(web)
    result = await measure(clients, calls, interval)
    # Web processes' CPU per change over the measuring window (the 2 s tail included).
    web_cpu_ms = round((cpu_seconds(web) - cpu_before) * 1000 / len(calls), 1)
    result.update(side=side, sockets=len(clients.sockets), connect_s=opened_s, web_cpu_ms_per_change=web_cpu_ms,
                  web_rss_mb=sorted(stack.web_rss().values()))  # fmt: skip
    await clients.close()
    await asyncio.sleep(1)
    print(json.dumps(result), flush=True)
    return result


async def run(stack, organization_id, cookies, calls, counts, changes, interval):
    from calls import lifecycle

    hosts = [base.removeprefix("http://") for base in stack.bases]
    ours = [f"ws://{host}/ws/wallboard/" for host in hosts]
    bare = [f"ws://{host}/bench/ws/bare/{organization_id}/" for host in hosts]
    forwarder = BareForwarder()
    results = []
    for count in counts:
        batch, calls = calls[:changes], calls[changes:]
        results.append(await one_side(stack, "ours", ours, cookies, count, batch, interval))
        batch, calls = calls[:changes], calls[changes:]
        lifecycle.transitioned.connect(forwarder, dispatch_uid="bench-bare")
        try:
            results.append(await one_side(stack, "bare", bare, cookies, count, batch, interval))
        finally:
            lifecycle.transitioned.disconnect(dispatch_uid="bench-bare")
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sockets", default="100,500")
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between status changes")
    parser.add_argument("--web-processes", type=int, default=2, help="manage.py serve processes (bin/cluster: 2)")
    args = parser.parse_args()
    print_machine()
    counts = [int(n) for n in args.sockets.split(",")]
    with Stack("push", web_workers=args.web_processes, web="serve") as stack:
        tenant = stack.demo()
        organization_id, cookies = supervisor_cookies(tenant, SUPERVISORS)
        calls = make_calls(tenant, 2 * args.changes * len(counts))
        stack.start()
        print(f"server: {args.web_processes} x `manage.py serve --no-worker` (ports {stack.ports}) + manage.py worker;"
              f" Redis at {stack.env['REDIS_URL']}; clients offer permessage-deflate, {SUPERVISORS} supervisors'"
              f" sessions", flush=True)  # fmt: skip
        results = asyncio.run(run(stack, organization_id, cookies, calls, counts, args.changes, args.interval))

    print(f"load average at the end: {os.getloadavg()}")
    print(f"\n## Live push: status change -> message at every open wallboard socket ({args.web_processes} web processes)")
    by_side = {(r["side"], r["sockets"]): r for r in results}
    for count in counts:
        for side, label in (("ours", "ours"), ("bare", "bare Channels consumer")):
            r = by_side[(side, count)]
            print(f"{count:>4} sockets, {label}: p50 {r['p50']} ms, p95 {r['p95']} ms, p99 {r['p99']} ms over "
                  f"{r['deliveries']} deliveries of {r['changes']} changes, missing {r['missing']}; "
                  f"web CPU {r['web_cpu_ms_per_change']} ms per change; web RSS {r['web_rss_mb']} MB")  # fmt: skip
        ours, bare = by_side[("ours", count)], by_side[("bare", count)]
        if ours["p95"] and bare["p95"]:
            print(f"{count:>4} sockets: p95 ours / bare = {ours['p95'] / bare['p95']:.2f} "
                  f"(target: p95 <= 100 ms at 500, and below the bare consumer's)")  # fmt: skip


if __name__ == "__main__":
    main()
