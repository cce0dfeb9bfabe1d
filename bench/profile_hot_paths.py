"""Profiles of the hot paths, in process, on a fresh PostgreSQL database with Redis.

For each path: the SQL queries one request makes (to catch N+1s), the mean time per
request, and a pyinstrument profile of a few hundred requests. Also times the API-key check.

    python -m bench.profile_hot_paths [--requests 300] [--html DIR]
"""

import argparse
import json
import time
from collections import Counter
from pathlib import Path

from bench.common import Stack, print_machine

TO_NUMBER = "+919800000015"
NOWHERE = "http://127.0.0.1:9"


def query_summary(captured):
    kinds = Counter(q["sql"].split()[0].upper() for q in captured)
    return {"queries": len(captured), **kinds}


def profile(name, function, count, html_dir, chars=6000):
    from pyinstrument import Profiler

    function(0)  # warm-up: imports, first connection
    profiler = Profiler(interval=0.0005)
    started = time.perf_counter()
    with profiler:
        for index in range(1, count + 1):
            function(index)
    mean_ms = (time.perf_counter() - started) / count * 1000
    print(f"\n### {name}: {mean_ms:.2f} ms per request in process (under the profiler)")
    print(profiler.output_text(unicode=False, color=False, show_all=False, short_mode=False)[:chars])
    if html_dir:
        Path(html_dir).mkdir(parents=True, exist_ok=True)
        Path(html_dir, f"{name}.html").write_text(profiler.output_html())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--html", default="", help="write pyinstrument HTML profiles into this folder")
    parser.add_argument("--chars", type=int, default=6000, help="how much of each text profile to print")
    args = parser.parse_args()
    print_machine()

    with Stack("profile", worker=False) as stack:
        tenant = stack.demo()
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        from calls.models import Call, CallStatus, CarrierAccount, CarrierKind
        from tenants.auth import api_key_lookup

        client = Client(HTTP_HOST="127.0.0.1")
        body = json.dumps({
            "from": tenant["from_number"], "to": TO_NUMBER,
            "answer_url": f"{NOWHERE}/answer", "hangup_url": f"{NOWHERE}/hangup",
        })  # fmt: skip
        headers = {"HTTP_X_API_KEY": tenant["api_key"]}

        def create(_):
            response = client.post("/superfone/sfvopi/calls", body, content_type="application/json", **headers)
            assert response.status_code == 200, response.content

        # Callbacks: CallAPI/Restcomm status callbacks for existing calls of a CallAPI account.
        call0 = Call.objects.first()
        account = CarrierAccount.objects.create(
            organization_id=call0.organization_id if call0 else 1, name="bench callapi", kind=CarrierKind.CALLAPI,
            base_url="http://127.0.0.1:9/call/2012-04-24", is_default=False,
            credentials={"account_sid": "AC1", "auth_token": "t"},
        )  # fmt: skip
        from calls.models import SfvopiApp

        app = SfvopiApp.objects.get(app_id=tenant["app_id"])
        calls = Call.objects.bulk_create(
            Call(organization_id=app.organization_id, app=app, from_number=tenant["from_number"], to_number=TO_NUMBER,
                 carrier=CarrierKind.CALLAPI, carrier_account=account, carrier_call_id=f"CA{i:032d}",
                 ring_url=f"{NOWHERE}/ring", hangup_url=f"{NOWHERE}/hangup")
            for i in range(args.requests + 1)
        )  # fmt: skip

        def callback(index):
            call = calls[index]
            response = client.post(
                f"/webhooks/callapi/{account.callback_token}/{call.request_uuid}/status/",
                {"CallSid": call.carrier_call_id, "CallStatus": "ringing", "SequenceNumber": "1"},
            )
            assert response.status_code == 204, response.content

        def transition(index):
            from calls import lifecycle

            lifecycle.transition(calls[index].pk, CallStatus.COMPLETED, source="bench", duration=0)

        for name, function, index in (("create_call", create, 0), ("carrier_callback", callback, args.requests)):
            function(0) if name == "create_call" else None  # warm-up outside the capture
            with CaptureQueriesContext(connection) as captured:
                function(index)
            print(f"{name} SQL per request: {query_summary(captured.captured_queries)}")
            for query in captured.captured_queries:
                print("   ", query["sql"][:160])
        Call.objects.filter(pk=calls[args.requests].pk).update(status=CallStatus.QUEUED)

        profile("create_call", create, args.requests, args.html, args.chars)
        profile("carrier_callback", callback, args.requests - 1, args.html, args.chars)
        profile("lifecycle_transition_to_completed", transition, args.requests - 1, args.html, args.chars)

        # The API-key check: one indexed query and a SHA-512; last_used_at is written at most once a minute.
        raw = tenant["api_key"]
        api_key_lookup(raw)
        rounds = 2000
        started = time.perf_counter()
        for _ in range(rounds):
            assert api_key_lookup(raw) is not None
        per_check = (time.perf_counter() - started) / rounds * 1000
        started = time.perf_counter()
        for _ in range(rounds):
            assert api_key_lookup(raw[:-1] + ("x" if raw[-1] != "x" else "y")) is None
        per_bad = (time.perf_counter() - started) / rounds * 1000
        print(f"\nAPI-key check (tenants.auth.api_key_lookup): {per_check:.3f} ms valid key, "
              f"{per_bad:.3f} ms wrong key (mean of {rounds}; target well under 1 ms)")  # fmt: skip


if __name__ == "__main__":
    main()
