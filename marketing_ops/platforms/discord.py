"""Discord: posts through a channel's incoming webhook.

* Preflight: ``GET`` on the webhook (no other credential exists); it
  returns the webhook's guild and channel, needed for permalinks.
* Publish: ``POST …?wait=true`` so Discord answers with the message (and
  its id) instead of an empty 204.  Content: the ``discord.text`` override,
  else the draft's title in bold, a blank line and the body (Discord renders
  Markdown), limit 2000 characters.  ``allowed_mentions`` is empty: an
  announcement never pings @everyone or anybody else by accident.
* Permalink: ``https://discord.com/channels/{guild}/{channel}/{message}``.
* The webhook's host and path come from ``DISCORD_WEBHOOK_URL``'s id and
  token placed under ``api_url`` from platforms.yaml, so the sandbox (or a
  proxy) can stand in without a second secret.
* Not possible with a webhook, and so Unsupported: reading the channel
  (mentions), true replies, and checking afterwards whether a post went out
  (a webhook cannot list messages).  Those would need a bot token.
"""

from __future__ import annotations

import logging
import re

from marketing_ops.platforms.base import (
    AUTH_FAILED, INVALID_CONTENT, PERMISSION_DENIED, PLATFORM_ERROR,
    Connector, Outcome, PreflightResult, Rendered, Unsupported, draft_text)

logger = logging.getLogger(__name__)

_WEBHOOK = re.compile(r"/webhooks/(\d+)/([^/?#\s]+)")


class DiscordConnector(Connector):
    name = "discord"
    can_publish = True
    can_reply = False
    can_read_mentions = False
    can_reconcile = False
    credential_names = ("DISCORD_WEBHOOK_URL",)

    CONTENT_LIMIT = 2000

    def __init__(self, settings, platform_config, *, timeout=15.0):
        super().__init__(settings, platform_config, timeout=timeout)
        self.api_url = self.config.get(
            "api_url", "https://discord.com/api").rstrip("/")
        self._webhook: dict | None = None

    def read_rate_limit(self, status, headers, payload):
        return rate_limit(status, headers, payload)

    def webhook_url(self) -> str | None:
        match = _WEBHOOK.search(self.credential("DISCORD_WEBHOOK_URL"))
        if not match:
            return None
        return f"{self.api_url}/webhooks/{match.group(1)}/{match.group(2)}"

    # -- preflight -------------------------------------------------------------

    def preflight(self) -> PreflightResult:
        webhook, outcome = self._fetch_webhook()
        if outcome:
            return self.result(False, outcome.reason_code, outcome.detail)
        name = webhook.get("name") or "webhook"
        return self.result(True, None, f"webhook {name!r} in channel "
                           f"{webhook.get('channel_id')}", name)

    def _fetch_webhook(self):
        """(webhook object, None) or (None, failed Outcome)."""
        from marketing_ops.platforms.http import common_failure

        if self._webhook is not None:
            return self._webhook, None
        url = self.webhook_url()
        if url is None:
            return None, Outcome.failed(
                AUTH_FAILED, "DISCORD_WEBHOOK_URL is not a webhook URL "
                "(…/api/webhooks/<id>/<token>)")
        reply = self.http.request("GET", url)
        outcome = common_failure(reply, "GET webhook") or \
            _status_failure(reply, "GET webhook")
        if outcome:
            return None, outcome
        payload = reply.json()
        if not isinstance(payload, dict) or not payload.get("channel_id"):
            return None, Outcome.failed(PLATFORM_ERROR, "GET webhook: the "
                                        "answer could not be read")
        self._webhook = payload
        return payload, None

    # -- render and publish ------------------------------------------------------

    def render(self, draft, *, kind="post", marker=None) -> Rendered:
        default = f"**{draft.title.strip()}**\n\n{draft.body.strip()}"
        text = draft_text(draft, self.name, default).strip()
        # No marker: nothing could look for it afterwards.
        return Rendered(
            platform=self.name, kind=kind, text=text, plain_text=text,
            title=draft.title,
            measures={"content": (len(text), self.CONTENT_LIMIT, "chars")})

    def publish(self, rendered: Rendered) -> Outcome:
        from marketing_ops.platforms.http import common_failure, unreadable

        # A read first: if it fails, nothing has been sent yet.
        webhook, outcome = self._fetch_webhook()
        if outcome:
            return outcome

        reply = self.http.request(
            "POST", self.webhook_url(), params={"wait": "true"},
            json={"content": rendered.text,
                  "allowed_mentions": {"parse": []}}, write=True)
        outcome = common_failure(reply, "POST webhook", write=True,
                                 where="the channel") or \
            _status_failure(reply, "POST webhook")
        if outcome:
            return outcome
        message = reply.json()
        if not isinstance(message, dict) or not message.get("id"):
            return unreadable("POST webhook", write=True, where="the channel")
        channel = message.get("channel_id") or webhook.get("channel_id")
        link = (f"https://discord.com/channels/{webhook.get('guild_id')}/"
                f"{channel}/{message['id']}")
        logger.info("discord: posted message %s", message["id"])
        return Outcome.published(link, str(message["id"]))

    def read_mentions(self, cursor):
        raise Unsupported("discord: a webhook cannot read the channel; "
                          "mentions need a bot token")

    def reply(self, mention, rendered):
        raise Unsupported("discord: a webhook cannot reply")

    def find_published(self, marker, since, text=None):
        raise Unsupported("discord: a webhook cannot list messages; check "
                          "the channel by hand")


CONNECTOR = DiscordConnector


def rate_limit(status, headers, payload):
    """429 with ``retry_after`` in the JSON body, in seconds as a float;
    the ``Retry-After`` header (whole seconds) when the body has none."""
    from marketing_ops.platforms.http import Limit, retry_after_header

    if status != 429:
        return None
    if isinstance(payload, dict) and isinstance(payload.get("retry_after"),
                                                (int, float)):
        return Limit(float(payload["retry_after"]))
    return Limit(retry_after_header(headers))


def _status_failure(reply, what: str) -> Outcome | None:
    if 200 <= reply.status < 300:
        return None
    payload = reply.json() if isinstance(reply.json(), dict) else {}
    message = str(payload.get("message") or "")[:200]
    code = payload.get("code")
    detail = f"{what}: HTTP {reply.status} {message}".strip()
    if code is not None:
        detail += f" (code {code})"
    if reply.status in (401, 404):
        # Unknown webhook (10015) or wrong token (50027).  Discord asks
        # clients to stop using a webhook after a 404: the breaker does.
        return Outcome.failed(AUTH_FAILED, detail + "; replace "
                              "DISCORD_WEBHOOK_URL")
    if reply.status == 403:
        return Outcome.failed(PERMISSION_DENIED, detail)
    if reply.status == 400:
        return Outcome.failed(INVALID_CONTENT, detail)
    return Outcome.failed(PLATFORM_ERROR, detail)
