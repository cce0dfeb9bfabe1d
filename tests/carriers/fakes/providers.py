"""The four providers, each checking requests against its documentation (docs/providers.md)."""

import base64
import hashlib
import hmac
import re
import secrets
import uuid
from email.utils import formatdate
from urllib.parse import urlencode
from xml.etree import ElementTree

from django.conf import settings

from tests.carriers.fakes import FakeProvider, Reply

CALLBACK_EVENTS = {"initiated", "ringing", "answered", "completed"}


def path_of(url):
    """The path of a callback URL we gave the carrier; it must be built on PUBLIC_BASE_URL."""
    assert url.startswith(settings.PUBLIC_BASE_URL + "/"), url
    return url[len(settings.PUBLIC_BASE_URL):]


def post_form(client, url, params, headers=None):
    return client.post(path_of(url), urlencode(params), content_type="application/x-www-form-urlencoded",
                       headers=headers or {})


class FakeVobiz(FakeProvider):
    """Vobiz API v1: PascalCase paths with trailing slashes, X-Auth-ID/X-Auth-Token, JSON.

    See docs/providers.md, "Vobiz".
    """

    auth_id = "MA_TESTACCOUNT01"
    auth_token = "vobiz-token-never-shown-7f3a"

    def __init__(self):
        super().__init__()
        self.calls = {}  # request_uuid -> the body that placed it

    @property
    def base_url(self):
        return self.root + "/api/v1"

    def handle(self, seen):
        route = r"/api/v1/{}/[^/]+/{}(/[^/]+)?/?"
        if re.fullmatch(route.format("account", "call"), seen.path, re.IGNORECASE) and not re.fullmatch(
            route.format("Account", "Call"), seen.path
        ):
            return self.refuse(401, "path casing", {"error": "authentication failed"})
        if seen.headers.get("X-Auth-ID") != self.auth_id or seen.headers.get("X-Auth-Token") != self.auth_token:
            return self.refuse(401, "bad auth headers", {"error": "authentication failed"})
        if seen.method == "POST" and (match := re.fullmatch(r"/api/v1/Account/([^/]+)/Call/", seen.path)):
            if match[1] != self.auth_id:
                return self.refuse(404, "unknown auth_id")
            if seen.content_type != "application/json":
                return self.refuse(400, "body is not JSON")
            body = seen.json()
            problem = self.require(body, ("from", "to", "answer_url"))
            if not problem and not (body["from"].isdigit() and body["to"].isdigit()):
                problem = "from/to must be E.164 digits"
            if not problem and body.get("answer_method", "POST") not in ("GET", "POST"):
                problem = "bad answer_method"
            if problem:
                return self.refuse(400, problem)
            request_uuid = str(uuid.uuid4())
            self.calls[request_uuid] = body
            return Reply(200, {"api_id": str(uuid.uuid4()), "message": "Call fired", "request_uuid": request_uuid})
        if seen.method == "DELETE" and (match := re.fullmatch(r"/api/v1/Account/([^/]+)/Call/([^/]+)/", seen.path)):
            return Reply(204) if match[2] in self.calls else Reply(404, {"error": "call not found"})
        return self.refuse(404, f"no route {seen.method} {seen.path}")

    def sign(self, url, nonce, token=None):
        key = (token or self.auth_token).encode()
        digest = hmac.new(key, f"{url.split('?')[0]}.{nonce}".encode(), hashlib.sha256).digest()
        return {"X-Vobiz-Signature-V3": base64.b64encode(digest).decode(), "X-Vobiz-Signature-V3-Nonce": nonce}

    def callback(self, client, url, params, *, nonce=None, headers=None):
        """POST a callback as Vobiz does: form-encoded and signed with a fresh 20-digit nonce."""
        nonce = nonce or "".join(secrets.choice("0123456789") for _ in range(20))
        return post_form(client, url, params, headers if headers is not None else self.sign(url, nonce))

    def follow(self, client, response, request_uuid):
        """Do what Vobiz does with <Wait/><Redirect>: ask the Redirect's URL again (Event=Redirect)."""
        redirect = ElementTree.fromstring(response.content).find("Redirect")
        if redirect is None:
            self.problems.append("expected a <Redirect> to follow")
            return response
        return self.callback(client, redirect.text, self.params(request_uuid, "Redirect"))

    def params(self, request_uuid, event, **extra):
        body = self.calls[request_uuid]
        base = {"From": body["from"], "To": body["to"], "RequestUUID": request_uuid,
                "ALegRequestUUID": request_uuid, "CallUUID": request_uuid, "Direction": "outbound",
                "SessionStart": "2026-02-02 10:00:00.00000"}
        if event == "Ring":
            return {**base, "Event": "Ring", "CallStatus": "ringing", **extra}
        if event == "Redirect":
            return {**base, "ALegUUID": request_uuid, "Event": "Redirect", "CallStatus": "in-progress", **extra}
        if event == "StartApp":
            return {**base, "ALegUUID": request_uuid, "Event": "StartApp", "CallStatus": "in-progress",
                    "STIRVerification": "Not Applicable", **extra}
        return {**base, "ALegUUID": request_uuid, "Event": "Hangup", "CallStatus": "completed",
                "StartTime": "2026-02-02 10:00:00", "EndTime": "2026-02-02 10:00:47", **extra}


class FakeCallApi(FakeProvider):
    """CallAPI: /call/2012-04-24/Accounts/{SID}/Calls.json, form-encoded, HTTP basic auth.

    See docs/providers.md, "CallAPI and Restcomm".
    """

    account_sid = "AC" + "0123456789abcdef" * 2
    auth_token = "callapi-token-never-shown-91b2"
    prefix = "/call/2012-04-24"

    def __init__(self):
        super().__init__()
        self.calls = {}
        self.sequence = {}

    @property
    def base_url(self):
        return self.root + self.prefix

    def handle(self, seen):
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if seen.headers.get("Authorization") != expected:
            return self.refuse(401, "bad basic auth")
        if seen.method != "POST":
            return self.refuse(405, f"unexpected {seen.method}")
        if seen.content_type != "application/x-www-form-urlencoded":
            return self.refuse(400, "body is not form-encoded")
        form = seen.form()
        calls = f"{self.prefix}/Accounts/{self.account_sid}/Calls"
        if seen.path == calls + ".json":
            problem = self.require(form, ("From", "To", "Url"))
            events = set(form.get("StatusCallbackEvent", "").split(","))
            if not problem and not events <= CALLBACK_EVENTS:
                problem = "StatusCallbackEvent must be a comma-separated list of initiated, ringing, answered, completed"
            if not problem and any(form.get(name, "POST") not in ("GET", "POST")
                                   for name in ("Method", "FallbackMethod", "StatusCallbackMethod")):
                problem = "methods must be GET or POST"
            if problem:
                return self.refuse(400, problem)
            sid = "CA" + uuid.uuid4().hex
            self.calls[sid] = form
            return Reply(200, {"sid": sid, "account_sid": self.account_sid, "to": form["To"], "from": form["From"],
                               "status": "queued", "direction": "outbound-api", "api_version": "2012-04-24",
                               "uri": f"/2012-04-24/Accounts/{self.account_sid}/Calls/{sid}.json"})
        if (match := re.fullmatch(re.escape(calls) + r"/(CA[0-9a-f]{32})", seen.path)) and match[1] in self.calls:
            if form.get("Status") not in ("canceled", "completed"):
                return self.refuse(400, "Status must be canceled or completed")
            return Reply(200, {"sid": match[1], "status": form["Status"]})
        return self.refuse(404, f"no route {seen.path}")

    def status(self, client, sid, call_status, sequence, *, url=None, **extra):
        """A status callback as Restcomm sends it: the voice-request params plus the progress fields."""
        form = self.calls[sid]
        params = {"CallSid": sid, "AccountSid": self.account_sid, "From": form["From"], "To": form["To"],
                  "CallStatus": call_status, "ApiVersion": "2012-04-24", "Direction": "outbound-api",
                  "Timestamp": formatdate(usegmt=True), "CallbackSource": "call-progress-events",
                  "SequenceNumber": str(sequence), **extra}
        return post_form(client, url or form["StatusCallback"], params)

    def fetch_rcml(self, client, sid):
        form = self.calls[sid]
        return post_form(client, form["Url"], {"CallSid": sid, "AccountSid": self.account_sid, "From": form["From"],
                                               "To": form["To"], "CallStatus": "in-progress",
                                               "Direction": "outbound-api", "ApiVersion": "2012-04-24"})


class FakeDidForSale(FakeProvider):
    """DIDforSale: POST .../api/V2/CallTermination/ with an apikey header and POST variables.

    See docs/providers.md, "DIDforSale".
    """

    api_key = "dfs-key-never-shown-5c1d"

    def __init__(self):
        super().__init__()
        self.calls = {}

    @property
    def base_url(self):
        return self.root + "/didforsaleapi/index.php/api/V2"

    def handle(self, seen):
        if seen.headers.get("apikey") != self.api_key:
            return self.refuse(401, "bad apikey header")
        if seen.method != "POST" or seen.path != "/didforsaleapi/index.php/api/V2/CallTermination/":
            return self.refuse(404, f"no route {seen.method} {seen.path}")
        if seen.content_type != "application/x-www-form-urlencoded":
            return self.refuse(400, "POST variables expected")
        form = seen.form()
        problem = self.require(form, ("from", "to"))
        if not problem and not set(form.get("statusCallbackEvent", "completed").split(",")) <= CALLBACK_EVENTS:
            problem = "bad statusCallbackEvent"
        if not problem and form.get("statusCallback") and not form.get("secretKey"):
            problem = "our callbacks need a secretKey"
        if problem:
            return self.refuse(400, problem)
        sid = uuid.uuid4().hex
        self.calls[sid] = form
        return Reply(200, {"status": "success", "callSid": sid})

    def status(self, client, sid, call_status, *, leg_sid=None, apikey=None, **extra):
        """A status callback; b-leg events carry their own callSid and the a-leg's as ParentCallSid."""
        form = self.calls[sid]
        params = {"Called": form["to"] if leg_sid is None else form["from"], "CallStatus": call_status,
                  "Direction": "Outbound", "callSid": leg_sid or sid, "CallbackSource": "call-progress-event",
                  "apikey": form["secretKey"] if apikey is None else apikey, **extra}
        if leg_sid:
            params["ParentCallSid"] = sid
        return post_form(client, form["statusCallback"], params)


class FakeSuperfone(FakeProvider):
    """Superfone: JSON under /superfone with X-API-Key.

    See docs/providers.md, "Superfone SFVoPI", "Superfone click-to-call".
    """

    api_key = "sf-key-never-shown-0e4c"

    def __init__(self):
        super().__init__()
        self.calls = {}

    @property
    def base_url(self):
        return self.root + "/superfone"

    def handle(self, seen):
        if not seen.headers.get("X-API-Key"):
            return self.refuse(401, "no key", {"message": "UnAuthorized, Please Provide API Key"})
        if seen.headers["X-API-Key"] != self.api_key:
            return self.refuse(401, "bad key", {"message": "UnAuthorized, Please Provide Valid API Key"})
        if seen.method == "POST" and seen.path == "/superfone/sfvopi/calls":
            if seen.content_type != "application/json":
                return self.refuse(400, "not JSON", {"message": "Invalid request body"})
            body = seen.json()
            problem = self.require(body, ("from", "to", "answer_url"))
            if not problem and not all(re.fullmatch(r"\+\d{8,15}", body[k]) for k in ("from", "to")):
                problem = "numbers must be E.164"
            if problem:
                return self.refuse(400, problem, {"message": "Invalid request body"})
            request_uuid = "sfv_ob_req_" + secrets.token_hex(6)
            self.calls[request_uuid] = body
            return Reply(200, {"data": {"request_uuid": request_uuid, "status": "queued"}, "message": "success"})
        if seen.method == "GET" and seen.path == "/superfone/api/customer/click-2-call":
            query = {key: values[0] for key, values in seen.query.items()}
            if not all(re.fullmatch(r"\+\d{8,15}", query.get(k, "")) for k in ("customer_number", "user_number")):
                return self.refuse(400, "bad numbers", {"message": "Invalid request"})
            if query.get("call_action", "START") not in ("START", "END"):
                return self.refuse(400, "bad call_action", {"message": "Invalid request"})
            return Reply(200, {"data": {"notificationID": 12345, "sentSuccess": True}, "message": "success"})
        return self.refuse(404, f"no route {seen.method} {seen.path}")

    def webhook(self, client, request_uuid, kind, **fields):
        body = self.calls[request_uuid]
        payload = {"call_uuid": "call-uuid-1738491600-abc123", "request_uuid": request_uuid, "from": body["from"],
                   "to": body["to"], "direction": "OUTBOUND", **fields}
        return client.post(path_of(body[f"{kind}_url"]), payload, content_type="application/json")
