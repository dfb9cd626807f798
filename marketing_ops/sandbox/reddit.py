"""Reddit stand-in: the password-grant token endpoint (www.reddit.com) and
the OAuth API (oauth.reddit.com) a script app uses.

As Reddit does, several failures come back as HTTP 200: a wrong password
is `{"error": "invalid_grant"}` and a refused submission carries
`{"json": {"errors": [[CODE, message, field], ...]}}`. Rate limits travel in
`X-Ratelimit-Used/-Remaining/-Reset`, where Reset is seconds until the
window ends (not a timestamp).

Every request must carry a descriptive User-Agent of the documented form
`<platform>:<app ID>:<version string> (by /u/<reddit username>)`, e.g.
`linux:org.example.marketing-ops:v0.1.0 (by /u/sandbox_redditor)`. A
missing or generic one (python-requests/..., curl/...) is throttled with a
429, as Reddit throttles such clients; any other agent not in that form is
refused with 403 — stricter than Reddit, which only asks for the form, so
that a connector sending a careless agent is caught here rather than
throttled in production.
"""

from __future__ import annotations

import base64
import re
import time
from typing import Any

from . import accounts
from .base import PlatformSandbox
from .wire import Request, Response, Route

WEB = "https://www.reddit.com"
TOKEN_LIFETIME = 86400
WINDOW_SECONDS = 600
WINDOW_LIMIT = 1000       # 100 queries per minute over a 10-minute window
MAX_TITLE = 300
MAX_SELF_TEXT = 40000
MAX_COMMENT = 10000

GENERIC_AGENTS = re.compile(
    r"^(python-requests|python-urllib|python/|curl|wget|go-http-client|"
    r"java/|okhttp|libwww-perl|node-fetch|axios|aiohttp|httpx|undici|"
    r"mozilla/5\.0 \(compatible\)$)", re.IGNORECASE)
DESCRIPTIVE_AGENT = re.compile(
    r"^[^\s:]+:[^\s:]+:[^\s:]+ \(by /u/[A-Za-z0-9_-]{3,20}\)")

UNAUTHORIZED = {"message": "Unauthorized", "error": 401}


def _to_base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while number:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
    return text or "0"


def _json_errors(*errors: list[str]) -> Response:
    return Response.json(200, {"json": {"errors": [list(e) for e in errors]}})


class RedditSandbox(PlatformSandbox):
    name = "reddit"
    error_in_200_endpoints = frozenset({"token", "publish", "reply"})
    endpoint_names = frozenset({"token", "preflight", "publish", "reply",
                                "mentions", "read", "reconcile",
                                "submitted"})

    def __init__(self, state) -> None:
        super().__init__(state)
        self.tokens: dict[str, tuple[float, float]] = {}  # issued, expiry
        self.window_start = time.time()
        self.window_used = 0
        self.posts: list[dict[str, Any]] = []
        self.comments: dict[str, dict[str, Any]] = {}
        self.inbox: list[dict[str, Any]] = []

    # -- routing --------------------------------------------------------

    def route(self, request: Request) -> Route | None:
        path = re.sub(r"\.json$", "", request.path.rstrip("/"))
        method = request.method
        if path == "/www/api/v1/access_token" and method == "POST":
            return Route(("token",), self._checked(self._token, api=False))
        table = [
            ("GET", r"/oauth/api/v1/me", ("preflight",), self._me),
            ("POST", r"/oauth/api/submit", ("publish",), self._submit),
            ("POST", r"/oauth/api/comment", ("reply",), self._comment),
            ("GET", r"/oauth/message/(inbox|unread|mentions)",
             ("mentions",), self._messages),
            ("POST", r"/oauth/api/read_message", ("read",),
             self._read_message),
            ("GET", r"/oauth/user/([^/]+)/submitted",
             ("reconcile", "submitted"), self._submitted),
        ]
        for verb, pattern, names, handler in table:
            match = re.fullmatch(pattern, path)
            if match and verb == method:
                groups = match.groups()
                return Route(names, self._checked(
                    lambda r, h=handler, g=groups: h(r, *g)))
        return None

    def not_found(self, request: Request) -> Response:
        return Response.json(404, {"message": "Not Found", "error": 404})

    def _checked(self, handler, api: bool = True):
        """User-Agent, bearer token and rate window, then the handler."""
        def checked(request: Request) -> Response:
            refusal = _agent_refusal(request.header("user-agent"))
            if refusal:
                return refusal
            if not api:
                return handler(request)
            refusal = self._bearer_refusal(request)
            if refusal:
                return refusal
            allowed, headers = self._count()
            if not allowed:
                return Response.json(429, {"message": "Too Many Requests",
                                           "error": 429}, headers)
            response = handler(request)
            response.headers.update(headers)
            return response
        return checked

    def _bearer_refusal(self, request: Request) -> Response | None:
        scheme, _, token = (request.header("authorization") or "").partition(
            " ")
        challenge = 'Bearer realm="reddit", error="invalid_token"'
        if scheme.lower() != "bearer" or not token.strip():
            return Response.json(401, UNAUTHORIZED,
                                 {"www-authenticate": challenge})
        issued, expiry = self.tokens.get(token.strip(), (0.0, 0.0))
        revoked = self.revoked()
        if revoked is not None and revoked.get("token_only") and \
                issued > revoked["_at"]:
            revoked = None
        if expiry < time.time() or revoked is not None:
            return Response.json(401, UNAUTHORIZED,
                                 {"www-authenticate": challenge})
        return None

    def _count(self) -> tuple[bool, dict[str, str]]:
        now = time.time()
        if now >= self.window_start + WINDOW_SECONDS:
            self.window_start, self.window_used = now, 0
        allowed = self.window_used < WINDOW_LIMIT
        if allowed:
            self.window_used += 1
        reset = int(self.window_start + WINDOW_SECONDS - now)
        return allowed, _rate_headers(self.window_used,
                                      WINDOW_LIMIT - self.window_used, reset)

    # -- faults ---------------------------------------------------------

    def fault_response(self, kind, params, request, route):
        endpoint = route.names[0]
        if kind == "rate_limit":
            reset = int(params.get("reset", 120))
            return Response.json(429, {"message": "Too Many Requests",
                                       "error": 429},
                                 _rate_headers(WINDOW_LIMIT, 0, reset))
        if kind == "server_error":
            status = int(params.get("status", 503))
            return Response.text(
                status, "<!doctype html><html><head><title>Reddit - Server "
                        "Error</title></head><body><h1>Our CDN was unable to "
                        "reach our servers</h1></body></html>", "text/html")
        # error_in_200
        if endpoint == "token":
            return Response.json(200, {"error": params.get(
                "error", "invalid_grant")})
        minutes = int(params.get("minutes", 5))
        return _json_errors([
            params.get("code", "RATELIMIT"),
            params.get("message", "you are doing that too much. try again "
                                  f"in {minutes} minutes."),
            params.get("field", "ratelimit")])

    # -- token endpoint -------------------------------------------------

    def _token(self, request: Request) -> Response:
        client = _basic_auth(request.header("authorization"))
        revoked = self.revoked()
        if client != (accounts.REDDIT_CLIENT_ID, accounts.REDDIT_CLIENT_SECRET) \
                or (revoked is not None and not revoked.get("token_only")):
            return Response.json(401, UNAUTHORIZED)
        form = request.form()
        if form.get("grant_type") != "password":
            return Response.json(200, {"error": "unsupported_grant_type"})
        if form.get("username") != accounts.REDDIT_USERNAME or \
                form.get("password") != accounts.REDDIT_PASSWORD:
            return Response.json(200, {"error": "invalid_grant"})
        token = f"{self.next_id()}-sandboxRedditAccessToken{int(time.time())}"
        self.tokens[token] = (time.time(), time.time() + TOKEN_LIFETIME)
        return Response.json(200, {"access_token": token,
                                   "token_type": "bearer",
                                   "expires_in": TOKEN_LIFETIME,
                                   "scope": form.get("scope") or "*"})

    # -- API ------------------------------------------------------------

    def _me(self, request: Request) -> Response:
        return Response.json(200, {
            "name": accounts.REDDIT_USERNAME, "id": accounts.REDDIT_USER_ID,
            "link_karma": 1, "comment_karma": 1, "total_karma": 2,
            "has_verified_email": True, "is_suspended": False,
            "is_gold": False, "is_mod": False, "over_18": False,
            "created_utc": 1577836800.0, "inbox_count": sum(
                1 for item in self.inbox if item["data"]["new"])})

    def _submit(self, request: Request) -> Response:
        form = request.form()
        if form.get("api_type") != "json":
            # Without api_type=json Reddit answers in its old jQuery format.
            return Response.json(200, {"jquery": [[0, 1, "call", ["body"]]],
                                       "success": False})
        errors = self._submission_errors(form)
        if errors:
            return _json_errors(*errors)

        subreddit = self._subreddit(form["sr"])
        post_id = _to_base36(10_000_000 + self.next_id())
        slug = re.sub(r"[^a-z0-9]+", "_", form["title"].lower()).strip("_")
        url = f"{WEB}/r/{subreddit}/comments/{post_id}/{slug[:50]}/"
        is_self = form.get("kind") == "self"
        post = {"id": post_id, "name": f"t3_{post_id}",
                "title": form["title"], "selftext": form.get("text", "")
                if is_self else "", "url": url if is_self else form["url"],
                "permalink": url[len(WEB):], "subreddit": subreddit,
                "author": accounts.REDDIT_USERNAME, "is_self": is_self,
                "created_utc": float(int(time.time()))}
        self.posts.append(post)
        self.record(kind="post", text=post["selftext"] or post["url"],
                    title=form["title"], remote_id=post["name"],
                    permalink=url, target=f"r/{subreddit}",
                    extra={"kind": form.get("kind")})
        return Response.json(200, {"json": {"errors": [], "data": {
            "url": url, "drafts_count": 0, "id": post_id,
            "name": f"t3_{post_id}"}}})

    def _submission_errors(self, form: dict[str, str]) -> list[list[str]]:
        errors = []
        if not form.get("sr"):
            errors.append(["SUBREDDIT_REQUIRED", "you must specify a "
                           "subreddit", "sr"])
        elif self._subreddit(form["sr"]) is None:
            errors.append(["SUBREDDIT_NOEXIST", "that subreddit doesn't "
                           "exist", "sr"])
        kind = form.get("kind")
        if kind not in ("self", "link"):
            errors.append(["INVALID_OPTION", "that option is not valid",
                           "kind"])
        title = form.get("title", "")
        if not title.strip():
            errors.append(["NO_TEXT", "we need something here", "title"])
        elif len(title) > MAX_TITLE:
            errors.append(["TOO_LONG", f"this is too long (max: {MAX_TITLE})",
                           "title"])
        if kind == "self" and len(form.get("text", "")) > MAX_SELF_TEXT:
            errors.append(["TOO_LONG", "this is too long (max: "
                           f"{MAX_SELF_TEXT})", "text"])
        if kind == "link":
            errors.extend(self._link_errors(form))
        return errors

    def _link_errors(self, form: dict[str, str]) -> list[list[str]]:
        url = form.get("url", "")
        if not url:
            return [["NO_URL", "a url is required", "url"]]
        if not re.match(r"https?://[^\s/]+\.[^\s/]+", url):
            return [["BAD_URL", "you should check that url", "url"]]
        resubmit = form.get("resubmit", "").lower() in ("true", "1", "on")
        subreddit = self._subreddit(form.get("sr", ""))
        if not resubmit and any(p["url"] == url and not p["is_self"]
                                and p["subreddit"] == subreddit
                                for p in self.posts):
            return [["ALREADY_SUB", "that link has already been submitted",
                     "url"]]
        return []

    def _subreddit(self, name: str) -> str | None:
        name = re.sub(r"^/?r/", "", name.strip()).lower()
        return next((s for s in accounts.REDDIT_SUBREDDITS
                     if s.lower() == name), None)

    def _comment(self, request: Request) -> Response:
        form = request.form()
        parent_name = form.get("thing_id", "")
        text = form.get("text", "")
        post, parent_comment = self._thing(parent_name)
        if post is None:
            if parent_name.startswith("t1_"):
                return _json_errors(["DELETED_COMMENT", "that comment has "
                                     "been deleted", "parent"])
            return _json_errors(["DELETED_LINK", "the link you are "
                                 "commenting on has been deleted", "parent"])
        if not text.strip():
            return _json_errors(["NO_TEXT", "we need something here",
                                 "text"])
        if len(text) > MAX_COMMENT:
            return _json_errors(["TOO_LONG", "this is too long (max: "
                                 f"{MAX_COMMENT})", "text"])

        comment = self._add_comment(post, parent_name, text,
                                    accounts.REDDIT_USERNAME)
        permalink = WEB + comment["permalink"]
        self.record(kind="reply", text=text, remote_id=comment["name"],
                    permalink=permalink, target=f"r/{post['subreddit']}",
                    in_reply_to=parent_name)
        return Response.json(200, {"json": {"errors": [], "data": {
            "things": [{"kind": "t1", "data": dict(comment)}]}}})

    def _messages(self, request: Request, box: str) -> Response:
        items = list(reversed(self.inbox))
        if box == "unread":
            items = [i for i in items if i["data"]["new"]]
        elif box == "mentions":
            items = [i for i in items
                     if i["data"]["type"] == "username_mention"]
        page, after = _page(request, items)
        listing = _listing(page, after)
        # Reading a box marks what it showed as read unless mark=false.
        if (request.arg("mark") or "true").lower() != "false":
            for item in page:
                item["data"]["new"] = False
        return Response.json(200, listing)

    def _read_message(self, request: Request) -> Response:
        names = {n.strip() for n in request.form().get("id", "").split(",")}
        for item in self.inbox:
            if item["data"]["name"] in names:
                item["data"]["new"] = False
        return Response.json(200, {})

    def _submitted(self, request: Request, username: str) -> Response:
        if username.lower() != accounts.REDDIT_USERNAME.lower():
            return Response.json(404, {"message": "Not Found", "error": 404})
        items = [{"kind": "t3", "data": dict(p)}
                 for p in reversed(self.posts)]
        page, after = _page(request, items)
        return Response.json(200, _listing(page, after))

    # -- storage and seeding --------------------------------------------

    def _thing(self, name: str):
        """(post, comment) for a fullname; post is None when unknown."""
        if name.startswith("t3_"):
            post = next((p for p in self.posts if p["name"] == name), None)
            return post, None
        comment = self.comments.get(name)
        if comment is None:
            return None, None
        post = next(p for p in self.posts
                    if p["name"] == comment["link_id"])
        return post, comment

    def _add_comment(self, post, parent_name, text, author):
        comment_id = _to_base36(50_000_000 + self.next_id())
        comment = {
            "id": comment_id, "name": f"t1_{comment_id}", "body": text,
            "author": author, "link_id": post["name"],
            "parent_id": parent_name, "subreddit": post["subreddit"],
            "permalink": f"/r/{post['subreddit']}/comments/{post['id']}/_/"
                         f"{comment_id}/",
            "created_utc": float(int(time.time())), "score": 1}
        self.comments[comment["name"]] = comment
        return comment

    def _placeholder_post(self) -> dict[str, Any]:
        post_id = _to_base36(10_000_000 + self.next_id())
        post = {"id": post_id, "name": f"t3_{post_id}",
                "title": "A thread elsewhere", "selftext": "",
                "url": f"{WEB}/r/test/comments/{post_id}/elsewhere/",
                "permalink": f"/r/test/comments/{post_id}/elsewhere/",
                "subreddit": "test", "author": "someone_else",
                "is_self": True, "created_utc": float(int(time.time()))}
        self.posts.append(post)
        return post

    def seed_mention(self, text: str, *, author: str = "curious_redditor",
                     kind: str = "post_reply", parent: str | None = None,
                     subject: str | None = None,
                     **unused: Any) -> dict[str, Any]:
        """An inbox item: post_reply, comment_reply, username_mention (t1)
        or private_message (t4). Returns the Listing child."""
        if unused:
            raise ValueError("unknown reddit mention fields: "
                             + ", ".join(sorted(unused)))
        if kind == "private_message":
            message_id = _to_base36(70_000_000 + self.next_id())
            data = {"id": message_id, "name": f"t4_{message_id}",
                    "author": author, "body": text, "was_comment": False,
                    "type": "unknown", "subject": subject or "hello",
                    "dest": accounts.REDDIT_USERNAME, "new": True,
                    "created_utc": float(int(time.time())), "context": "",
                    "parent_id": None, "subreddit": None}
            item = {"kind": "t4", "data": data}
            self.inbox.append(item)
            return item
        if kind not in ("post_reply", "comment_reply", "username_mention"):
            raise ValueError("reddit mentions are post_reply, comment_reply, "
                             "username_mention or private_message")

        post, parent_name = self._seed_parent(kind, parent)
        comment = self._add_comment(post, parent_name, text, author)
        data = {**comment, "was_comment": True, "type": kind, "new": True,
                "subject": subject or {"post_reply": "post reply",
                                       "comment_reply": "comment reply",
                                       "username_mention":
                                           "username mention"}[kind],
                "link_title": post["title"],
                "dest": accounts.REDDIT_USERNAME,
                "context": comment["permalink"] + "?context=3"}
        item = {"kind": "t1", "data": data}
        self.inbox.append(item)
        return item

    def _seed_parent(self, kind, parent):
        if parent:
            post, _ = self._thing(parent)
            if post is None:
                raise ValueError(f"reddit thing {parent} does not exist")
            return post, parent
        own = [p for p in self.posts
               if p["author"] == accounts.REDDIT_USERNAME]
        if kind == "comment_reply":
            mine = [c for c in self.comments.values()
                    if c["author"] == accounts.REDDIT_USERNAME]
            if mine:
                post, _ = self._thing(mine[-1]["name"])
                return post, mine[-1]["name"]
        if kind == "post_reply" and own:
            return own[-1], own[-1]["name"]
        post = self._placeholder_post()
        return post, post["name"]


def _agent_refusal(agent: str | None) -> Response | None:
    agent = (agent or "").strip()
    if not agent or GENERIC_AGENTS.match(agent):
        return Response.json(429, {"message": "Too Many Requests",
                                   "error": 429})
    if not DESCRIPTIVE_AGENT.match(agent):
        return Response.json(403, {
            "message": "Forbidden", "error": 403,
            "reason": "The sandbox requires a User-Agent of the form "
                      "<platform>:<app ID>:<version string> "
                      "(by /u/<reddit username>)"})
    return None


def _basic_auth(header: str | None) -> tuple[str, str] | None:
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip()).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    client_id, _, secret = decoded.partition(":")
    return client_id, secret


def _rate_headers(used: int, remaining: int, reset: int) -> dict[str, str]:
    return {"X-Ratelimit-Used": str(used),
            "X-Ratelimit-Remaining": f"{float(max(remaining, 0)):.1f}",
            "X-Ratelimit-Reset": str(max(reset, 0))}


def _page(request: Request, items: list[dict[str, Any]]):
    try:
        limit = min(max(int(request.arg("limit", "25")), 1), 100)
    except ValueError:
        limit = 25
    after = request.arg("after")
    if after:
        names = [i["data"]["name"] for i in items]
        items = items[names.index(after) + 1:] if after in names else []
    page = items[:limit]
    next_after = page[-1]["data"]["name"] if len(items) > limit else None
    return page, next_after


def _listing(children: list[dict[str, Any]],
             after: str | None) -> dict[str, Any]:
    return {"kind": "Listing", "data": {
        "after": after, "before": None, "dist": len(children),
        "modhash": None, "geo_filter": "",
        "children": [{"kind": c["kind"], "data": dict(c["data"])}
                     for c in children]}}
