"""Carrier callbacks: how many the web server ingests per second, and callback -> customer webhook.

The callbacks are CallAPI/Restcomm status callbacks (form-encoded POSTs to
/webhooks/callapi/<token>/<request_uuid>/status/), the HTTP path every real carrier's
progress takes: token lookup, call lookup, lifecycle.transition, outbox row, task enqueue.
(The sandbox's reports are in-process task calls, not HTTP, so they would skip the
ingestion path.) Restcomm signs nothing, so no signature work flatters or burdens it.
Each callback reports "ringing" for a different queued call, which owes the customer a
ring webhook; a local receiver records when each webhook arrives. The bare JSON view is
then driven the same way by the same processes, and the ratio printed.

    python -m bench.bench_callbacks [--rate 40] [--seconds 8] [--saturation-seconds 10] [--worker-interval 0.05]

--worker-interval sets the worker's poll (TASK_WORKER_INTERVAL); an idle worker is woken
as soon as a task is committed (calls/wakeup.py), so the poll should not show in the latency.
"""

import argparse
import asyncio
import json
import os
import tempfile
import time

from aiohttp import web

from bench.common import ROOT, Stack, ensure_wrk, free_port, percentiles, print_machine, run_wrk
from bench.loadgen import open_loop

FORM = "CallSid={sid}&CallStatus=ringing&SequenceNumber=1&AccountSid=AC1"


class Receiver:
    """The customer's webhook server: notes when each ring webhook arrives (perf_counter)."""

    def __init__(self, port):
        self.arrivals = {}
        self.port = port

    async def start(self):
        async def handle(request):
            arrived = time.perf_counter()
            body = await request.json()
            self.arrivals.setdefault(body.get("request_uuid"), arrived)
            return web.json_response({"ok": True})

        app = web.Application()
        app.router.add_post("/{tail:.*}", handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self):
        await self.runner.cleanup()


def make_calls(tenant, account, count, receiver_url):
    from calls.models import Call, CarrierKind, SfvopiApp

    app = SfvopiApp.objects.get(app_id=tenant["app_id"])
    calls = Call.objects.bulk_create(
        (
            Call(organization_id=app.organization_id, app=app, from_number=tenant["from_number"],
                 to_number="+919800000011", carrier=CarrierKind.CALLAPI, carrier_account=account,
                 carrier_call_id=f"CA{index:032d}", ring_url=f"{receiver_url}/ring",
                 hangup_url=f"{receiver_url}/hangup")
            for index in range(count)
        ),
        batch_size=2000,
    )  # fmt: skip
    return [(call.request_uuid, call.carrier_call_id) for call in calls]


def prepare(tenant, args, receiver_url):
    from calls.models import CarrierAccount, CarrierKind

    account = CarrierAccount.objects.create(
        organization_id=tenant["organization_id"], name="bench CallAPI", kind=CarrierKind.CALLAPI,
        base_url="http://127.0.0.1:9/call/2012-04-24", credentials={"account_sid": "AC1", "auth_token": "x"},
        is_default=False,
    )  # fmt: skip
    paced = make_calls(tenant, account, int(args.rate * args.seconds), receiver_url)
    saturated = make_calls(tenant, account, args.saturation_calls, receiver_url)
    return f"/webhooks/callapi/{account.callback_token}", paced, saturated


async def run(stack, args, receiver, prefix, paced, saturated):
    await receiver.start()
    # 1. Callback -> customer webhook at a fixed rate.
    sent = {}

    def request(index):
        uuid, sid = paced[index]
        return "POST", f"{prefix}/{uuid}/status/", {
            "data": FORM.format(sid=sid), "headers": {"Content-Type": "application/x-www-form-urlencoded"}
        }

    def on_response(index, intended, status, body):
        sent[paced[index][0]] = intended

    paced_result = await open_loop(stack.base, rate=args.rate, seconds=args.seconds, make_request=request,
                                   on_response=on_response)  # fmt: skip
    deadline = time.perf_counter() + 15
    while len(receiver.arrivals) < len(sent) and time.perf_counter() < deadline:
        await asyncio.sleep(0.1)
    delays = [receiver.arrivals[uuid] - at for uuid, at in sent.items() if uuid in receiver.arrivals]
    webhook = {"callbacks": len(sent), "webhooks_arrived": len(delays), **percentiles(delays)}

    # 2. Ingestion at saturation (wrk), each request for a call not yet reported on.
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as paths:
        paths.write("\n".join(f"{prefix}/{uuid}/status/" for uuid, _ in saturated))
    await asyncio.to_thread(stack.wait_worker_idle)
    arrived_before = len(receiver.arrivals)
    process = await asyncio.create_subprocess_exec(
        ensure_wrk(), "-t1", "-c32", f"-d{args.saturation_seconds}s", "-s", str(ROOT / "bench" / "callback.lua"),
        stack.base, stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "BENCH_PATHS": paths.name, "BENCH_FORM": FORM.format(sid="CA1")},
    )  # fmt: skip
    out, _ = await process.communicate()
    os.unlink(paths.name)
    line = next(line for line in out.decode().splitlines() if line.startswith("WRK_JSON "))
    ingest = json.loads(line.removeprefix("WRK_JSON "))
    ingest["callbacks_per_s"] = round((ingest["requests"] - ingest["non2xx"]) / ingest["seconds"], 1)
    drain_started = time.perf_counter()
    await asyncio.to_thread(stack.wait_worker_idle, 120)
    ingest["webhooks_sent"] = len(receiver.arrivals) - arrived_before
    ingest["worker_drain_s"] = round(time.perf_counter() - drain_started, 1)
    await receiver.stop()

    # 3. The baseline: the bare JSON view, served by the same processes the same way.
    bare = await asyncio.to_thread(
        run_wrk, stack.base + "/bench/bare/", "post.lua", seconds=args.saturation_seconds,
        env={"BENCH_BODY": "{}", "BENCH_API_KEY": ""},
    )  # fmt: skip
    return paced_result, webhook, ingest, bare


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=40)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--saturation-seconds", type=int, default=10)
    parser.add_argument("--saturation-calls", type=int, default=8000)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--worker-interval", default="0.05", help="TASK_WORKER_INTERVAL of the worker process")
    args = parser.parse_args()
    print_machine()
    with Stack("callbacks", web_workers=args.web_workers, env={"TASK_WORKER_INTERVAL": args.worker_interval}) as stack:
        tenant = stack.demo()
        from tenants.models import Organization

        tenant["organization_id"] = Organization.objects.get(name=tenant["organization"]).pk
        stack.start()
        print(f"server: uvicorn --workers {args.web_workers} + manage.py worker "
              f"(TASK_WORKER_THREADS={stack.env['TASK_WORKER_THREADS']}, "
              f"TASK_WORKER_INTERVAL={stack.env['TASK_WORKER_INTERVAL']})", flush=True)  # fmt: skip
        receiver = Receiver(free_port())
        prefix, paced_calls, saturated_calls = prepare(tenant, args, f"http://127.0.0.1:{receiver.port}")
        paced, webhook, ingest, bare = asyncio.run(run(stack, args, receiver, prefix, paced_calls, saturated_calls))

    print("\n## Carrier callbacks (CallAPI/Restcomm status callbacks, form-encoded)")
    print(f"paced at {args.rate:g}/s for {args.seconds:g} s: callback answered p50 {paced['p50']} ms, "
          f"p95 {paced['p95']} ms, p99 {paced['p99']} ms; statuses {paced['statuses']}")
    print(f"callback -> customer ring webhook arrives: p50 {webhook['p50']} ms, p95 {webhook['p95']} ms, "
          f"p99 {webhook['p99']} ms ({webhook['webhooks_arrived']}/{webhook['callbacks']} arrived; target p95 <= 50 ms)")
    print(f"ingestion at saturation (wrk -t1 -c32, {args.saturation_seconds} s): {ingest['callbacks_per_s']} callbacks/s, "
          f"p50 {ingest['p50']} ms, p99 {ingest['p99']} ms, non-2xx {ingest['non2xx']}, reused calls {ingest['wrapped']}; "
          f"{ingest['webhooks_sent']} webhooks sent, worker drained {ingest['worker_drain_s']} s after")  # fmt: skip
    print(f"bare JSON view at saturation (wrk -t1 -c32, {args.saturation_seconds} s): {bare['rps']} req/s")
    print(f"callbacks / bare throughput at saturation: {ingest['callbacks_per_s'] / bare['rps']:.0%} (target >= 50%)")


if __name__ == "__main__":
    main()
