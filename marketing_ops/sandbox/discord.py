"""Discord incoming-webhook stand-in: /api/webhooks/{id}/{token}[...].

GET returns the webhook object (without `user`), POST executes it
(`?wait=true` returns the message, otherwise 204), and
GET .../messages/{id} fetches one of the webhook's own messages. Errors are
`{"message", "code"}` with Discord's JSON error codes; a 429 carries a float
`retry_after` in the body, an integer `Retry-After` header and the
`X-RateLimit-*` headers. The optional `/v10`-style version segment is
accepted.
"""

from __future__ import annotations

import math
import re
import time
from datetime import datetime, timezone
from typing import Any

from . import accounts
from .base import FixedWindow, PlatformSandbox
from .wire import BadRequestBody, Request, Response, Route

DISCORD_EPOCH_MS = 1420070400000
MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000
BUCKET = "sandboxwebhookbucket0001"
# Discord publishes no per-webhook quota; clients must read the headers.
# A window of 30 messages a minute follows the commonly observed figure.
WINDOW_LIMIT = 30
WINDOW_SECONDS = 60


def _error(status: int, message: str, code: int, **extra: Any) -> Response:
    return Response.json(status, {"message": message, "code": code, **extra})


def _form_error(field_errors: dict[str, Any]) -> Response:
    return _error(400, "Invalid Form Body", 50035, errors=field_errors)


def _max_length(limit: int) -> dict[str, Any]:
    return {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH",
                         "message": f"Must be {limit} or fewer in length."}]}


class DiscordSandbox(PlatformSandbox):
    name = "discord"
    endpoint_names = frozenset({"preflight", "publish", "message",
                                "reconcile"})

    def __init__(self, state) -> None:
        super().__init__(state)
        self.window = FixedWindow(WINDOW_LIMIT, WINDOW_SECONDS)
        self.messages: dict[str, dict[str, Any]] = {}
        self._sequence = 0

    # -- routing --------------------------------------------------------

    def route(self, request: Request) -> Route | None:
        match = re.fullmatch(
            r"/api(?:/v\d+)?/webhooks/(?P<id>[^/]+)/(?P<token>[^/]+)"
            r"(?:/messages/(?P<message>[^/]+))?", request.path.rstrip("/"))
        if match is None:
            return None
        webhook_id, token, message_id = match.group("id", "token", "message")

        def guarded(handler):
            return lambda r: self._guard(r, webhook_id, token, handler)

        if message_id is not None and request.method == "GET":
            return Route(("message", "reconcile"), guarded(
                lambda r: self._get_message(message_id)))
        if message_id is None and request.method == "GET":
            return Route(("preflight",), guarded(self._get_webhook))
        if message_id is None and request.method == "POST":
            return Route(("publish",), guarded(self._execute))
        return Route(("unknown",), lambda r: _error(
            405, "405: Method Not Allowed", 0))

    def not_found(self, request: Request) -> Response:
        return _error(404, "404: Not Found", 0)

    def _guard(self, request, webhook_id, token, handler) -> Response:
        revoked = self.revoked()
        if webhook_id != accounts.DISCORD_WEBHOOK_ID or \
                (revoked is not None and revoked.get("deleted")):
            return _error(404, "Unknown Webhook", 10015)
        if token != accounts.DISCORD_WEBHOOK_TOKEN or revoked is not None:
            return _error(401, "Invalid Webhook Token", 50027)
        if not self.window.take():
            return self._rate_limited(self.window.reset_after)
        response = handler(request)
        response.headers.update(self._rate_headers())
        return response

    def _rate_headers(self) -> dict[str, str]:
        return {"X-RateLimit-Limit": str(self.window.limit),
                "X-RateLimit-Remaining": str(self.window.remaining),
                "X-RateLimit-Reset": f"{self.window.reset_epoch:.3f}",
                "X-RateLimit-Reset-After": f"{self.window.reset_after:.3f}",
                "X-RateLimit-Bucket": BUCKET}

    def _rate_limited(self, retry_after: float,
                      is_global: bool = False) -> Response:
        headers = {"Retry-After": str(max(math.ceil(retry_after), 1)),
                   "X-RateLimit-Limit": str(self.window.limit),
                   "X-RateLimit-Remaining": "0",
                   "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
                   "X-RateLimit-Reset-After": f"{retry_after:.3f}",
                   "X-RateLimit-Bucket": BUCKET,
                   "X-RateLimit-Scope": "global" if is_global else "shared"}
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        body = {"message": "You are being rate limited.",
                "retry_after": round(retry_after, 3), "global": is_global}
        return Response.json(429, body, headers)

    # -- faults ---------------------------------------------------------

    def fault_response(self, kind, params, request, route):
        if kind == "rate_limit":
            return self._rate_limited(float(params.get("retry_after", 1.234)),
                                      bool(params.get("global", False)))
        status = int(params.get("status", 500))
        return _error(status, "500: Internal Server Error", 0)

    # -- endpoints ------------------------------------------------------

    def _get_webhook(self, request: Request) -> Response:
        return Response.json(200, {
            "application_id": None, "avatar": None,
            "channel_id": accounts.DISCORD_CHANNEL_ID,
            "guild_id": accounts.DISCORD_GUILD_ID,
            "id": accounts.DISCORD_WEBHOOK_ID,
            "name": accounts.DISCORD_WEBHOOK_NAME, "type": 1,
            "token": accounts.DISCORD_WEBHOOK_TOKEN})

    def _execute(self, request: Request) -> Response:
        if request.content_type != "application/json":
            return _error(400, "Cannot send an empty message", 50006)
        try:
            payload = request.json()
        except BadRequestBody:
            return _error(400, "The request body contains invalid JSON.",
                          50109)
        if not isinstance(payload, dict):
            return _form_error({"_errors": [{
                "code": "DICT_TYPE_CONVERT",
                "message": "Only dictionaries may be used in a DictType"}]})
        problem = _validate(payload)
        if problem:
            return problem

        message = self._store(payload)
        self.record(kind="post", text=message["content"],
                    remote_id=message["id"],
                    permalink="https://discord.com/channels/"
                              f"{accounts.DISCORD_GUILD_ID}/"
                              f"{accounts.DISCORD_CHANNEL_ID}/{message['id']}",
                    target=f"channel:{accounts.DISCORD_CHANNEL_ID}",
                    extra={"embeds": len(message["embeds"]),
                           "waited": _wants_wait(request)})
        if not _wants_wait(request):
            return Response.empty(204)
        return Response.json(200, message)

    def _get_message(self, message_id: str) -> Response:
        message = self.messages.get(message_id)
        if message is None:
            return _error(404, "Unknown Message", 10008)
        return Response.json(200, message)

    def _store(self, payload: dict[str, Any]) -> dict[str, Any]:
        self._sequence += 1
        now_ms = int(time.time() * 1000)
        snowflake = str(((now_ms - DISCORD_EPOCH_MS) << 22) |
                        (self._sequence & 0xFFF))
        stamp = datetime.fromtimestamp(now_ms / 1000, timezone.utc)
        message = {
            "type": 0, "channel_id": accounts.DISCORD_CHANNEL_ID,
            "content": payload.get("content") or "",
            "attachments": [], "embeds": list(payload.get("embeds") or []),
            "timestamp": stamp.isoformat(timespec="microseconds"),
            "edited_timestamp": None, "flags": int(payload.get("flags", 0)),
            "components": [], "id": snowflake,
            "author": {"bot": True, "id": accounts.DISCORD_WEBHOOK_ID,
                       "username": payload.get("username")
                       or accounts.DISCORD_WEBHOOK_NAME,
                       "avatar": None, "discriminator": "0000"},
            "mentions": [], "mention_roles": [], "pinned": False,
            "mention_everyone": False, "tts": bool(payload.get("tts")),
            "webhook_id": accounts.DISCORD_WEBHOOK_ID,
        }
        self.messages[snowflake] = message
        return message


def _wants_wait(request: Request) -> bool:
    return (request.arg("wait") or "").lower() in ("true", "1")


def _validate(payload: dict[str, Any]) -> Response | None:
    content = payload.get("content")
    embeds = payload.get("embeds") or []
    if content is not None and not isinstance(content, str):
        return _form_error({"content": {"_errors": [{
            "code": "BASE_TYPE_STRING",
            "message": "Could not interpret \"{}\" as string."}]}})
    if not (content or "").strip() and not embeds and \
            not payload.get("components") and not payload.get("poll"):
        return _error(400, "Cannot send an empty message", 50006)
    errors: dict[str, Any] = {}
    if content and len(content) > MAX_CONTENT:
        errors["content"] = _max_length(MAX_CONTENT)
    if len(embeds) > MAX_EMBEDS:
        errors["embeds"] = _max_length(MAX_EMBEDS)
    elif _embed_total(embeds) > MAX_EMBED_TOTAL:
        errors["embeds"] = {"_errors": [{
            "code": "MAX_EMBED_SIZE_EXCEEDED",
            "message": "Embed size exceeds maximum size of 6000"}]}
    return _form_error(errors) if errors else None


def _embed_total(embeds: list[Any]) -> int:
    total = 0
    for embed in embeds:
        if not isinstance(embed, dict):
            continue
        total += len(embed.get("title") or "")
        total += len(embed.get("description") or "")
        total += len((embed.get("footer") or {}).get("text") or "")
        total += len((embed.get("author") or {}).get("name") or "")
        for field in embed.get("fields") or []:
            total += len(field.get("name") or "") + \
                len(field.get("value") or "")
    return total
