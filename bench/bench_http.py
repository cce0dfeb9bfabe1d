"""POST /superfone/sfvopi/calls beside a bare Django JSON view on the same server.

Fixed rates (open loop, latency from the intended send time) and saturation (wrk), then
the ratio create-call / bare, and the web processes' resident memory.

    python -m bench.bench_http [--seconds 8] [--rates 50,200,500] [--web-workers 2]
"""

import argparse
import asyncio
import json
import os
import threading
import time

from bench.common import Stack, cpu_split, print_machine, run_wrk
from bench.loadgen import open_loop

# Ends in 5: the sandbox answers busy at once, so each call costs the worker little and
# the figures are about accepting calls. Port 9 has no listener: webhooks fail fast.
TO_NUMBER = "+919800000015"
NOWHERE = "http://127.0.0.1:9"


class RssSampler(threading.Thread):
    def __init__(self, stack):
        super().__init__(daemon=True)
        self.stack, self.peak, self.running = stack, {}, True

    def run(self):
        while self.running:
            for pid, mb in self.stack.web_rss().items():
                self.peak[pid] = max(self.peak.get(pid, 0), mb or 0)
            time.sleep(0.5)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--rates", default="50,200,500")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--saturation-seconds", type=int, default=10)
    args = parser.parse_args()
    print_machine()

    with Stack("http", web_workers=args.web_workers) as stack:
        tenant = stack.demo()
        stack.start()
        print(f"server: uvicorn callcenter.asgi:application --workers {args.web_workers} (+ manage.py worker); "
              f"PostgreSQL db {stack.db}, Redis {stack.env['REDIS_URL']}", flush=True)
        body = json.dumps({
            "from": tenant["from_number"], "to": TO_NUMBER,
            "answer_url": f"{NOWHERE}/answer", "hangup_url": f"{NOWHERE}/hangup",
        })  # fmt: skip
        headers = {"X-API-Key": tenant["api_key"], "Content-Type": "application/json"}
        endpoints = {"bare": "/bench/bare/", "create_call": "/superfone/sfvopi/calls"}
        sampler = RssSampler(stack)
        sampler.start()
        idle_rss = stack.web_rss()

        rows = []
        for rate in [int(r) for r in args.rates.split(",")]:
            for name, path in endpoints.items():
                waited = stack.wait_worker_idle()
                result = asyncio.run(
                    open_loop(stack.base, rate=rate, seconds=args.seconds,
                              make_request=lambda i, path=path: ("POST", path, {"data": body, "headers": headers}))
                )  # fmt: skip
                result.update(endpoint=name, mode=f"{rate}/s", worker_drain_s=waited)
                rows.append(result)
                print(json.dumps(result), flush=True)

        saturation = {}
        for name, path in endpoints.items():
            stack.wait_worker_idle()
            result, split = cpu_split(stack, lambda path=path: run_wrk(
                stack.base + path, "post.lua", seconds=args.saturation_seconds,
                env={"BENCH_BODY": body, "BENCH_API_KEY": tenant["api_key"]}))  # fmt: skip
            result.update(endpoint=name, mode="saturation (wrk -t1 -c32)", cores_used=split)
            saturation[name] = result
            print(json.dumps(result), flush=True)
        sampler.running = False
        sampler.join()

        print("\n## POST /superfone/sfvopi/calls vs bare JSON view")
        print(f"{'endpoint':<12} {'load':<26} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  errors")
        for row in rows:
            errors = {k: v for k, v in row["statuses"].items() if str(k) != "200"}
            print(f"{row['endpoint']:<12} {row['mode']:<26} {row['achieved_rps']:>8} {row['p50']:>8} "
                  f"{row['p95']:>8} {row['p99']:>8}  {errors or ''}")  # fmt: skip
        for name, row in saturation.items():
            print(f"{name:<12} {row['mode']:<26} {row['rps']:>8} {row['p50']:>8} {row['p95']:>8} {row['p99']:>8}"
                  f"  {row['non2xx'] + row['socket_errors'] or ''}")  # fmt: skip
        for name, row in saturation.items():
            print(f"cores busy during {name} saturation: {row['cores_used']} (of {os.cpu_count()})")
        ratio = saturation["create_call"]["rps"] / saturation["bare"]["rps"]
        print(f"create-call / bare throughput at saturation: {ratio:.0%} (target >= 50%)")
        at200 = next((r for r in rows if r["endpoint"] == "create_call" and r["mode"] == "200/s"), None)
        if at200:
            print(f"create-call p99 at 200 req/s: {at200['p99']} ms (target <= 50 ms)")
        print(f"web process RSS (MB): idle {sorted(idle_rss.values())}, peak {sorted(sampler.peak.values())} "
              f"(target <= 150 MB each)")  # fmt: skip


if __name__ == "__main__":
    main()
