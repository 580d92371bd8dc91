"""The emulator's HTTP server: one port, a path prefix per provider, control endpoints.

Routes: `/<provider>/...` for webhook, braze, klaviyo, onesignal, telegram and twilio (point a
destination's `base_url` at `http://127.0.0.1:<port>/<provider>`), and

- `GET  /_emulator/stats`                     counters per provider and in total, the fault
                                              plan and the rate limits
- `GET  /_emulator/state`                     a summary per provider;
  `GET  /_emulator/state?provider=P&offset=0&limit=1000`  that provider's records (or
                                              recipients and their messages), paginated
- `POST /_emulator/faults`  (JSON FaultPlan)  replace the fault plan (restarts its generator)
- `POST /_emulator/limits`  (`{"braze": [[3000, 3.0]], ...}`)  replace rate limits
- `POST /_emulator/reset`                     forget records, messages and counters (and, with
                                              `{"faults": true}`, the fault plan)

Per request to a provider: a planned fault first (5xx, 429, or a stalled and dropped
connection before applying), then the credentials, then the rate limit (429 + Retry-After
from a sliding window), then the payload's shape and the provider's rules, then the state;
a `timeout_after` fault then drops the answer of a request it applied. Nothing is logged per
request.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from reverse_etl.emulator.faults import FaultInjector, FaultPlan, RateLimit, retry_after_header
from reverse_etl.emulator.providers import (
    PROVIDER_CLASSES,
    PROVIDERS,
    BadRequest,
    Credentials,
    Options,
    Provider,
    Reply,
    Request,
    json_reply,
)
from reverse_etl.emulator.state import COUNTERS, ProviderState

QUICKACK = getattr(socket, "TCP_QUICKACK", None)  # Linux

# Documented limits of each provider (requests, per seconds); every window must admit.
DEFAULT_LIMITS: dict[str, list[tuple[int, float]]] = {
    "webhook": [(1000, 1.0)],
    "braze": [(3000, 3.0)],  # /users/track
    "klaviyo": [(10, 1.0), (150, 60.0)],  # bulk import and list removal: burst, steady
    "onesignal": [(1000, 1.0)],  # user updates per app
    "telegram": [(30, 1.0)],  # bulk messages
    "twilio": [(100, 1.0)],  # a short code's messages per second
}


class Drop:
    """No answer: the connection is held for `stall` seconds, then closed."""

    def __init__(self, stall: float) -> None:
        self.stall = stall


def _format_seconds(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"


class Emulator:
    """The emulator's state and behaviour, independent of the HTTP plumbing."""

    def __init__(
        self,
        credentials: Credentials,
        options: Options,
        faults: FaultPlan,
        limits: Mapping[str, list[tuple[int, float]]] | None = None,
    ) -> None:
        self.credentials = credentials
        self.options = options
        self.faults = FaultInjector(faults)
        self.states = {name: ProviderState(name, options.compact) for name in PROVIDERS}
        self.providers: dict[str, Provider] = {
            name: PROVIDER_CLASSES[name](self.states[name], credentials, options)
            for name in PROVIDERS
        }
        self.limits: dict[str, RateLimit] = {}
        self.set_limits({**DEFAULT_LIMITS, **(limits or {})})
        self.stopping = threading.Event()

    def set_limits(self, limits: Mapping[str, Any]) -> None:
        for name, windows in limits.items():
            if name not in PROVIDERS:
                raise ValueError(f"unknown provider {name!r}")
            if windows and isinstance(windows[0], int | float):
                windows = [windows]
            self.limits[name] = RateLimit((int(r), float(s)) for r, s in windows or [])

    # -- provider requests ----------------------------------------------------------------

    def handle(self, provider_name: str, request: Request) -> Reply | Drop:
        provider = self.providers[provider_name]
        state = provider.state
        state.count("requests")
        fault, status = self.faults.decide(provider_name)
        stall = self.faults.plan.stall_seconds
        if fault == "error":
            state.count("injected_5xx")
            return provider.server_error(status)
        if fault == "rate_limit":
            state.count("injected_429")
            return provider.throttled(_format_seconds(self.faults.plan.retry_after))
        if fault == "timeout_before":
            state.count("injected_timeouts_before")
            return Drop(stall)
        refusal = provider.authorize(request)
        if refusal is not None:
            state.count("auth_failures")
            return refusal
        wait = self.limits[provider_name].check()
        if wait > 0:
            state.count("rate_limited")
            return provider.throttled(retry_after_header(wait))
        try:
            reply = provider.handle(request)
        except BadRequest as bad:
            reply = bad.reply
        if fault == "timeout_after":
            state.count("injected_timeouts_after")
            return Drop(stall)
        return reply

    # -- control endpoints ----------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        providers = {name: state.stats() for name, state in self.states.items()}
        totals = {
            name: sum(stats[name] for stats in providers.values())
            for name in (*COUNTERS, "records", "messages")
        }
        return {
            "providers": providers,
            "totals": totals,
            "faults": self.faults.plan.as_dict(),
            "limits": {name: limit.describe() for name, limit in self.limits.items()},
            "compact": self.options.compact,
        }

    def summary(self) -> dict[str, Any]:
        summary = {}
        for name, state in self.states.items():
            stats = state.stats()
            summary[name] = {
                "records": stats["records"],
                "recipients": stats["recipients"],
                "messages": stats["messages"],
                "lists": {list_id: len(members) for list_id, members in state.lists.items()},
            }
        return {"providers": summary, "stats": self.stats()["totals"]}

    def reset(self, faults: bool = False) -> None:
        for state in self.states.values():
            state.reset()
        if faults:
            self.faults.replace(FaultPlan())
        else:
            self.faults.replace(self.faults.plan)

    def control(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> Reply:
        try:
            payload = json.loads(body) if body.strip() else {}
        except ValueError:
            return json_reply(400, {"error": "body must be JSON"})
        try:
            if method == "GET" and path == "/_emulator/stats":
                return json_reply(200, self.stats())
            if method == "GET" and path == "/_emulator/state":
                provider = (query.get("provider") or [""])[0]
                if not provider:
                    return json_reply(200, self.summary())
                if provider not in self.states:
                    return json_reply(404, {"error": f"unknown provider {provider!r}"})
                offset = int((query.get("offset") or ["0"])[0])
                limit = int((query.get("limit") or ["1000"])[0])
                return json_reply(200, self.states[provider].snapshot(offset, limit))
            if method == "POST" and path == "/_emulator/faults":
                self.faults.replace(FaultPlan.from_mapping(payload))
                return json_reply(200, self.faults.plan.as_dict())
            if method == "POST" and path == "/_emulator/limits":
                self.set_limits(payload)
                return json_reply(200, {n: lim.describe() for n, lim in self.limits.items()})
            if method == "POST" and path == "/_emulator/reset":
                self.reset(faults=bool(payload.get("faults")))
                return json_reply(200, {"reset": True})
        except (ValueError, TypeError) as error:
            return json_reply(400, {"error": str(error)})
        return json_reply(404, {"error": "unknown control endpoint"})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    server_version = "omni360-emulator/1"
    sys_version = ""
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Nothing per request (the paths carry tokens, and logging would slow benchmarks)."""

    def setup(self) -> None:
        super().setup()
        # One write per answer, sent at once (no waiting on the client's delayed ACK).
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.connections.discard(self.connection)

    def handle_one_request(self) -> None:
        self._quick_ack()
        super().handle_one_request()

    def _quick_ack(self) -> None:
        """Acknowledge at once what arrives: clients that write headers and body in two sends
        without TCP_NODELAY (httpx does) would otherwise wait on the delayed ACK every time."""
        if QUICKACK is not None:
            with contextlib.suppress(OSError):
                self.connection.setsockopt(socket.IPPROTO_TCP, QUICKACK, 1)

    def _body(self) -> bytes:
        self._quick_ack()
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        emulator = self.server.emulator
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        body = self._body()
        if url.path.startswith("/_emulator/"):
            self._write(emulator.control(self.command, url.path.rstrip("/"), query, body))
            return
        name, _, rest = url.path.lstrip("/").partition("/")
        if name not in emulator.providers:
            self._write(json_reply(404, {"error": f"no provider at /{name}"}))
            return
        request = Request(self.command, "/" + rest, query, self.headers, body)
        outcome = emulator.handle(name, request)
        if isinstance(outcome, Drop):
            if outcome.stall > 0:
                emulator.stopping.wait(outcome.stall)
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._write(outcome)

    def _write(self, reply: Reply) -> None:
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self._headers_buffer.append(b"\r\n")
        if reply.body and self.command != "HEAD":
            self._headers_buffer.append(reply.body)
        self.flush_headers()  # status line, headers and body in one write

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], emulator: Emulator) -> None:
        self.emulator = emulator
        self.connections: set[socket.socket] = set()
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-connection (a sync process killed, a reset) is not the
        emulator's error: no traceback on stderr for it."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        for connection in list(self.connections):
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


def make_server(host: str, port: int, emulator: Emulator) -> _Server:
    return _Server((host, port), emulator)
