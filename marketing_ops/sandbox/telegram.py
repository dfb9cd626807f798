"""Telegram Bot API stand-in: /bot{token}/{method}.

Answers in the Bot API envelope ({"ok": true, "result": ...} or
{"ok": false, "error_code", "description", "parameters"}), checks message
formatting like the real API, and keeps a channel with a linked discussion
group: every channel post is auto-forwarded into the group, where seeded
comments reply to it and reach the bot through getUpdates.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from . import accounts
from .base import PlatformSandbox
from .telegram_markup import EntityError, plain_text, utf16_length
from .wire import BadRequestBody, Request, Response, Route

TOKEN_SHAPE = re.compile(r"\d+:[A-Za-z0-9_-]{35}")
MAX_TEXT = 4096
LONG_POLL_CAP = 50.0

BOT_USER = {"id": accounts.TELEGRAM_BOT_ID, "is_bot": True,
            "first_name": "Sandbox Publisher",
            "username": accounts.TELEGRAM_BOT_USERNAME}
CHANNEL = {"id": accounts.TELEGRAM_CHANNEL_ID, "type": "channel",
           "title": accounts.TELEGRAM_CHANNEL_TITLE,
           "username": accounts.TELEGRAM_CHANNEL_USERNAME}
GROUP = {"id": accounts.TELEGRAM_GROUP_ID, "type": "supergroup",
         "title": accounts.TELEGRAM_GROUP_TITLE,
         "username": accounts.TELEGRAM_GROUP_USERNAME}

METHOD_NAMES = {
    "getme": ("preflight", "getMe"),
    "getchat": ("preflight", "getChat"),
    "getchatmember": ("preflight", "getChatMember"),
    "getupdates": ("mentions", "getUpdates"),
    "getwebhookinfo": ("webhook",),
    "deletewebhook": ("webhook",),
}


def _fail(status: int, description: str, **parameters: Any) -> Response:
    body: dict[str, Any] = {"ok": False, "error_code": status,
                            "description": description}
    if parameters:
        body["parameters"] = parameters
    return Response.json(status, body)


def _ok(result: Any) -> Response:
    return Response.json(200, {"ok": True, "result": result})


class TelegramSandbox(PlatformSandbox):
    name = "telegram"
    endpoint_names = frozenset({
        "preflight", "getMe", "getChat", "getChatMember", "publish", "reply",
        "sendMessage", "mentions", "getUpdates", "webhook"})

    def __init__(self, state) -> None:
        super().__init__(state)
        self.messages: dict[int, dict[int, dict[str, Any]]] = {
            CHANNEL["id"]: {}, GROUP["id"]: {}}
        self.next_message_id = {CHANNEL["id"]: 1, GROUP["id"]: 1}
        # channel message id -> its automatic copy in the discussion group
        self.group_copy: dict[int, int] = {}
        self.updates: list[dict[str, Any]] = []
        self.next_update_id = 100000001
        self.poll_generation = 0

    # -- routing --------------------------------------------------------

    def route(self, request: Request) -> Route | None:
        match = re.fullmatch(r"/bot([^/]*)/([A-Za-z]+)", request.path)
        if match is None:
            return None
        token, method = match.group(1), match.group(2).lower()
        names = METHOD_NAMES.get(method)
        if method == "sendmessage":
            try:
                params = _params(request)
            except BadRequestBody:
                params = {}  # the method itself answers "can't parse JSON"
            is_reply = bool(params.get("reply_parameters")
                            or params.get("reply_to_message_id"))
            names = ("reply" if is_reply else "publish", "sendMessage")
        if names is None:
            return Route(("unknown",), lambda r: _fail(404, "Not Found"))
        handler = getattr(self, f"_{method}")
        return Route(names, lambda r: self._authorised(r, token, handler))

    def not_found(self, request: Request) -> Response:
        return _fail(404, "Not Found")

    def _authorised(self, request: Request, token: str, handler) -> Response:
        if not TOKEN_SHAPE.fullmatch(token):
            return _fail(404, "Not Found")
        revoked = self.revoked()
        if token != accounts.TELEGRAM_BOT_TOKEN or \
                (revoked is not None and not revoked.get("kicked")):
            return _fail(401, "Unauthorized")
        try:
            params = _params(request)
        except BadRequestBody:
            return _fail(400, "Bad Request: can't parse JSON")
        return handler(params)

    # -- faults ---------------------------------------------------------

    def fault_response(self, kind, params, request, route):
        if kind == "rate_limit":
            seconds = int(params.get("retry_after", 5))
            return _fail(429, f"Too Many Requests: retry after {seconds}",
                         retry_after=seconds)
        status = int(params.get("status", 502))
        if status == 502:
            # Telegram's front end answers outages with an nginx page.
            return Response.text(
                502, "<html>\r\n<head><title>502 Bad Gateway</title></head>"
                     "\r\n<body>\r\n<center><h1>502 Bad Gateway</h1>"
                     "</center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
                     "</body>\r\n</html>\r\n", "text/html")
        return _fail(status, "Internal Server Error")

    # -- methods --------------------------------------------------------

    def _getme(self, params) -> Response:
        return _ok({**BOT_USER, "can_join_groups": True,
                    "can_read_all_group_messages": False,
                    "supports_inline_queries": False,
                    "can_connect_to_business": False,
                    "has_main_web_app": False})

    def _getchat(self, params) -> Response:
        chat, refusal = self._chat(params.get("chat_id"))
        if refusal:
            return refusal
        linked = GROUP["id"] if chat is CHANNEL else CHANNEL["id"]
        return _ok({**chat, "linked_chat_id": linked,
                    "description": "Announcements from the sandbox",
                    "accent_color_id": 0, "max_reaction_count": 11})

    def _getchatmember(self, params) -> Response:
        chat, refusal = self._chat(params.get("chat_id"))
        if refusal:
            return refusal
        if str(params.get("user_id")) != str(accounts.TELEGRAM_BOT_ID):
            return _fail(400, "Bad Request: user not found")
        member = {"user": BOT_USER, "status": "administrator",
                  "can_be_edited": False, "is_anonymous": False,
                  "can_manage_chat": True, "can_delete_messages": True,
                  "can_manage_video_chats": True,
                  "can_restrict_members": chat is GROUP,
                  "can_promote_members": False, "can_change_info": True,
                  "can_invite_users": True, "can_post_stories": False,
                  "can_edit_stories": False, "can_delete_stories": False}
        if chat is CHANNEL:
            member.update(can_post_messages=True, can_edit_messages=True)
        else:
            member.update(can_pin_messages=True)
        return _ok(member)

    def _getwebhookinfo(self, params) -> Response:
        return _ok({"url": "", "has_custom_certificate": False,
                    "pending_update_count": len(self.updates)})

    def _deletewebhook(self, params) -> Response:
        return _ok(True)

    def _sendmessage(self, params) -> Response:
        chat, refusal = self._chat(params.get("chat_id"))
        if refusal:
            return refusal
        text = params.get("text")
        if text is None or text == "":
            return _fail(400, "Bad Request: message text is empty")
        try:
            shown = plain_text(str(text), params.get("parse_mode"))
        except EntityError as exc:
            return _fail(400, f"Bad Request: can't parse entities: {exc}")
        if not shown.strip():
            return _fail(400, "Bad Request: message text is empty")
        if utf16_length(shown) > MAX_TEXT:
            return _fail(400, "Bad Request: message is too long")

        reply_to, refusal = self._reply_target(chat, params)
        if refusal:
            return refusal
        message = self._store(chat, shown, reply_to,
                              sender=BOT_USER if chat is GROUP else None)
        if chat is CHANNEL and reply_to is None:
            self._forward_to_group(message)

        self.record(kind="reply" if reply_to else "post", text=shown,
                    remote_id=str(message["message_id"]),
                    permalink=_permalink(chat, message["message_id"]),
                    target="@" + chat["username"],
                    in_reply_to=str(reply_to["message_id"])
                    if reply_to else None,
                    extra={"chat_id": chat["id"],
                           "parse_mode": params.get("parse_mode"),
                           "raw_text": str(text)})
        return _ok(message)

    def _getupdates(self, params) -> Response:
        try:
            offset = int(params.get("offset") or 0)
            limit = min(max(int(params.get("limit") or 100), 1), 100)
            timeout = min(float(params.get("timeout") or 0), LONG_POLL_CAP)
        except (TypeError, ValueError):
            return _fail(400, "Bad Request: invalid offset, limit or timeout")
        allowed = _allowed_updates(params.get("allowed_updates"))

        # A newer poll ends an older one that is still waiting (409).
        self.poll_generation += 1
        generation = self.poll_generation
        self.state.changed.notify_all()
        # A positive offset confirms every earlier update for good.
        if offset > 0:
            self.updates = [u for u in self.updates
                            if u["update_id"] >= offset]
        deadline = time.monotonic() + timeout
        while True:
            pending = self._pending(offset, allowed)
            remaining = deadline - time.monotonic()
            if pending or remaining <= 0:
                return _ok(pending[:limit])
            # The condition releases the sandbox lock while waiting.
            self.state.changed.wait(remaining)
            if self.poll_generation != generation:
                return _fail(409, "Conflict: terminated by other getUpdates "
                                  "request; make sure that only one bot "
                                  "instance is running")

    def _pending(self, offset: int, allowed) -> list[dict[str, Any]]:
        updates = self.updates
        if offset < 0:
            updates = updates[offset:]
        updates = [u for u in updates
                   if allowed is None or any(k in allowed for k in u)]
        return [json.loads(json.dumps(u)) for u in updates]

    # -- helpers --------------------------------------------------------

    def _chat(self, chat_id: Any):
        if chat_id is None or str(chat_id).strip() == "":
            return None, _fail(400, "Bad Request: chat_id is empty")
        text = str(chat_id).strip()
        for chat in (CHANNEL, GROUP):
            if text == str(chat["id"]) or \
                    text.lower() == "@" + chat["username"].lower():
                revoked = self.revoked()
                if revoked and revoked.get("kicked"):
                    return None, _fail(403, "Forbidden: bot is not a member "
                                            "of the channel chat")
                return chat, None
        return None, _fail(400, "Bad Request: chat not found")

    def _reply_target(self, chat, params):
        reply = params.get("reply_parameters")
        if isinstance(reply, str):
            try:
                reply = json.loads(reply)
            except json.JSONDecodeError:
                return None, _fail(400, "Bad Request: can't parse "
                                        "reply parameters JSON object")
        if not reply and params.get("reply_to_message_id"):
            reply = {"message_id": params.get("reply_to_message_id"),
                     "allow_sending_without_reply":
                         params.get("allow_sending_without_reply")}
        if not reply:
            return None, None
        try:
            message_id = int(reply.get("message_id"))
        except (TypeError, ValueError):
            return None, _fail(400, "Bad Request: message to be replied "
                                    "not found")
        target_chat = chat
        if reply.get("chat_id") is not None:
            target_chat, refusal = self._chat(reply.get("chat_id"))
            if refusal:
                return None, refusal
        found = self.messages[target_chat["id"]].get(message_id)
        if found is None:
            if str(reply.get("allow_sending_without_reply")).lower() in \
                    ("true", "1"):
                return None, None
            return None, _fail(400, "Bad Request: message to be replied "
                                    "not found")
        return found, None

    def _store(self, chat, text, reply_to, *, sender=None,
               extra=None) -> dict[str, Any]:
        message_id = self.next_message_id[chat["id"]]
        self.next_message_id[chat["id"]] += 1
        message: dict[str, Any] = {"message_id": message_id,
                                   "date": int(time.time()),
                                   "chat": dict(chat), "text": text}
        if sender is None:
            message["sender_chat"] = dict(CHANNEL)
        else:
            message["from"] = dict(sender)
        if reply_to is not None:
            message["reply_to_message"] = dict(reply_to)
            message["reply_to_message"].pop("reply_to_message", None)
        entities = _mention_entities(text)
        if entities:
            message["entities"] = entities
        message.update(extra or {})
        self.messages[chat["id"]][message_id] = message
        return message

    def _forward_to_group(self, channel_message) -> None:
        copy = self._store(GROUP, channel_message["text"], None, extra={
            "is_automatic_forward": True,
            "forward_origin": {"type": "channel", "chat": dict(CHANNEL),
                               "message_id": channel_message["message_id"],
                               "date": channel_message["date"]},
            "forward_from_chat": dict(CHANNEL),
            "forward_from_message_id": channel_message["message_id"]})
        self.group_copy[channel_message["message_id"]] = copy["message_id"]
        self._queue({"message": copy})

    def _queue(self, update: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": self.next_update_id, **update}
        self.next_update_id += 1
        self.updates.append(update)
        self.state.changed.notify_all()
        return update

    # -- seeding --------------------------------------------------------

    def seed_mention(self, text: str, *, author: str = "curious_reader",
                     reply_to: int | None = None,
                     reply_to_group_message: int | None = None,
                     **unused: Any) -> dict[str, Any]:
        """A discussion-group message, optionally commenting on a channel
        post (`reply_to` = the channel message id) or replying to a group
        message. Returns the getUpdates update it produces."""
        if unused:
            raise ValueError("unknown telegram mention fields: "
                             + ", ".join(sorted(unused)))
        parent = None
        if reply_to is not None:
            copy_id = self.group_copy.get(int(reply_to))
            if copy_id is None:
                raise ValueError(f"channel message {reply_to} does not exist")
            parent = self.messages[GROUP["id"]][copy_id]
        elif reply_to_group_message is not None:
            parent = self.messages[GROUP["id"]].get(
                int(reply_to_group_message))
            if parent is None:
                raise ValueError("group message "
                                 f"{reply_to_group_message} does not exist")
        user = {"id": 5000000000 + sum(map(ord, author)), "is_bot": False,
                "first_name": author.replace("_", " ").title(),
                "username": author}
        extra = {}
        if parent is not None:
            thread = parent.get("message_thread_id", parent["message_id"])
            extra["message_thread_id"] = thread
        message = self._store(GROUP, text, parent, sender=user, extra=extra)
        return self._queue({"message": message})


def _params(request: Request) -> dict[str, Any]:
    """Telegram takes parameters from the query, a form or a JSON body.

    multipart/form-data (used to upload files) is not read: its fields are
    ignored, so a text-only call sent as multipart looks empty here.
    Parsing it with the email package would fix that if a connector needs it.
    """
    params: dict[str, Any] = {k: v[-1] for k, v in request.query.items()}
    if request.content_type == "application/json" and request.body:
        body = request.json()
        if isinstance(body, dict):
            params.update(body)
    else:
        params.update(request.form())
    return params


def _allowed_updates(value: Any):
    if value in (None, "", []):
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return None
    return set(value) if isinstance(value, list) else None


def _mention_entities(text: str) -> list[dict[str, Any]]:
    entities = []
    for match in re.finditer(r"@[A-Za-z0-9_]{5,32}", text):
        entities.append({"type": "mention",
                         "offset": utf16_length(text[:match.start()]),
                         "length": utf16_length(match.group(0))})
    return entities


def _permalink(chat: dict[str, Any], message_id: int) -> str:
    if chat.get("username"):
        return f"https://t.me/{chat['username']}/{message_id}"
    return f"https://t.me/c/{str(chat['id'])[4:]}/{message_id}"
