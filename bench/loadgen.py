"""An open-loop HTTP load generator: requests leave on a fixed schedule, whatever the server does.

Latency is measured from each request's intended send time, not from when it actually left,
so a server that falls behind is charged for the queue it builds (no coordinated omission).
"""

import asyncio
import time
from collections import Counter

import aiohttp

from bench.common import percentiles


async def open_loop(url, *, rate, seconds, make_request, connections=512, on_response=None):
    """Fire `rate` requests a second for `seconds`. `make_request(i)` gives (method, path-or-url, kwargs).

    Returns throughput, status counts and p50/p95/p99 in ms from the intended send times.
    """
    total = int(rate * seconds)
    latencies = []
    statuses = Counter()
    connector = aiohttp.TCPConnector(limit=connections, force_close=False)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def fire(index, intended):
            method, target, kwargs = make_request(index)
            try:
                async with session.request(method, url + target, **kwargs) as response:
                    body = await response.read()
                    statuses[response.status] += 1
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                statuses[type(exc).__name__] += 1
                return
            finished = time.perf_counter()
            latencies.append(finished - intended)
            if on_response is not None:
                on_response(index, intended, response.status, body)

        pending = []
        start = time.perf_counter() + 0.05
        for index in range(total):
            intended = start + index / rate
            delay = intended - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            pending.append(asyncio.create_task(fire(index, intended)))
        await asyncio.gather(*pending)
        elapsed = time.perf_counter() - start
    ok = sum(count for status, count in statuses.items() if isinstance(status, int) and status < 400)
    return {
        "target_rps": rate,
        "achieved_rps": round(ok / elapsed, 1),
        "requests": total,
        "ok": ok,
        "statuses": dict(statuses),
        **percentiles(latencies),
    }
