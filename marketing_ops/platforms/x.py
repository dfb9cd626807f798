"""X (Twitter) API v2, OAuth 1.0a user context.

* Preflight: by default only the credentials' format is checked, because
  X bills ``GET /2/users/me`` as a read; ``live_preflight: true`` in
  platforms.yaml makes preflight call it.
* Publish: ``POST /2/tweets``, signed by requests-oauthlib (the JSON body
  is not part of an OAuth 1.0a signature).  Text: the draft's ``x.text``
  override, else its title followed by the first link found in the body
  (title alone when there is none).  Length is X's weighted count (URLs 23,
  CJK and emoji 2, limit 280), measured by twitter-text.
* Permalink: ``https://x.com/i/web/status/{id}`` (works without knowing the
  account name).
* Duplicate text is refused with a 403; that means an earlier attempt was
  probably posted, so the outcome is "unknown" (reason DUPLICATE).
* Reconcile (``live_reconcile: true``) and mentions (``read_mentions:
  true``) read timelines, which X bills; both are off by default and raise
  Unsupported while off, so nothing is silently skipped.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timezone

from marketing_ops.platforms.base import (
    AUTH_FAILED, DUPLICATE, INVALID_CONTENT, PERMISSION_DENIED,
    PLATFORM_ERROR, Connector, Mention, Outcome, PreflightResult, Rendered,
    Unsupported, first_link, read_failure)

logger = logging.getLogger(__name__)

# Shapes of X's OAuth 1.0a credentials.  A consumer key/secret and an
# access secret are letters and digits; an access token is the user's
# numeric id, a dash, then letters and digits.
_KEY = re.compile(r"[A-Za-z0-9]{10,128}")
_ACCESS_TOKEN = re.compile(r"(\d+)-[A-Za-z0-9]{10,128}")


class XConnector(Connector):
    name = "x"
    can_publish = True
    can_reply = True
    credential_names = ("X_API_KEY", "X_API_SECRET", "X_ACCESS_TOKEN",
                        "X_ACCESS_SECRET")

    TEXT_LIMIT = 280
    RECENT_TWEETS = 20

    def __init__(self, settings, platform_config, *, timeout=15.0):
        super().__init__(settings, platform_config, timeout=timeout)
        self.api_url = self.config.get("api_url",
                                       "https://api.x.com").rstrip("/")
        self.live_preflight = bool(self.config.get("live_preflight", False))
        self.live_reconcile = bool(self.config.get("live_reconcile", False))
        self.mentions_enabled = bool(self.config.get("read_mentions", False))
        # Instance attributes: they depend on configuration.
        self.can_read_mentions = self.mentions_enabled
        self.can_reconcile = self.live_reconcile

    def read_rate_limit(self, status, headers, payload):
        return rate_limit(status, headers, payload)

    def prepare_session(self, session) -> None:
        from requests_oauthlib import OAuth1

        session.auth = OAuth1(
            self.credential("X_API_KEY"),
            client_secret=self.credential("X_API_SECRET"),
            resource_owner_key=self.credential("X_ACCESS_TOKEN"),
            resource_owner_secret=self.credential("X_ACCESS_SECRET"),
            signature_type="AUTH_HEADER")

    @property
    def user_id(self) -> str | None:
        match = _ACCESS_TOKEN.fullmatch(self.credential("X_ACCESS_TOKEN"))
        return match.group(1) if match else None

    # -- preflight -------------------------------------------------------------

    def preflight(self) -> PreflightResult:
        problems = self.format_problems()
        if problems:
            return self.result(False, AUTH_FAILED, "; ".join(problems))
        if not self.live_preflight:
            return self.result(True, None, "credential format OK (not "
                               "checked live: live_preflight is off)",
                               f"user id {self.user_id}")

        from marketing_ops.platforms.http import common_failure

        reply = self.http.request("GET", f"{self.api_url}/2/users/me")
        outcome = common_failure(reply, "GET /2/users/me") or \
            (None if reply.status == 200 else _status_failure(reply,
                                                              "GET /2/users/me"))
        if outcome:
            return self.result(False, outcome.reason_code, outcome.detail,
                               seconds=reply.seconds)
        data = (reply.json() or {}).get("data") or {}
        username = data.get("username")
        if not username:
            return self.result(False, PLATFORM_ERROR, "GET /2/users/me "
                               "answered without a user", seconds=reply.seconds)
        return self.result(True, None, f"authenticated as @{username}",
                           f"@{username}", reply.seconds)

    def format_problems(self) -> list[str]:
        """What is wrong with the credentials' shape, without a call."""
        problems = []
        for name in ("X_API_KEY", "X_API_SECRET", "X_ACCESS_SECRET"):
            if not _KEY.fullmatch(self.credential(name)):
                problems.append(f"{name} is not letters and digits only")
        if not _ACCESS_TOKEN.fullmatch(self.credential("X_ACCESS_TOKEN")):
            problems.append("X_ACCESS_TOKEN is not in the form "
                            "<user id>-<token>")
        return problems

    # -- render ----------------------------------------------------------------

    def render(self, draft, *, kind="post", marker=None) -> Rendered:
        override = draft.override(self.name) or {}
        text = override.get("text")
        if not text:
            link = first_link(draft.body)
            text = f"{draft.title.strip()} {link}" if link else \
                draft.title.strip()
        # No marker: X shows every character, so nothing can be hidden.
        return self._rendered(kind, text.strip())

    def render_reply(self, mention: Mention, text: str) -> Rendered:
        rendered = self._rendered("reply", text.strip())
        return rendered

    def _rendered(self, kind: str, text: str) -> Rendered:
        return Rendered(
            platform=self.name, kind=kind, text=text, plain_text=text,
            measures={"text": (weighted_length(text), self.TEXT_LIMIT,
                               "weighted")})

    # -- publish and reply -------------------------------------------------------

    def publish(self, rendered: Rendered) -> Outcome:
        return self._tweet({"text": rendered.text})

    def reply(self, mention: Mention, rendered: Rendered) -> Outcome:
        return self._tweet({"text": rendered.text,
                            "reply": {"in_reply_to_tweet_id":
                                      mention.raw_ref["tweet_id"]}})

    def _tweet(self, body: dict) -> Outcome:
        from marketing_ops.platforms.http import common_failure, unreadable

        reply = self.http.request("POST", f"{self.api_url}/2/tweets",
                                  json=body, write=True)
        outcome = common_failure(reply, "POST /2/tweets", write=True,
                                 where="the account's timeline")
        if outcome:
            return outcome
        if reply.status not in (200, 201):
            return _status_failure(reply, "POST /2/tweets")
        data = (reply.json() or {}).get("data") if isinstance(
            reply.json(), dict) else None
        if not isinstance(data, dict) or not data.get("id"):
            return unreadable("POST /2/tweets", write=True,
                              where="the account's timeline")
        tweet_id = str(data["id"])
        logger.info("x: posted %s", tweet_id)
        return Outcome.published(f"https://x.com/i/web/status/{tweet_id}",
                                 tweet_id)

    # -- reconcile and mentions -------------------------------------------------

    def find_published(self, marker: str, since: datetime,
                       text: str | None = None) -> Outcome | None:
        """Own tweets since ``since`` whose text equals ``text`` (the
        rendered text; X has nowhere to hide a marker).

        Known gap: the shared interface passes only the marker, so a caller
        that does not also pass ``text`` gets Unsupported and the post is
        left for a person to check.  Storing the rendered text with the
        publish intent and passing it here would close the gap."""
        if not self.live_reconcile:
            raise Unsupported("x: reconciliation reads the timeline, which "
                              "X bills; set live_reconcile: true in "
                              "platforms.yaml to allow it")
        if text is None:
            raise Unsupported("x: reconciliation needs the posted text")
        tweets = self._timeline(f"/2/users/{self.user_id}/tweets", {
            "start_time": since.astimezone(timezone.utc)
            .strftime("%Y-%m-%dT%H:%M:%SZ"),
            "max_results": self.RECENT_TWEETS})
        for tweet in tweets:
            if _same_text(tweet.get("text", ""), text):
                return Outcome.published(
                    f"https://x.com/i/web/status/{tweet['id']}",
                    str(tweet["id"]), "found by its text")
        return None

    def read_mentions(self, cursor):
        """Cursor: the newest mention id seen (``since_id``)."""
        if not self.mentions_enabled:
            raise Unsupported("x: reading mentions is billed by X; set "
                              "read_mentions: true in platforms.yaml to "
                              "allow it")
        params = {"max_results": 100,
                  "tweet.fields": "author_id,created_at,conversation_id",
                  "expansions": "author_id"}
        if cursor:
            params["since_id"] = cursor
        payload = self._get(f"/2/users/{self.user_id}/mentions", params)
        users = {u.get("id"): u.get("username") for u in
                 (payload.get("includes") or {}).get("users") or []}
        mentions = [self._mention(t, users) for t in payload.get("data")
                    or []]
        newest = (payload.get("meta") or {}).get("newest_id") or cursor
        return mentions, newest

    def _mention(self, tweet: dict, users: dict) -> Mention:
        created = tweet.get("created_at")
        return Mention(
            platform=self.name, id=str(tweet.get("id")),
            thread_id=str(tweet.get("conversation_id") or tweet.get("id")),
            author=users.get(tweet.get("author_id")),
            text=tweet.get("text", ""),
            url=f"https://x.com/i/web/status/{tweet.get('id')}",
            addressed_us=True,
            created_at=datetime.fromisoformat(created.replace("Z", "+00:00"))
            if created else None,
            raw_ref={"tweet_id": str(tweet.get("id"))})

    def _timeline(self, path: str, params: dict) -> list[dict]:
        return self._get(path, params).get("data") or []

    def _get(self, path: str, params: dict) -> dict:
        from marketing_ops.platforms.http import common_failure, unreadable

        reply = self.http.request("GET", self.api_url + path, params=params)
        outcome = common_failure(reply, f"GET {path}")
        if outcome is None and reply.status != 200:
            outcome = _status_failure(reply, f"GET {path}")
        payload = reply.json()
        if outcome is None and not isinstance(payload, dict):
            outcome = unreadable(f"GET {path}", write=False)
        if outcome:
            raise read_failure(self.name, outcome)
        return payload


CONNECTOR = XConnector


def weighted_length(text: str) -> int:
    """X's weighted length (twitter-text, config v3)."""
    from twitter_text import parse_tweet

    return parse_tweet(text).weightedLength


def rate_limit(status, headers, payload):
    """429 with ``x-rate-limit-reset`` (epoch seconds), or the 24-hour
    bucket's ``x-user-limit-24hour-reset`` when that one ran out."""
    from marketing_ops.platforms.http import (Limit, epoch_header,
                                              first_known,
                                              retry_after_header)

    if status != 429:
        return None
    day_bucket_empty = headers.get("x-user-limit-24hour-remaining") == "0"
    return Limit(first_known(
        retry_after_header(headers),
        epoch_header(headers, "x-user-limit-24hour-reset")
        if day_bucket_empty else None,
        epoch_header(headers, "x-rate-limit-reset")))


def _status_failure(reply, what: str) -> Outcome:
    payload = reply.json() if isinstance(reply.json(), dict) else {}
    detail = str(payload.get("detail") or payload.get("title") or "")
    errors = payload.get("errors") or []
    if not detail and errors and isinstance(errors[0], dict):
        detail = str(errors[0].get("message") or "")
    detail = detail[:200]
    text = f"{what}: HTTP {reply.status} {detail}".strip()
    if reply.status == 401:
        return Outcome.failed(AUTH_FAILED, text + "; the credentials were "
                              "rejected")
    if reply.status == 403 and "duplicate" in detail.lower():
        return Outcome.unknown(DUPLICATE, text + "; an earlier attempt was "
                               "probably posted, check the timeline")
    if reply.status == 403:
        return Outcome.failed(PERMISSION_DENIED, text + "; the app needs "
                              "'Read and write' permission and fresh "
                              "access tokens")
    if reply.status == 400:
        return Outcome.failed(INVALID_CONTENT, text)
    return Outcome.failed(PLATFORM_ERROR, text)


def _same_text(posted: str, expected: str) -> bool:
    """X shortens links to t.co, so compare the text with URLs removed."""
    def strip(value: str) -> str:
        return " ".join(re.sub(r"https?://\S+", "", value).split())
    return strip(posted) == strip(expected)
