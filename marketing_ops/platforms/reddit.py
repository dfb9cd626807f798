"""Reddit: a "script" app posting as one account.

* Token: OAuth2 password grant at ``{auth_url}/api/v1/access_token`` (HTTP
  Basic with the app's id and secret).  Reddit answers a wrong password
  with HTTP 200 ``{"error": "invalid_grant"}``; that is AUTH_FAILED.  The
  token is kept in memory for the connector's life and fetched again a
  minute before it expires (or once after a 401).  No token file: every run
  is a new process and one token request per run is cheap, while a file
  would be one more secret on disk.
* Preflight: the token, then ``GET /api/v1/me``.
* Publish: ``POST /api/submit`` in ``REDDIT_SUBREDDIT`` (or the draft's
  ``reddit.subreddit``).  Title: ``reddit.title`` override, else the draft's
  title (limit 300).  ``reddit.kind: link`` with ``reddit.url`` posts a
  link; otherwise a self post with the draft's body (limit 40000) and, at
  its end, the marker as an empty Markdown link ``[](#marketing-ops-…)``,
  which Reddit renders as nothing.  Reddit reports refusals inside HTTP 200
  (``json.errors``: RATELIMIT, SUBREDDIT_NOEXIST, TOO_LONG, ALREADY_SUB…);
  they are read, not only the status.
* Reconcile: the account's newest submissions, matched on the marker in a
  self post's text.  A link post cannot carry a marker: when a link post in
  the same subreddit appeared after the intent, the answer is "unknown"
  with its permalink for a person to confirm.
* Mentions: the unread inbox (comment replies, post replies, username
  mentions), without marking anything read.  Reply: ``POST /api/comment``.

User-Agent, as Reddit requires: ``<platform>:<app ID>:<version> (by
/u/<username>)``.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import datetime, timezone

from marketing_ops import __version__
from marketing_ops.platforms.base import (
    AUTH_FAILED, DUPLICATE, INVALID_CONTENT, NETWORK_ERROR,
    PERMISSION_DENIED, PLATFORM_ERROR, RATE_LIMITED, Connector, Mention,
    Outcome, PreflightResult, Rendered, read_failure)

logger = logging.getLogger(__name__)

_WAIT = re.compile(r"(\d+)\s*(millisecond|second|minute|hour)", re.I)

#: Reddit error codes inside HTTP 200 and what they mean for us.
_ERROR_CODES = {
    "RATELIMIT": RATE_LIMITED,
    "SUBREDDIT_NOEXIST": PERMISSION_DENIED,
    "SUBREDDIT_NOTALLOWED": PERMISSION_DENIED,
    "SUBREDDIT_REQUIRED": PERMISSION_DENIED,
    "THREAD_LOCKED": PERMISSION_DENIED,
    "DELETED_COMMENT": PERMISSION_DENIED,
    "USER_REQUIRED": AUTH_FAILED,
    "ALREADY_SUB": DUPLICATE,
    "TOO_LONG": INVALID_CONTENT,
    "NO_TEXT": INVALID_CONTENT,
    "NO_URL": INVALID_CONTENT,
    "BAD_URL": INVALID_CONTENT,
}


class RedditConnector(Connector):
    name = "reddit"
    can_publish = True
    can_reply = True
    can_read_mentions = True
    can_reconcile = True
    credential_names = ("REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET",
                        "REDDIT_USERNAME", "REDDIT_PASSWORD",
                        "REDDIT_SUBREDDIT")

    TITLE_LIMIT = 300
    BODY_LIMIT = 40_000
    # Comment length: Reddit's site limit is 10,000 characters, but no
    # document at hand states it for the API; a longer reply is refused by
    # Reddit with TOO_LONG (INVALID_CONTENT) rather than sent cut short.
    COMMENT_LIMIT = 10_000
    #: Fetch a new token this many seconds before the old one expires.
    TOKEN_MARGIN = 60
    RECENT_SUBMISSIONS = 25

    def __init__(self, settings, platform_config, *, timeout=15.0):
        super().__init__(settings, platform_config, timeout=timeout)
        self.auth_url = self.config.get(
            "auth_url", "https://www.reddit.com").rstrip("/")
        self.api_url = self.config.get(
            "api_url", "https://oauth.reddit.com").rstrip("/")
        self.app_id = self.config.get("app_id", "marketing-ops")
        self.username = self.credential("REDDIT_USERNAME")
        self.subreddit = self.credential("REDDIT_SUBREDDIT") \
            .removeprefix("r/").removeprefix("/r/")
        self._token: str | None = None
        self._token_expires = 0.0

    @property
    def user_agent(self) -> str:
        return (f"python:{self.app_id}:v{__version__} "
                f"(by /u/{self.username})")

    def read_rate_limit(self, status, headers, payload):
        return rate_limit(status, headers, payload)

    def http_options(self) -> dict:
        return {"user_agent": self.user_agent}

    # -- token -------------------------------------------------------------------

    def _ensure_token(self) -> Outcome | None:
        """Fetch a token unless a fresh one is held; a failed Outcome when
        that is impossible."""
        if self._token and time.monotonic() < self._token_expires:
            return None
        from marketing_ops.platforms.http import common_failure

        reply = self.http.request(
            "POST", f"{self.auth_url}/api/v1/access_token",
            auth=(self.credential("REDDIT_CLIENT_ID"),
                  self.credential("REDDIT_CLIENT_SECRET")),
            data={"grant_type": "password", "username": self.username,
                  "password": self.credential("REDDIT_PASSWORD")})
        outcome = common_failure(reply, "token request")
        if outcome:
            return outcome
        payload = reply.json()
        if reply.status == 401:
            return Outcome.failed(AUTH_FAILED, "token request: HTTP 401; "
                                  "REDDIT_CLIENT_ID or REDDIT_CLIENT_SECRET "
                                  "is wrong")
        if not isinstance(payload, dict):
            return Outcome.failed(PLATFORM_ERROR, "token request: the "
                                  "answer could not be read")
        # Reddit says "wrong password" with HTTP 200 and an error body.
        if payload.get("error") or reply.status != 200:
            error = payload.get("error") or f"HTTP {reply.status}"
            hint = {"invalid_grant": "wrong REDDIT_USERNAME/REDDIT_PASSWORD "
                                     "(or the account needs a 2FA code)",
                    "unauthorized_client": "the app is not a 'script' app"
                    }.get(str(error), "the credentials were refused")
            return Outcome.failed(AUTH_FAILED,
                                  f"token request: {error}; {hint}")
        if not payload.get("access_token"):
            return Outcome.failed(PLATFORM_ERROR, "token request: no "
                                  "access_token in the answer")
        self._token = payload["access_token"]
        lifetime = float(payload.get("expires_in") or 3600)
        self._token_expires = time.monotonic() + max(
            lifetime - self.TOKEN_MARGIN, 0)
        self.http.secrets.append(self._token)
        return None

    def _api(self, method: str, path: str, *, write: bool = False,
             **kwargs):
        """The Reply for one API call with a valid token, or a failed
        Outcome when no token could be had.  A 401 (token expired early)
        is answered by one new token and one more try: Reddit refused the
        first request, so sending it again cannot post twice."""
        for attempt in (1, 2):
            outcome = self._ensure_token()
            if outcome:
                return None, outcome
            reply = self.http.request(
                method, f"{self.api_url}{path}", write=write,
                headers={"Authorization": f"bearer {self._token}"}, **kwargs)
            if reply.status != 401 or attempt == 2:
                return reply, None
            self._token = None
        return reply, None

    # -- preflight -----------------------------------------------------------------

    def preflight(self) -> PreflightResult:
        from marketing_ops.platforms.http import common_failure

        started = time.monotonic()
        reply, outcome = self._api("GET", "/api/v1/me")
        if outcome is None:
            outcome = common_failure(reply, "GET /api/v1/me") or \
                _status_failure(reply, "GET /api/v1/me")
        if outcome:
            return self.result(False, outcome.reason_code, outcome.detail,
                               seconds=time.monotonic() - started)
        me = reply.json() if isinstance(reply.json(), dict) else {}
        name = me.get("name")
        if not name:
            return self.result(False, PLATFORM_ERROR, "GET /api/v1/me "
                               "answered without a name",
                               seconds=time.monotonic() - started)
        if me.get("is_suspended"):
            return self.result(False, PERMISSION_DENIED, f"u/{name} is "
                               "suspended", f"u/{name}",
                               time.monotonic() - started)
        return self.result(True, None, f"u/{name} (posts to "
                           f"r/{self.subreddit})", f"u/{name}",
                           time.monotonic() - started)

    # -- render --------------------------------------------------------------------

    def render(self, draft, *, kind="post", marker=None) -> Rendered:
        override = draft.override(self.name) or {}
        title = (override.get("title") or draft.title).strip()
        subreddit = (override.get("subreddit") or self.subreddit) \
            .removeprefix("r/")
        post_kind = override.get("kind") or "self"
        fields = {"subreddit": subreddit, "kind": post_kind}
        measures = {"title": (len(title), self.TITLE_LIMIT, "chars")}

        if post_kind == "link":
            url = override.get("url") or ""
            fields["url"] = url
            return Rendered(platform=self.name, kind=kind, text=url,
                            plain_text=f"{title}\n{url}", title=title,
                            measures=measures, fields=fields, marker=None)

        body = draft.body.strip()
        text = f"{body}\n\n{marker_link(marker)}" if marker else body
        measures["body"] = (len(text), self.BODY_LIMIT, "chars")
        return Rendered(platform=self.name, kind=kind, text=text,
                        plain_text=f"{title}\n\n{body}", title=title,
                        measures=measures, fields=fields, marker=marker)

    def render_reply(self, mention: Mention, text: str) -> Rendered:
        return Rendered(platform=self.name, kind="reply", text=text,
                        plain_text=text,
                        measures={"body": (len(text), self.COMMENT_LIMIT,
                                          "chars")})

    # -- publish and reply -----------------------------------------------------------

    def publish(self, rendered: Rendered) -> Outcome:
        form = {"sr": rendered.fields.get("subreddit", self.subreddit),
                "kind": rendered.fields.get("kind", "self"),
                "title": rendered.title or "", "api_type": "json",
                "sendreplies": "true", "resubmit": "false"}
        if form["kind"] == "link":
            form["url"] = rendered.fields.get("url", "")
        else:
            form["text"] = rendered.text
        data, outcome = self._write("/api/submit", form)
        if outcome:
            return outcome
        if not data.get("url"):
            return Outcome.unknown(PLATFORM_ERROR, "submit answered without "
                                   "a URL; check the subreddit")
        logger.info("reddit: submitted %s", data.get("name"))
        return Outcome.published(data["url"], data.get("name"))

    def reply(self, mention: Mention, rendered: Rendered) -> Outcome:
        data, outcome = self._write("/api/comment", {
            "thing_id": mention.raw_ref["thing_id"], "text": rendered.text,
            "api_type": "json"})
        if outcome:
            return outcome
        things = data.get("things") or []
        comment = (things[0] or {}).get("data") or {} if things else {}
        if not comment.get("id"):
            return Outcome.unknown(PLATFORM_ERROR, "comment answered without "
                                   "an id; check the thread")
        link_id = str(comment.get("link_id", "")).removeprefix("t3_")
        subreddit = comment.get("subreddit") or \
            mention.raw_ref.get("subreddit") or self.subreddit
        permalink = comment.get("permalink")
        url = (f"https://www.reddit.com{permalink}" if permalink else
               f"https://www.reddit.com/r/{subreddit}/comments/{link_id}/_/"
               f"{comment['id']}/")
        return Outcome.published(url, comment.get("name") or comment["id"])

    def _write(self, path: str, form: dict):
        """(json.data, None) or (None, Outcome) for a form POST."""
        from marketing_ops.platforms.http import common_failure, unreadable

        reply, outcome = self._api("POST", path, write=True,
                                   params={"raw_json": 1}, data=form)
        if outcome:
            return None, outcome
        outcome = common_failure(reply, f"POST {path}", write=True,
                                 where=f"r/{form.get('sr') or self.subreddit}")
        if outcome:
            return None, outcome
        if reply.status != 200:
            return None, _status_failure(reply, f"POST {path}")
        payload = reply.json()
        body = payload.get("json") if isinstance(payload, dict) else None
        if not isinstance(body, dict):
            return None, unreadable(f"POST {path}", write=True,
                                    where="Reddit")
        if body.get("errors"):
            return None, _submit_error(body["errors"], path)
        return body.get("data") or {}, None

    # -- reconcile and mentions ---------------------------------------------------

    def find_published(self, marker: str, since: datetime,
                       text: str | None = None) -> Outcome | None:
        from marketing_ops.platforms.http import common_failure

        reply, outcome = self._api(
            "GET", f"/user/{self.username}/submitted",
            params={"sort": "new", "limit": self.RECENT_SUBMISSIONS,
                    "raw_json": 1})
        if outcome is None:
            outcome = common_failure(reply, "GET submitted") or \
                _status_failure(reply, "GET submitted")
        listing = reply.json() if outcome is None else None
        if outcome is None and not isinstance(listing, dict):
            outcome = Outcome.failed(PLATFORM_ERROR, "GET submitted: the "
                                     "answer could not be read")
        if outcome:
            # Not knowing is not "not posted": never let the caller post
            # again because the check itself failed.
            return Outcome.unknown(outcome.reason_code or NETWORK_ERROR,
                                   "could not list submissions: " +
                                   outcome.detail)

        needle = marker_link(marker)
        candidates = []
        for child in (listing.get("data") or {}).get("children") or []:
            post = child.get("data") or {}
            created = float(post.get("created_utc") or 0)
            if needle in (post.get("selftext") or ""):
                return Outcome.published(_post_url(post), post.get("name"),
                                         "found by its marker")
            if not post.get("is_self") and created >= since.timestamp() \
                    and str(post.get("subreddit", "")).lower() == \
                    self.subreddit.lower():
                candidates.append(_post_url(post))
        if candidates:
            return Outcome.unknown(
                PLATFORM_ERROR, "link post(s) since the attempt cannot carry "
                "a marker; confirm by hand: " + ", ".join(candidates))
        return None

    def read_mentions(self, cursor):
        """Cursor: the fullname of the newest inbox item seen.  Reddit's
        unread listing is newest first; items up to the cursor are
        dropped, and nothing is marked read (a person may read the inbox
        too)."""
        from marketing_ops.platforms.http import common_failure

        reply, outcome = self._api("GET", "/message/unread", params={
            "mark": "false", "limit": 100, "raw_json": 1})
        if outcome is None:
            outcome = common_failure(reply, "GET /message/unread") or \
                _status_failure(reply, "GET /message/unread")
        payload = reply.json() if outcome is None else None
        if outcome is None and not isinstance(payload, dict):
            outcome = Outcome.failed(PLATFORM_ERROR, "GET /message/unread: "
                                     "the answer could not be read")
        if outcome:
            raise read_failure(self.name, outcome)

        mentions = []
        for child in (payload.get("data") or {}).get("children") or []:
            item = child.get("data") or {}
            if item.get("name") == cursor:
                break
            mentions.append(self._mention(item))
        mentions.reverse()
        newest = mentions[-1].id if mentions else cursor
        return mentions, newest

    def _mention(self, item: dict) -> Mention:
        context = item.get("context") or ""
        kind = item.get("type") or ""
        return Mention(
            platform=self.name, id=str(item.get("name")),
            thread_id=str(item.get("link_id") or item.get("parent_id")
                          or item.get("name")),
            author=item.get("author"), text=item.get("body") or "",
            url=f"https://www.reddit.com{context}" if context else None,
            addressed_us=kind in ("comment_reply", "post_reply",
                                  "username_mention"),
            created_at=datetime.fromtimestamp(
                float(item.get("created_utc") or 0), timezone.utc),
            raw_ref={"thing_id": item.get("name"),
                     "subreddit": item.get("subreddit")})


CONNECTOR = RedditConnector


def marker_link(marker: str) -> str:
    """An empty Markdown link: invisible on Reddit, present in the text
    the API returns."""
    return f"[](#marketing-ops-{marker})"


def rate_limit(status, headers, payload):
    """429, waiting ``Retry-After`` if sent, else ``X-Ratelimit-Reset``
    (seconds until the window resets, not an epoch)."""
    from marketing_ops.platforms.http import (Limit, first_known,
                                              retry_after_header,
                                              seconds_header)

    if status != 429:
        return None
    return Limit(first_known(retry_after_header(headers),
                             seconds_header(headers, "X-Ratelimit-Reset")))


def wait_from_message(message: str) -> float | None:
    """Seconds from "try again in 9 minutes" and the like."""
    match = _WAIT.search(message or "")
    if not match:
        return None
    amount, unit = int(match.group(1)), match.group(2).lower()
    return amount * {"millisecond": 0.001, "second": 1, "minute": 60,
                     "hour": 3600}[unit]


def _submit_error(errors: list, path: str) -> Outcome:
    first = errors[0] if isinstance(errors[0], (list, tuple)) else \
        [str(errors[0])]
    code = str(first[0]) if first else "ERROR"
    message = str(first[1]) if len(first) > 1 else ""
    field = str(first[2]) if len(first) > 2 else ""
    detail = f"POST {path}: {code} {message}".strip()
    if field:
        detail += f" (field {field})"
    reason = _ERROR_CODES.get(code, PLATFORM_ERROR)
    if reason == RATE_LIMITED:
        return Outcome.failed(RATE_LIMITED, detail, wait_from_message(message))
    if reason == DUPLICATE:
        return Outcome.unknown(DUPLICATE, detail + "; it was probably posted "
                               "before, check the subreddit")
    # Any other error inside the 200 is Reddit refusing the request.
    return Outcome.failed(reason, detail)


def _status_failure(reply, what: str) -> Outcome | None:
    if 200 <= (reply.status or 0) < 300:
        return None
    if reply.status == 401:
        return Outcome.failed(AUTH_FAILED, f"{what}: HTTP 401; the token "
                              "was refused")
    if reply.status == 403:
        return Outcome.failed(PERMISSION_DENIED, f"{what}: HTTP 403")
    if reply.status == 404:
        return Outcome.failed(PERMISSION_DENIED, f"{what}: HTTP 404")
    return Outcome.failed(PLATFORM_ERROR, f"{what}: HTTP {reply.status}")


def _post_url(post: dict) -> str:
    permalink = post.get("permalink")
    if permalink:
        return f"https://www.reddit.com{permalink}"
    return post.get("url") or f"https://www.reddit.com/comments/{post.get('id')}"
