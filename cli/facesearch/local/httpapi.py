"""The HTTP API (API Gateway v2) stood in for by a small stdlib server, routes read from template.yaml.

Each request is matched against the template's `HttpApi` events, turned into a payload-format-2.0
event, authorised as the route says (the template's default Lambda authorizer with simple
responses, `AWS_IAM` via a SigV4 check against the local admin key, or `NONE`) and handed to the
route's function. The gateway's own answers are API Gateway's: 404 `Not Found` for an unmatched
route or method, 401 `Unauthorized` when the identity header is missing, 403 `Forbidden` when the
authorizer says no or a request is not signed by the admin key, 413 `Request Entity Too Large` over
the payload limits, 429 `Too Many Requests` beyond the stage's throttling (the template's
DefaultRouteSettings: a token bucket), 500 `Internal Server Error` when a function raises; each with
API Gateway's body `{"message": ...}` and no `code`. Binds 127.0.0.1 only.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from facesearch.local.template import ACCOUNT_ID

log = logging.getLogger(__name__)

NONE = "NONE"
AWS_IAM = "AWS_IAM"
MAX_BODY_BYTES = 10 * 1024 * 1024  # HTTP API payload quota
MAX_EVENT_BYTES = 6 * 1024 * 1024  # Lambda's synchronous invocation payload (the whole event, JSON)
_TEXT_TYPES = ("text/", "json", "xml", "javascript", "x-www-form-urlencoded", "yaml")


@dataclass(frozen=True)
class Route:
    """One `HttpApi` event: method, path template, the function behind it and its authorizer."""

    method: str
    path: str
    function_id: str
    authorizer: str  # an authorizer's logical name, AWS_IAM or NONE
    pattern: re.Pattern[str]
    literal_segments: int
    greedy: bool

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.method not in ("ANY", method):
            return None
        found = self.pattern.fullmatch(path)
        if found is None:
            return None
        return {k: unquote(v) for k, v in found.groupdict().items()}


@dataclass(frozen=True)
class AuthorizerSpec:
    """A Lambda authorizer of the HttpApi (payload 2.0, simple responses)."""

    name: str
    function_id: str
    identity_headers: tuple[str, ...]
    cache_seconds: int


class TokenBucket:
    """API Gateway's throttling: `rate` requests a second on average, bursts of up to `burst`."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self._tokens, self._at = float(burst), clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = self.clock()
            self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.rate)
            self._at = now
            if self._tokens < 1.0:
                return False
            self._tokens -= 1.0
            return True


def read_throttle(template: Mapping[str, Any]) -> tuple[float, int] | None:
    """(rate, burst) of the HttpApi's DefaultRouteSettings, or None when it sets no throttling."""
    for res in template["Resources"].values():
        if res["Type"] == "AWS::Serverless::HttpApi":
            settings = res.get("Properties", {}).get("DefaultRouteSettings", {})
            rate, burst = settings.get("ThrottlingRateLimit"), settings.get("ThrottlingBurstLimit")
            if isinstance(rate, int | float) and isinstance(burst, int):  # literal values (not parameters)
                return float(rate), burst
    return None


def _compile(path: str) -> tuple[re.Pattern[str], int, bool]:
    parts: list[str] = []
    literal = 0
    greedy = False
    for segment in path.strip("/").split("/"):
        param = re.fullmatch(r"\{([A-Za-z0-9_]+)(\+?)\}", segment)
        if param and param.group(2):
            parts.append(f"(?P<{param.group(1)}>.+)")
            greedy = True
        elif param:
            parts.append(f"(?P<{param.group(1)}>[^/]+)")
        else:
            parts.append(re.escape(segment))
            literal += 1
    return re.compile("/" + "/".join(parts)), literal, greedy


def _function_of(arn_value: Any) -> str:
    """The logical id in `!GetAtt AuthorizerFunction.Arn`."""
    if isinstance(arn_value, dict) and "Fn::GetAtt" in arn_value:
        return str(arn_value["Fn::GetAtt"][0])
    raise ValueError(f"unsupported authorizer FunctionArn {arn_value!r}")


def read_api(template: Mapping[str, Any]) -> tuple[list[Route], dict[str, AuthorizerSpec], str]:
    """Routes (most specific first), authorizers and the stage name parameter of the template's HttpApi."""
    apis = {lid: r for lid, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::HttpApi"}
    if len(apis) != 1:
        raise ValueError(f"expected one AWS::Serverless::HttpApi, found {len(apis)}")
    (api_id, api), = apis.items()
    auth = api.get("Properties", {}).get("Auth", {})
    default_auth = auth.get("DefaultAuthorizer", NONE)
    authorizers: dict[str, AuthorizerSpec] = {}
    for name, spec in auth.get("Authorizers", {}).items():
        if "FunctionArn" not in spec:
            continue
        identity = spec.get("Identity", {})
        authorizers[name] = AuthorizerSpec(
            name=name, function_id=_function_of(spec["FunctionArn"]),
            identity_headers=tuple(h.lower() for h in identity.get("Headers", [])),
            cache_seconds=int(identity.get("ReauthorizeEvery", 300)),
        )
    routes: list[Route] = []
    for lid, res in template["Resources"].items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        for event in res.get("Properties", {}).get("Events", {}).values():
            if event.get("Type") != "HttpApi":
                continue
            props = event.get("Properties", {})
            api_ref = props.get("ApiId", {}).get("Ref") if isinstance(props.get("ApiId"), dict) else None
            if api_ref not in (None, api_id):
                continue
            method = str(props.get("Method", "ANY")).upper()
            path = str(props.get("Path", "/{proxy+}"))
            authorizer = props.get("Auth", {}).get("Authorizer", default_auth)
            pattern, literal, greedy = _compile(path)
            routes.append(Route(method, path, lid, str(authorizer), pattern, literal, greedy))
    # API Gateway prefers the most specific route: no greedy variable, then more literal segments.
    routes.sort(key=lambda r: (r.greedy, -r.literal_segments, r.method == "ANY"))
    return routes, authorizers, api_id


def is_text(content_type: str) -> bool:
    content_type = content_type.lower()
    return any(t in content_type for t in _TEXT_TYPES)


def build_event(*, method: str, raw_path: str, raw_query: str, headers: Mapping[str, str], body: bytes,
                route: Route, path_parameters: Mapping[str, str], stage: str, source_ip: str,
                account_id: str = ACCOUNT_ID, api_id: str = "local") -> dict[str, Any]:
    """An API Gateway HTTP API payload-format-2.0 event, as the gateway hands it to a function."""
    lower = {k.lower(): v for k, v in headers.items()}
    cookies = [c.strip() for c in lower.pop("cookie", "").split(";") if c.strip()]
    query: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value
    now = datetime.now(UTC)
    request_id = base64.b32encode(uuid.uuid4().bytes)[:16].decode()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": lower,
        "requestContext": {
            "accountId": account_id,
            "apiId": api_id,
            "domainName": lower.get("host", "127.0.0.1"),
            "domainPrefix": lower.get("host", "127.0.0.1").split(".")[0],
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": lower.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": route.route_key,
            "stage": stage,
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if body:
        text: str | None = None
        if is_text(lower.get("content-type", "")):
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                text = None
        if text is None:
            event["body"] = base64.b64encode(body).decode("ascii")
            event["isBase64Encoded"] = True
        else:
            event["body"] = text
    return event


def authorizer_event(event: Mapping[str, Any], route: Route, identity: list[str], region: str) -> dict[str, Any]:
    """The payload-2.0 REQUEST event a Lambda authorizer receives for a request."""
    ctx = event["requestContext"]
    out = {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": f"arn:aws:execute-api:{region}:{ctx['accountId']}:{ctx['apiId']}/{ctx['stage']}/"
                    f"{route.method}{route.path}",
        "identitySource": identity,
        "routeKey": route.route_key,
        "rawPath": event["rawPath"],
        "rawQueryString": event["rawQueryString"],
        "headers": event["headers"],
        "requestContext": {k: v for k, v in ctx.items() if k != "authorizer"},
    }
    for key in ("cookies", "queryStringParameters", "pathParameters"):
        if key in event:
            out[key] = event[key]
    return out


@dataclass(frozen=True)
class AdminKey:
    """The access key the local stack accepts on `AWS_IAM` routes."""

    access_key_id: str
    secret_access_key: str
    user_arn: str


def check_sigv4(method: str, url: str, headers: Mapping[str, str], body: bytes, key: AdminKey,
                region: str) -> tuple[bool, str]:
    """Verify an `execute-api` SigV4 signature made with the admin key; (ok, reason)."""
    lower = {k.lower(): v for k, v in headers.items()}
    auth = lower.get("authorization", "")
    found = re.match(r"AWS4-HMAC-SHA256 Credential=([^/,\s]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request,\s*"
                     r"SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]+)", auth)
    if not found:
        return False, "Missing Authentication Token"
    access_key, _, sig_region, service, signed, signature = found.groups()
    if access_key != key.access_key_id:
        return False, "The security token included in the request is invalid."
    if service != "execute-api" or sig_region != region:
        return False, "Credential should be scoped to a valid region and service."
    amz_date = lower.get("x-amz-date", "")
    signed_names = signed.split(";")
    request = AWSRequest(method=method, url=url, data=body,
                         headers={n: lower[n] for n in signed_names if n in lower and n != "host"})
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(key.access_key_id, key.secret_access_key, lower.get("x-amz-security-token")),
                       "execute-api", region)
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    if expected != signature:
        return False, ("The request signature we calculated does not match the signature you provided. "
                       "Check your AWS Secret Access Key and signing method.")
    try:
        when = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return False, "Invalid X-Amz-Date"
    if abs((datetime.now(UTC) - when).total_seconds()) > 300:
        return False, "Signature expired"
    return True, ""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    cookies: tuple[str, ...] = ()


def gateway_error(status: int, message: str) -> Response:
    return Response(status, {"content-type": "application/json"}, json.dumps({"message": message}).encode())


def to_response(result: Any) -> Response:
    """Map a function's return value to the HTTP response the gateway sends (payload 2.0 rules)."""
    if isinstance(result, dict) and "statusCode" in result:
        headers = {str(k).lower(): str(v) for k, v in (result.get("headers") or {}).items()}
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers[str(name).lower()] = ",".join(str(v) for v in values)
        raw = result.get("body") or ""
        body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode()
        return Response(int(result["statusCode"]), headers, body, tuple(result.get("cookies") or ()))
    # Without a statusCode, API Gateway assumes 200 and a JSON body of whatever was returned.
    body = (result if isinstance(result, str) else json.dumps(result)).encode()
    return Response(200, {"content-type": "application/json"}, body)


Invoke = Callable[[str, dict[str, Any]], Any]


class Gateway:
    """The request pipeline: route, authorise, invoke. Transport-free, so it can be tested directly."""

    def __init__(self, template: Mapping[str, Any], invoke: Invoke, *, stage: str, region: str,
                 admin_key: AdminKey | None, authorizer_cache_seconds: int | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.routes, self.authorizers, self.api_id = read_api(template)
        self.invoke = invoke
        self.stage = stage
        self.region = region
        self.admin_key = admin_key
        self.cache_override = authorizer_cache_seconds
        self.clock = clock  # the authorizer result cache's and the throttle's time (a fake clock in tests)
        limits = read_throttle(template)
        self.throttle = TokenBucket(limits[0], limits[1], clock) if limits else None
        self._cache: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}
        self._cache_lock = threading.Lock()

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes, source_ip: str,
               base_url: str) -> Response:
        split = urlsplit(target)
        raw_path, raw_query = split.path, split.query
        prefix = f"/{self.stage}"
        if self.stage != "$default":
            if not (raw_path == prefix or raw_path.startswith(prefix + "/")):
                return gateway_error(404, "Not Found")
            path = raw_path[len(prefix):] or "/"
        else:
            path = raw_path
        route, params = self._match(method, path)
        if route is None or params is None:
            return gateway_error(404, "Not Found")
        if self.throttle is not None and not self.throttle.take():
            return gateway_error(429, "Too Many Requests")
        event = build_event(method=method, raw_path=raw_path, raw_query=raw_query, headers=headers, body=body,
                            route=route, path_parameters=params, stage=self.stage, source_ip=source_ip,
                            api_id=self.api_id.lower())
        response = self._run(route, event, method, base_url + target, headers, body)
        response.headers["apigw-requestid"] = event["requestContext"]["requestId"]  # as API Gateway: the event's id
        return response

    def _run(self, route: Route, event: dict[str, Any], method: str, url: str, headers: Mapping[str, str],
             body: bytes) -> Response:
        denied = self._authorise(route, event, method, url, headers, body)
        if denied is not None:
            return denied
        if len(json.dumps(event)) > MAX_EVENT_BYTES:  # Lambda refuses the invocation; the caller sees a 413
            log.warning("%s: event over Lambda's 6 MB payload limit", route.route_key)
            return gateway_error(413, "Request Entity Too Large")
        try:
            result = self.invoke(route.function_id, event)
        except Exception:
            log.exception("function %s raised on %s", route.function_id, route.route_key)
            return gateway_error(500, "Internal Server Error")
        try:
            return to_response(result)
        except (TypeError, ValueError):
            log.exception("function %s returned a malformed response", route.function_id)
            return gateway_error(500, "Internal Server Error")

    def _match(self, method: str, path: str) -> tuple[Route | None, dict[str, str] | None]:
        """The most specific route for a request. A directory path (`/console/`) that no route takes
        falls back to the route without its trailing slash, so that `<endpoint>/console/` opens the console."""
        candidates = [path] + ([path.rstrip("/")] if len(path) > 1 and path.endswith("/") else [])
        for candidate in candidates:
            for route in self.routes:
                params = route.match(method, candidate)
                if params is not None:
                    return route, params
        return None, None

    def _authorise(self, route: Route, event: dict[str, Any], method: str, url: str,
                   headers: Mapping[str, str], body: bytes) -> Response | None:
        if route.authorizer == NONE:
            return None
        if route.authorizer == AWS_IAM:
            if self.admin_key is None:
                return gateway_error(403, "Forbidden")
            ok, reason = check_sigv4(method, url, headers, body, self.admin_key, self.region)
            if not ok:
                return gateway_error(403, reason)
            access_key = self.admin_key.access_key_id
            event["requestContext"]["authorizer"] = {"iam": {
                "accessKey": access_key, "accountId": ACCOUNT_ID, "callerId": access_key,
                "cognitoIdentity": None, "principalOrgId": None, "userArn": self.admin_key.user_arn,
                "userId": access_key,
            }}
            return None
        spec = self.authorizers.get(route.authorizer)
        if spec is None:
            log.error("route %s names unknown authorizer %s", route.route_key, route.authorizer)
            return gateway_error(500, "Internal Server Error")
        lower = {k.lower(): v for k, v in headers.items()}
        identity = [lower[h] for h in spec.identity_headers if lower.get(h)]
        if len(identity) != len(spec.identity_headers):
            return gateway_error(401, "Unauthorized")
        cache_key = (spec.name, "\x00".join(identity))
        ttl = spec.cache_seconds if self.cache_override is None else self.cache_override
        now = self.clock()
        with self._cache_lock:
            cached = self._cache.get(cache_key)
        if cached is not None and ttl > 0 and now - cached[0] < ttl:
            answer = cached[1]
        else:
            try:
                answer = self.invoke(spec.function_id, authorizer_event(event, route, identity, self.region))
            except Exception:
                log.exception("authorizer %s raised", spec.function_id)
                return gateway_error(500, "Internal Server Error")
            if not isinstance(answer, dict) or not isinstance(answer.get("isAuthorized"), bool):
                log.error("authorizer %s returned %r, not a simple response", spec.function_id, answer)
                return gateway_error(500, "Internal Server Error")
            with self._cache_lock:
                self._cache[cache_key] = (now, answer)
        if not answer["isAuthorized"]:
            return gateway_error(403, "Forbidden")
        event["requestContext"]["authorizer"] = {"lambda": dict(answer.get("context") or {})}
        return None


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    timeout = 30  # idle keep-alive connections close by themselves

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY_BYTES:
            self._send(gateway_error(413, "Request Entity Too Large"), close=True)
            return
        body = self.rfile.read(length) if length else b""
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]},{value}" if key in headers and key != "cookie" else value
        response = self.server.gateway.handle(self.command, self.path, headers, body, self.client_address[0],
                                              self.server.base_url)
        self._send(response)

    def _send(self, response: Response, close: bool = False) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            if name not in ("content-length", "connection", "transfer-encoding", "apigw-requestid"):
                self.send_header(name, value)
        for cookie in response.cookies:
            self.send_header("set-cookie", cookie)
        self.send_header("apigw-requestid", response.headers.get("apigw-requestid") or uuid.uuid4().hex[:16])
        self.send_header("content-length", str(len(response.body)))
        if close:
            self.send_header("connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def __getattr__(self, name: str) -> Any:
        """Any other method (TRACE, QUERY...) is routed too: no route matches, so API Gateway's 404."""
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    gateway: Gateway
    base_url: str


class HttpApiServer:
    """The gateway on 127.0.0.1:<port> in a daemon thread; `stop()` shuts it down."""

    def __init__(self, gateway: Gateway, port: int = 0) -> None:
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.gateway = gateway
        self._server.timeout = 1
        self.port = int(self._server.server_address[1])
        self._server.base_url = f"http://127.0.0.1:{self.port}"
        self.endpoint = f"{self._server.base_url}/{gateway.stage}" if gateway.stage != "$default" \
            else self._server.base_url
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="facesearch-httpapi", daemon=True)

    def start(self) -> HttpApiServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
