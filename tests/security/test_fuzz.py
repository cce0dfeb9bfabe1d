"""Random paths, queries and bodies against every door: none may answer 5xx.

Runs in both suite passes (SQLite and PostgreSQL); PostgreSQL is where NUL bytes and
out-of-range values used to reach the database and fail there.
"""

import json
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.security.conftest import client_for

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)

text = st.text(max_size=40)  # any code point, controls and NUL included
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4), max_leaves=20
)
call_bodies = st.fixed_dictionaries(
    {}, optional={"from": text, "to": text, "answer_url": text, "answer_method": text, "ring_url": text,
                  "hangup_url": text, "time_limit": scalars, "customer_number": text, "agent_number": text}
) | json_values
segment = text.map(lambda value: quote(value, safe=""))
queries = st.dictionaries(st.sampled_from(["page", "page_size", "cursor", "status", "from_number", "created_after",
                                           "agent", "app", "q", "customer_number", "agent_number"]), text, max_size=4)


def _no_5xx(response):
    assert response.status_code < 500, response.content[:300]


def _body(value):
    try:
        return json.dumps(value)
    except ValueError:
        return "{"


@FUZZ
@given(path=st.sampled_from(["/superfone/sfvopi/calls", "/superfone/sfvopi/apps", "/api/v1/calls", "/api/v1/apps",
                             "/api/v1/agents", "/api/v1/numbers", "/api/v1/recordings"]),
       body=call_bodies, query=queries)
def test_api_collections_never_answer_5xx(tenant, path, body, query):
    api = tenant.api
    api.raise_request_exception = False
    _no_5xx(api.get(path, query))
    _no_5xx(api.post(path, _body(body), content_type="application/json"))


@FUZZ
@given(prefix=st.sampled_from(["/superfone/sfvopi/calls/", "/superfone/sfvopi/apps/", "/api/v1/calls/", "/api/v1/apps/",
                               "/api/v1/agents/", "/api/v1/numbers/", "/api/v1/webhook-deliveries/",
                               "/api/v1/recordings/"]),
       ident=segment, tail=st.sampled_from(["", "/hangup", "/numbers", "/link", "/redeliver", "/webhook-secret",
                                            "/audio"]),
       method=st.sampled_from(["get", "post", "patch", "delete", "put"]), body=json_values)
def test_api_items_never_answer_5xx(tenant, prefix, ident, tail, method, body):
    api = tenant.api
    api.raise_request_exception = False
    if method == "get":
        _no_5xx(api.get(prefix + ident + tail))
    else:
        _no_5xx(getattr(api, method)(prefix + ident + tail, _body(body), content_type="application/json"))


@FUZZ
@given(query=queries, body=call_bodies)
def test_click_to_call_never_answers_5xx(tenant, agent, query, body):
    api = tenant.api
    api.raise_request_exception = False
    _no_5xx(api.get("/superfone/api/customer/click-2-call", query))
    _no_5xx(api.post("/superfone/api/customer/click-2-call", _body(body), content_type="application/json"))


@FUZZ
@given(body=call_bodies, raw=st.binary(max_size=200))
def test_console_endpoints_never_answer_5xx(agent, supervisor, body, raw):
    agent_client, supervisor_client = client_for(agent.user), client_for(supervisor)
    for path in ("/console/start", "/console/end"):
        _no_5xx(agent_client.post(path, _body(body), content_type="application/json"))
        _no_5xx(agent_client.post(path, raw, content_type="application/json"))
    for path in ("/console/state", "/wallboard/state"):
        _no_5xx(agent_client.get(path))
        _no_5xx(supervisor_client.get(path))


@FUZZ
@given(kind=st.sampled_from(["vobiz", "superfone", "callapi", "didforsale", "sandbox"]),
       token=st.booleans(), uuid=segment, event=st.sampled_from(["answer", "ring", "hangup", "status", "x"]),
       body=json_values, form=st.dictionaries(text, text, max_size=4), query=st.dictionaries(text, text, max_size=3))
def test_carrier_callbacks_never_answer_5xx(vobiz_account, kind, token, uuid, event, body, form, query):
    client = client_for()
    path = f"/webhooks/{kind}/{vobiz_account.callback_token if token else 'nope'}/{uuid or 'x'}/{event}/"
    _no_5xx(client.post(path, _body(body), content_type="application/json"))
    _no_5xx(client.post(path, form))
    _no_5xx(client.get(path, query))
