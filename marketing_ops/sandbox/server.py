"""The sandbox's HTTP server, its control API, and `SandboxServer`.

One stdlib ThreadingHTTPServer answers for every platform; the first path
segment picks the platform (`/github/...`, `/telegram/...`, `/x/...`,
`/reddit/...`, `/discord/...`) and `/_sandbox/...` is the control API that
tests in another process use to read records, inject faults and seed data.
"""

from __future__ import annotations

import json
import logging
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import accounts
from .base import PlatformSandbox
from .discord import DiscordSandbox
from .github import GitHubSandbox
from .reddit import RedditSandbox
from .state import FAULT_KINDS, SANDBOX_PLATFORMS, Fault, SandboxState
from .telegram import TelegramSandbox
from .wire import Request, Response
from .x import XSandbox

logger = logging.getLogger(__name__)

PLATFORM_CLASSES: dict[str, type[PlatformSandbox]] = {
    "github": GitHubSandbox,
    "telegram": TelegramSandbox,
    "x": XSandbox,
    "reddit": RedditSandbox,
    "discord": DiscordSandbox,
}

# Marker returned instead of a Response when the connection must be cut.
_CUT = object()


class SandboxServer:
    """A local stand-in for GitHub, Telegram, X, Reddit and Discord.

    Use as a context manager, or call start() and stop(). `url` is the base
    URL once started; `env()` and `platform_urls()` tell a publisher how to
    reach it.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.state = SandboxState()
        self._platforms = self._fresh_platforms()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------

    def start(self) -> "SandboxServer":
        httpd = ThreadingHTTPServer((self.host, self.port), _Handler)
        httpd.daemon_threads = True
        httpd.sandbox = self  # type: ignore[attr-defined]
        self._httpd = httpd
        self.port = httpd.server_address[1]
        # A short poll interval makes stop() quick (tests start many).
        self._thread = threading.Thread(target=httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="sandbox-http", daemon=True)
        self._thread.start()
        logger.info("sandbox listening on %s", self.url)
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        # Wake long polls so their threads finish promptly.
        with self.state.changed:
            self.state.changed.notify_all()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._httpd = None

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    # -- what a publisher needs to know ---------------------------------

    def env(self) -> dict[str, str]:
        """The package's credential variables, set for the sandbox accounts."""
        return {
            "GITHUB_TOKEN": accounts.GITHUB_TOKEN,
            "GITHUB_OWNER": accounts.GITHUB_OWNER,
            "GITHUB_REPO": accounts.GITHUB_REPO,
            "TELEGRAM_BOT_TOKEN": accounts.TELEGRAM_BOT_TOKEN,
            "TELEGRAM_CHANNEL_ID": "@" + accounts.TELEGRAM_CHANNEL_USERNAME,
            "X_API_KEY": accounts.X_API_KEY,
            "X_API_SECRET": accounts.X_API_SECRET,
            "X_ACCESS_TOKEN": accounts.X_ACCESS_TOKEN,
            "X_ACCESS_SECRET": accounts.X_ACCESS_SECRET,
            "REDDIT_CLIENT_ID": accounts.REDDIT_CLIENT_ID,
            "REDDIT_CLIENT_SECRET": accounts.REDDIT_CLIENT_SECRET,
            "REDDIT_USERNAME": accounts.REDDIT_USERNAME,
            "REDDIT_PASSWORD": accounts.REDDIT_PASSWORD,
            "REDDIT_SUBREDDIT": accounts.REDDIT_SUBREDDIT,
            "DISCORD_WEBHOOK_URL": (
                f"{self.url}/discord/api/webhooks/"
                f"{accounts.DISCORD_WEBHOOK_ID}/"
                f"{accounts.DISCORD_WEBHOOK_TOKEN}"),
        }

    def platform_urls(self) -> dict[str, dict[str, str]]:
        """Base URLs per platform, as config/platforms.yaml takes them."""
        base = self.url
        return {
            "github": {"api_url": f"{base}/github",
                       "graphql_url": f"{base}/github/graphql"},
            "telegram": {"api_url": f"{base}/telegram"},
            "x": {"api_url": f"{base}/x"},
            "reddit": {"auth_url": f"{base}/reddit/www",
                       "api_url": f"{base}/reddit/oauth"},
            "discord": {"api_url": f"{base}/discord/api"},
        }

    # -- records, faults, seeding ---------------------------------------

    @property
    def posts(self) -> list[dict[str, Any]]:
        """Every accepted post and reply, oldest first (a copy)."""
        return self.state.posts()

    def posts_for(self, platform: str) -> list[dict[str, Any]]:
        return self.state.posts(platform)

    def inject(self, platform: str, endpoint: str, fault: str, *,
               times: int | None = 1, **params: Any) -> dict[str, Any]:
        """Make the next `times` matching requests fail (None: until cleared).

        `endpoint` is one of the platform's endpoint names or "*".
        """
        handler = self._platform(platform)
        if fault not in FAULT_KINDS:
            raise ValueError(f"unknown fault {fault!r}; use one of "
                             f"{', '.join(FAULT_KINDS)}")
        if endpoint != "*" and endpoint not in handler.endpoint_names:
            raise ValueError(
                f"{platform} has no endpoint {endpoint!r}; use one of "
                f"{', '.join(sorted(handler.endpoint_names))} or '*'")
        if fault == "error_in_200" and endpoint != "*" and \
                endpoint not in handler.error_in_200_endpoints:
            raise ValueError(
                f"{platform} does not report errors inside HTTP 200 on "
                f"{endpoint!r}; it does on: "
                f"{', '.join(sorted(handler.error_in_200_endpoints)) or 'none'}")
        if times is not None and times < 1:
            raise ValueError("times must be at least 1, or None for "
                             "a persistent fault")
        added = self.state.add_fault(Fault(platform, endpoint, fault, times,
                                           dict(params)))
        return added.as_dict()

    def faults(self) -> list[dict[str, Any]]:
        return self.state.faults()

    def clear_faults(self) -> None:
        self.state.clear_faults()

    def set_latency(self, seconds: float) -> None:
        """Delay every platform request by `seconds` (0 turns it off)."""
        with self.state.lock:
            self.state.latency = max(float(seconds), 0.0)

    def revoke(self, platform: str, **params: Any) -> None:
        """Invalidate a platform's credentials now (until reset)."""
        self._platform(platform)
        self.state.revoke(platform, **params)

    def reset(self) -> None:
        """Forget records, faults, seeds, revocations and latency."""
        with self.state.lock:
            self.state.clear()
            self._platforms = self._fresh_platforms()

    def seed_mention(self, platform: str, text: str,
                     **fields: Any) -> dict[str, Any]:
        """Add a mention/comment that the platform's monitor will see."""
        handler = self._platform(platform)
        seed = getattr(handler, "seed_mention", None)
        if seed is None:
            raise ValueError(f"{platform} has no mentions the publisher "
                             "could read")
        with self.state.lock:
            result = seed(text, **fields)
            self.state.changed.notify_all()
        return result

    def seed_repo(self, full_name: str, **fields: Any) -> dict[str, Any]:
        """Add a repository that GitHub's repository search can find."""
        if full_name.count("/") != 1:
            raise ValueError("a repository is named 'owner/name'")
        with self.state.lock:
            return self._platforms["github"].seed_repo(full_name, **fields)

    def seed_release(self, tag_name: str, **fields: Any) -> dict[str, Any]:
        """Add a GitHub release (latest = newest published non-prerelease)."""
        with self.state.lock:
            return self._platforms["github"].seed_release(tag_name, **fields)

    # -- request handling -----------------------------------------------

    def _platform(self, name: str) -> PlatformSandbox:
        if name not in self._platforms:
            raise ValueError(f"unknown platform {name!r}; use one of "
                             f"{', '.join(SANDBOX_PLATFORMS)}")
        return self._platforms[name]

    def _fresh_platforms(self) -> dict[str, PlatformSandbox]:
        return {name: cls(self.state) for name, cls in
                PLATFORM_CLASSES.items()}

    def handle_platform(self, platform_name: str, request: Request):
        """The Response for one platform request, or _CUT."""
        platform = self._platforms[platform_name]
        with self.state.lock:
            route = platform.route(request)
        if route is None:
            with self.state.lock:
                return platform.not_found(request)

        delay, fault = self.state.take_faults(platform_name, route.names)
        delay += self.state.latency
        if delay > 0:
            time.sleep(delay)

        kind = fault.kind if fault else None
        if kind == "revoke":
            self.state.revoke(platform_name, **fault.params)
        if kind in ("rate_limit", "server_error", "error_in_200"):
            with self.state.lock:
                return platform.fault_response(kind, fault.params, request,
                                               route)

        with self.state.lock:
            response = route.handle(request)

        if kind == "malformed_json":
            return _truncate(response)
        if kind == "cut_after_record":
            logger.info("sandbox cut the connection after %s %s",
                        request.method, route.names[0])
            return _CUT
        return response

    # -- control API ----------------------------------------------------

    def handle_control(self, method: str, path: str,
                       query: dict[str, list[str]], body: bytes) -> Response:
        try:
            payload = json.loads(body.decode("utf-8")) if body else {}
        except (UnicodeDecodeError, json.JSONDecodeError):
            return Response.json(400, {"error": "body is not JSON"})
        try:
            return self._control(method, path.rstrip("/"), query,
                                 payload or {})
        except (ValueError, TypeError) as exc:
            return Response.json(400, {"error": str(exc)})

    def _control(self, method, path, query, payload) -> Response:
        if method == "GET" and path == "/health":
            return Response.json(200, {"ok": True, "url": self.url})
        if method == "GET" and path == "/posts":
            platform = (query.get("platform") or [None])[0]
            return Response.json(200, {"posts": self.state.posts(platform)})
        if method == "GET" and path == "/env":
            return Response.json(200, {"env": self.env(),
                                       "urls": self.platform_urls()})
        if path == "/faults":
            if method == "GET":
                return Response.json(200, {"faults": self.faults()})
            if method == "DELETE":
                self.clear_faults()
                return Response.json(200, {"faults": []})
            if method == "POST":
                fault = self.inject(
                    payload["platform"], payload.get("endpoint", "*"),
                    payload["fault"], times=payload.get("times", 1),
                    **(payload.get("params") or {}))
                return Response.json(201, {"fault": fault})
        if method == "POST" and path == "/latency":
            self.set_latency(payload.get("seconds", 0))
            return Response.json(200, {"latency": self.state.latency})
        if method == "POST" and path == "/reset":
            self.reset()
            return Response.json(200, {"ok": True})
        if method == "POST" and path == "/revoke":
            self.revoke(payload["platform"], **(payload.get("params") or {}))
            return Response.json(200, {"ok": True})
        if method == "POST" and path.startswith("/seed/"):
            return self._control_seed(path[len("/seed/"):], payload)
        return Response.json(404, {"error": f"no control endpoint "
                                            f"{method} /_sandbox{path}"})

    def _control_seed(self, what: str, payload: dict[str, Any]) -> Response:
        fields = dict(payload)
        if what == "mention":
            result = self.seed_mention(fields.pop("platform"),
                                       fields.pop("text"), **fields)
        elif what == "repo":
            result = self.seed_repo(fields.pop("full_name"), **fields)
        elif what == "release":
            result = self.seed_release(fields.pop("tag_name"), **fields)
        else:
            return Response.json(404, {"error": f"cannot seed {what!r}; "
                                       "use mention, repo or release"})
        return Response.json(201, {"seeded": result})


def _truncate(response: Response) -> Response:
    """The same answer with a body that is not valid JSON any more."""
    body = response.body or b'{"ok": true, "result": {"id": 1'
    broken = body[: max(len(body) // 2, 1)]
    if broken == body or _is_json(broken):
        broken = body + b"}{"
    headers = dict(response.headers)
    headers["Content-Type"] = "application/json; charset=utf-8"
    status = 200 if response.status == 204 else response.status
    return Response(status, broken, headers)


def _is_json(data: bytes) -> bool:
    try:
        json.loads(data)
        return True
    except ValueError:
        return False


class _Handler(BaseHTTPRequestHandler):
    # Keep-alive, as the real services allow; every answer has a length.
    protocol_version = "HTTP/1.1"
    server_version = "marketing-ops-sandbox"
    # Headers and body go out in separate writes; without TCP_NODELAY the
    # client's delayed ACK adds about 40 ms to every keep-alive request.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        try:
            self._dispatch()
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (its timeout ran out during an injected
            # delay): nothing to answer, and nothing worth a traceback.
            self.close_connection = True

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    def _dispatch(self) -> None:
        sandbox: SandboxServer = self.server.sandbox  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        # Only Content-Length bodies are read. A chunked request body (which
        # `requests` sends only for generator bodies, and no connector
        # needs) would be seen as empty; reading Transfer-Encoding: chunked
        # here would fix that.
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        query = parse_qs(parts.query, keep_blank_values=True)
        _, _, rest = parts.path.partition("/")
        prefix, _, tail = rest.partition("/")

        if prefix == "_sandbox":
            response = sandbox.handle_control(self.command, "/" + tail,
                                              query, body)
        elif prefix in PLATFORM_CLASSES:
            host = self.headers.get("Host") or f"{sandbox.host}:{sandbox.port}"
            request = Request(
                method=self.command, path="/" + tail, query=query,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body, url=f"http://{host}{self.path}")
            response = self._platform_response(sandbox, prefix, request)
        else:
            response = Response.json(404, {
                "error": f"no platform at /{prefix}; the sandbox serves "
                         "/github, /telegram, /x, /reddit, /discord and "
                         "/_sandbox"})

        if response is _CUT:
            self._cut()
            return
        self._write(response)

    def _platform_response(self, sandbox, prefix, request):
        try:
            return sandbox.handle_platform(prefix, request)
        except Exception:
            # A bug in the sandbox must not look like an injected fault
            # (a dropped connection) or like a platform answer.
            logger.exception("sandbox failed on %s %s", request.method,
                             request.path)
            return Response.json(500, {"error": "the sandbox itself failed "
                                                "on this request; see its "
                                                "log"})

    def _write(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.status not in (204, 304):
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD" and response.status not in (204, 304):
            self.wfile.write(response.body)

    def _cut(self) -> None:
        # Close without a single byte of response, as a dropped connection
        # after the platform accepted the request would look to the client.
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def serve(host: str = "127.0.0.1", port: int = 8765,
          latency: float = 0.0) -> None:
    """Run a sandbox in the foreground until interrupted (Ctrl-C, SIGTERM).
    ``latency`` seconds are added to every response."""
    sandbox = SandboxServer(host, port).start()
    if latency:
        sandbox.set_latency(latency)
    lines = [f"marketing-ops sandbox listening on {sandbox.url}",
             "# Sandbox accounts (fake values that only this sandbox "
             "accepts):"]
    lines += [f"{key}={value}" for key, value in sandbox.env().items()]
    lines.append("# Base URLs for config/platforms.yaml:")
    for platform, urls in sandbox.platform_urls().items():
        for name, url in urls.items():
            lines.append(f"#   {platform}.{name}: {url}")
    print("\n".join(lines), flush=True)

    stopped = threading.Event()

    def request_stop(signum, frame):
        stopped.set()

    signal.signal(signal.SIGTERM, request_stop)
    try:
        while not stopped.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
        print("sandbox stopped", file=sys.stderr, flush=True)
