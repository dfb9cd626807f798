"""X API v2 stand-in: users/me, create post, mentions and own timeline.

Every call must carry a valid OAuth 1.0a (HMAC-SHA1) signature for the
sandbox account; errors are RFC 7807 problem bodies; rate limits travel in
`x-rate-limit-*` headers (reset as epoch seconds) and, for posting, in the
24-hour `x-user-limit-24hour-*` / `x-app-limit-24hour-*` buckets. X sends no
Retry-After header, so neither does the sandbox.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from . import accounts
from .base import FixedWindow, PlatformSandbox
from .oauth1 import (OAuthError, hmac_sha1_signature, parse_authorization,
                     signature_base_string, signature_matches)
from .state import iso_z, utc_now
from .wire import BadRequestBody, Request, Response, Route
from .x_text import is_too_long

logger = logging.getLogger(__name__)

MAX_CLOCK_SKEW = 300
INVALID_REQUEST = "https://api.twitter.com/2/problems/invalid-request"

# Per-user 15-minute windows (older published figures) and the 24-hour
# posting buckets. The daily user bucket is set well above X's free tier
# so that test suites posting many times do not trip it by accident; inject
# a rate_limit fault with bucket="24h" to see that signal.
WINDOW_LIMITS = {"preflight": 75, "publish": 100, "mentions": 180,
                 "timeline": 900}
DAILY_USER_POSTS = 1000
DAILY_APP_POSTS = 10000


def _problem(status: int, title: str, detail: str,
             headers: dict[str, str] | None = None,
             type_: str = "about:blank", **extra: Any) -> Response:
    body = {"title": title, "type": type_, "status": status,
            "detail": detail}
    body.update(extra)
    return Response.json(status, body, headers)


def _unauthorized(reason: str) -> Response:
    logger.debug("x sandbox rejected OAuth: %s", reason)
    # The reason header is the sandbox's own addition, to save a connector
    # author from guessing which part of the signature was wrong.
    return _problem(401, "Unauthorized", "Unauthorized",
                    {"X-Sandbox-Reason": reason})


def _invalid(message: str, parameter: str, value: Any) -> Response:
    return _problem(
        400, "Invalid Request",
        "One or more parameters to your request was invalid.",
        type_=INVALID_REQUEST,
        errors=[{"parameters": {parameter: [str(value)]},
                 "message": message}])


class XSandbox(PlatformSandbox):
    name = "x"
    endpoint_names = frozenset({"preflight", "publish", "reply", "mentions",
                                "timeline", "reconcile"})

    def __init__(self, state) -> None:
        super().__init__(state)
        self.windows = {name: FixedWindow(limit, 900)
                        for name, limit in WINDOW_LIMITS.items()}
        self.daily_user = FixedWindow(DAILY_USER_POSTS, 86400)
        self.daily_app = FixedWindow(DAILY_APP_POSTS, 86400)
        self.tweets: list[dict[str, Any]] = []
        self.seen_nonces: dict[tuple[str, str], float] = {}
        self.users = {accounts.X_USER_ID: {
            "id": accounts.X_USER_ID, "name": "Sandbox X User",
            "username": accounts.X_USERNAME}}

    # -- routing --------------------------------------------------------

    def route(self, request: Request) -> Route | None:
        path, method = request.path.rstrip("/"), request.method
        if method == "GET" and path == "/2/users/me":
            return Route(("preflight",), self._guard("preflight",
                                                     self._me))
        if method == "POST" and path == "/2/tweets":
            kind = "reply" if _is_reply(request) else "publish"
            return Route((kind,), self._guard("publish", self._create))
        match = re.fullmatch(r"/2/users/(\d+)/(mentions|tweets)", path)
        if method == "GET" and match:
            user_id, which = match.groups()
            if which == "mentions":
                return Route(("mentions",), self._guard(
                    "mentions", lambda r: self._list(r, user_id, True)))
            return Route(("timeline", "reconcile"), self._guard(
                "timeline", lambda r: self._list(r, user_id, False)))
        return None

    def not_found(self, request: Request) -> Response:
        return Response.json(404, {"errors": [{
            "message": "Sorry, that page does not exist", "code": 34}]})

    def _guard(self, window_name: str, handler):
        """Authenticate, count against the rate window, then handle."""
        def guarded(request: Request) -> Response:
            refusal = self._authenticate(request)
            if refusal:
                return refusal
            window = self.windows[window_name]
            allowed = window.take()
            headers = _window_headers(window)
            if window_name == "publish":
                allowed = allowed and self.daily_user.take() and \
                    self.daily_app.take()
                headers.update(_daily_headers(self.daily_user,
                                              self.daily_app))
            if not allowed:
                return _problem(429, "Too Many Requests",
                                "Too Many Requests", headers)
            response = handler(request)
            response.headers.update(headers)
            return response
        return guarded

    # -- faults ---------------------------------------------------------

    def fault_response(self, kind, params, request, route):
        if kind == "server_error":
            status = int(params.get("status", 503))
            return _problem(status, "Service Unavailable",
                            "Service Unavailable")
        reset_in = int(params.get("reset_in", 900))
        now = int(time.time())
        window = self.windows["publish" if route.names[0] in
                              ("publish", "reply") else "preflight"]
        headers = {"x-rate-limit-limit": str(window.limit),
                   "x-rate-limit-remaining": "0",
                   "x-rate-limit-reset": str(now + reset_in)}
        if params.get("bucket") == "24h":
            # The 24-hour user bucket is empty while the 15-minute window
            # still looks healthy, as X does it.
            headers = {**_window_headers(window),
                       "x-user-limit-24hour-limit": str(DAILY_USER_POSTS),
                       "x-user-limit-24hour-remaining": "0",
                       "x-user-limit-24hour-reset": str(now + reset_in)}
        return _problem(429, "Too Many Requests", "Too Many Requests",
                        headers)

    # -- OAuth 1.0a -----------------------------------------------------

    def _authenticate(self, request: Request) -> Response | None:
        header = request.header("authorization") or ""
        if header.lower().startswith("bearer "):
            return _problem(
                403, "Unsupported Authentication",
                "Authenticating with OAuth 2.0 Application-Only is forbidden "
                "for this endpoint.  Supported authentication types are "
                "[OAuth 1.0a User Context, OAuth 2.0 User Context].",
                type_="https://api.twitter.com/2/problems/"
                      "unsupported-authentication")
        try:
            params = parse_authorization(header)
            self._verify(request, params)
        except OAuthError as exc:
            return _unauthorized(str(exc))
        return None

    def _verify(self, request: Request, params: dict[str, str]) -> None:
        required = ("oauth_consumer_key", "oauth_token", "oauth_nonce",
                    "oauth_timestamp", "oauth_signature_method",
                    "oauth_signature")
        missing = [name for name in required if not params.get(name)]
        if missing:
            raise OAuthError("missing " + ", ".join(missing))
        if params["oauth_signature_method"] != "HMAC-SHA1":
            raise OAuthError("signature method must be HMAC-SHA1")
        if params.get("oauth_version", "1.0") != "1.0":
            raise OAuthError("oauth_version must be 1.0")
        if params["oauth_consumer_key"] != accounts.X_API_KEY:
            raise OAuthError("unknown consumer key")
        if params["oauth_token"] != accounts.X_ACCESS_TOKEN:
            raise OAuthError("unknown access token")
        if self.revoked():
            raise OAuthError("access token revoked")

        form = None
        if request.content_type == "application/x-www-form-urlencoded":
            form = request.body.decode("utf-8", "replace")
        base = signature_base_string(request.method, request.url, params, form)
        expected = hmac_sha1_signature(base, accounts.X_API_SECRET,
                                       accounts.X_ACCESS_SECRET)
        if not signature_matches(expected, params["oauth_signature"]):
            raise OAuthError("signature does not match")

        try:
            stamp = int(params["oauth_timestamp"])
        except ValueError:
            raise OAuthError("timestamp is not a number") from None
        now = time.time()
        if abs(now - stamp) > MAX_CLOCK_SKEW:
            raise OAuthError("timestamp is more than 300 s off")
        self.seen_nonces = {key: seen for key, seen in
                            self.seen_nonces.items()
                            if now - seen <= 2 * MAX_CLOCK_SKEW}
        key = (params["oauth_nonce"], params["oauth_timestamp"])
        if key in self.seen_nonces:
            raise OAuthError("nonce already used")
        self.seen_nonces[key] = now

    # -- endpoints ------------------------------------------------------

    def _me(self, request: Request) -> Response:
        user = dict(self.users[accounts.X_USER_ID])
        fields = _fields(request, "user.fields")
        if "created_at" in fields:
            user["created_at"] = "2020-01-01T00:00:00.000Z"
        if "verified" in fields:
            user["verified"] = False
        return Response.json(200, {"data": user})

    def _create(self, request: Request) -> Response:
        if request.content_type != "application/json":
            return _invalid("Request body must be JSON", "body",
                            request.content_type)
        try:
            body = request.json()
        except BadRequestBody:
            return _invalid("Request body is not valid JSON", "body", "")
        if not isinstance(body, dict):
            return _invalid("Request body must be a JSON object", "body", "")
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            return _invalid("text: must not be empty", "text", text)
        if is_too_long(text):
            # Which of 400 or 403 X answers here is not settled; 403 with a
            # problem body matches the duplicate-content refusal.
            return _problem(403, "Forbidden",
                            "Your Tweet text is too long.")
        if any(t["text"] == text and t["author_id"] == accounts.X_USER_ID
               for t in self.tweets):
            return _problem(403, "Forbidden", "You are not allowed to create "
                            "a Tweet with duplicate content.")

        reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        parent = None
        if reply_to is not None:
            parent = next((t for t in self.tweets
                           if t["id"] == str(reply_to)), None)
            if parent is None:
                return _problem(403, "Forbidden", "You attempted to reply to "
                                "a Tweet that is deleted or not visible to "
                                "you.")
        tweet = self._add_tweet(text, accounts.X_USER_ID, parent)
        self.record(kind="reply" if parent else "post", text=text,
                    remote_id=tweet["id"],
                    permalink=f"https://x.com/{accounts.X_USERNAME}/status/"
                              f"{tweet['id']}",
                    target="@" + accounts.X_USERNAME,
                    in_reply_to=parent["id"] if parent else None)
        return Response.json(201, {"data": {
            "id": tweet["id"], "text": text,
            "edit_history_tweet_ids": [tweet["id"]]}})

    def _list(self, request: Request, user_id: str,
              mentions: bool) -> Response:
        if user_id not in self.users:
            return _problem(404, "Not Found Error",
                            f"Could not find user with id: [{user_id}].",
                            type_="https://api.twitter.com/2/problems/"
                                  "resource-not-found")
        try:
            max_results = int(request.arg("max_results", "10"))
        except ValueError:
            max_results = -1
        if not 5 <= max_results <= 100:
            return _invalid("The `max_results` query parameter value "
                            f"[{request.arg('max_results')}] is not between "
                            "5 and 100", "max_results",
                            request.arg("max_results"))

        username = "@" + self.users[user_id]["username"].lower()
        if mentions:
            found = [t for t in self.tweets
                     if username in t["text"].lower()
                     and t["author_id"] != user_id]
        else:
            found = [t for t in self.tweets if t["author_id"] == user_id]
        found.sort(key=lambda t: int(t["id"]), reverse=True)
        for name, keep in (("since_id", lambda t, v: int(t["id"]) > v),
                           ("until_id", lambda t, v: int(t["id"]) < v)):
            if request.arg(name):
                try:
                    bound = int(request.arg(name))
                except ValueError:
                    return _invalid(f"{name} must be a tweet id", name,
                                    request.arg(name))
                found = [t for t in found if keep(t, bound)]

        start = int(request.arg("pagination_token") or 0) \
            if (request.arg("pagination_token") or "").isdigit() else 0
        page = found[start:start + max_results]
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta.update(newest_id=page[0]["id"], oldest_id=page[-1]["id"])
        if start + max_results < len(found):
            meta["next_token"] = str(start + max_results)
        payload: dict[str, Any] = {}
        if page:
            fields = _fields(request, "tweet.fields")
            payload["data"] = [_tweet_view(t, fields) for t in page]
            if "author_id" in _fields(request, "expansions"):
                authors = {t["author_id"] for t in page}
                payload["includes"] = {"users": [self.users[a]
                                                 for a in sorted(authors)]}
        payload["meta"] = meta
        return Response.json(200, payload)

    # -- storage and seeding --------------------------------------------

    def _add_tweet(self, text, author_id, parent,
                   created_at=None) -> dict[str, Any]:
        tweet_id = str(1800000000000000000 + self.next_id() * 4096)
        tweet = {"id": tweet_id, "text": text, "author_id": author_id,
                 "created_at": created_at or iso_z(utc_now()).replace(
                     "Z", ".000Z"),
                 "conversation_id": parent["conversation_id"] if parent
                 else tweet_id}
        if parent:
            tweet["in_reply_to_user_id"] = parent["author_id"]
            tweet["referenced_tweets"] = [{"type": "replied_to",
                                           "id": parent["id"]}]
        self.tweets.append(tweet)
        return tweet

    def seed_mention(self, text: str, *, author: str = "curious_dev",
                     in_reply_to: str | None = None,
                     **unused: Any) -> dict[str, Any]:
        """A post by `author` that mentions the sandbox account."""
        if unused:
            raise ValueError("unknown x mention fields: "
                             + ", ".join(sorted(unused)))
        if f"@{accounts.X_USERNAME}".lower() not in text.lower():
            text = f"@{accounts.X_USERNAME} {text}"
        author_id = str(1600000000000000000 + sum(map(ord, author)))
        self.users.setdefault(author_id, {
            "id": author_id, "name": author.replace("_", " ").title(),
            "username": author})
        parent = None
        if in_reply_to is not None:
            parent = next((t for t in self.tweets
                           if t["id"] == str(in_reply_to)), None)
            if parent is None:
                raise ValueError(f"tweet {in_reply_to} does not exist")
        return dict(self._add_tweet(text, author_id, parent))


def _is_reply(request: Request) -> bool:
    try:
        body = request.json()
    except BadRequestBody:
        return False
    return isinstance(body, dict) and bool(body.get("reply"))


def _fields(request: Request, name: str) -> set[str]:
    return {f.strip() for f in (request.arg(name) or "").split(",")
            if f.strip()}


def _tweet_view(tweet: dict[str, Any], fields: set[str]) -> dict[str, Any]:
    """id, text and edit history always; other fields only when asked."""
    view = {"id": tweet["id"], "text": tweet["text"],
            "edit_history_tweet_ids": [tweet["id"]]}
    for field in ("author_id", "created_at", "conversation_id",
                  "in_reply_to_user_id", "referenced_tweets"):
        if field in fields and field in tweet:
            view[field] = tweet[field]
    return view


def _window_headers(window: FixedWindow) -> dict[str, str]:
    return {"x-rate-limit-limit": str(window.limit),
            "x-rate-limit-remaining": str(window.remaining),
            "x-rate-limit-reset": str(int(window.reset_epoch))}


def _daily_headers(user: FixedWindow, app: FixedWindow) -> dict[str, str]:
    return {"x-user-limit-24hour-limit": str(user.limit),
            "x-user-limit-24hour-remaining": str(user.remaining),
            "x-user-limit-24hour-reset": str(int(user.reset_epoch)),
            "x-app-limit-24hour-limit": str(app.limit),
            "x-app-limit-24hour-remaining": str(app.remaining),
            "x-app-limit-24hour-reset": str(int(app.reset_epoch))}
