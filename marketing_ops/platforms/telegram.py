"""Telegram: posts to a channel through a bot.

* Preflight: ``getMe`` (is the token valid), ``getChat`` (can the bot see
  the channel) and ``getChatMember`` (is it an administrator allowed to
  post).
* Publish: ``sendMessage`` to ``TELEGRAM_CHANNEL_ID`` (``@name`` or the
  numeric ``-100…`` id).  The message is the draft's title in bold, a blank
  line, then the body — all escaped for the parse mode (``parse_mode`` in
  platforms.yaml, HTML by default; a draft may choose MarkdownV2 in its
  ``telegram.parse_mode`` override).  A ``telegram.text`` override replaces
  the whole message (escaped too, no bold title).  The body's Markdown is
  not translated: Telegram shows it as written and links bare URLs itself.
  The 4096 limit is measured on the text as shown after entity parsing, in
  UTF-16 code units (Telegram's own unit for offsets; never fewer than the
  characters, so the check errs on the safe side).
* Permalink: ``https://t.me/{username}/{id}`` for a public chat,
  ``https://t.me/c/{id without -100}/{id}`` for a private one.
* Reconcile: not possible.  The Bot API cannot read a channel's history, so
  after a lost answer the post is reported for a person to check.
* Mentions: ``getUpdates`` from the offset in the cursor; messages in the
  channel's linked discussion group that reply to a channel post (or to the
  bot) or name the bot.  Only one poller may run per bot (409 otherwise).
* Reply: ``sendMessage`` in the discussion group with ``reply_parameters``.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timezone

from marketing_ops.platforms.base import (
    AUTH_FAILED, INVALID_CONTENT, PERMISSION_DENIED, PLATFORM_ERROR,
    Connector, Mention, Outcome, PreflightResult, Rendered, read_failure)

logger = logging.getLogger(__name__)

_MARKDOWN_V2_SPECIAL = re.compile(r"([_*\[\]()~`>#+\-=|{}.!\\])")


def escape_html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;") \
        .replace(">", "&gt;")


def escape_markdown_v2(text: str) -> str:
    """Backslash before every character MarkdownV2 reserves outside
    entities (the backslash itself included)."""
    return _MARKDOWN_V2_SPECIAL.sub(r"\\\1", text)


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class TelegramConnector(Connector):
    name = "telegram"
    can_publish = True
    can_reply = True
    can_read_mentions = True
    can_reconcile = False
    credential_names = ("TELEGRAM_BOT_TOKEN", "TELEGRAM_CHANNEL_ID")

    TEXT_LIMIT = 4096
    PARSE_MODES = ("HTML", "MarkdownV2")

    def __init__(self, settings, platform_config, *, timeout=15.0):
        super().__init__(settings, platform_config, timeout=timeout)
        self.api_url = self.config.get(
            "api_url", "https://api.telegram.org").rstrip("/")
        self.parse_mode = self.config.get("parse_mode", "HTML")
        self.channel = self.credential("TELEGRAM_CHANNEL_ID")
        self._me: dict | None = None
        self._chat: dict | None = None

    def read_rate_limit(self, status, headers, payload):
        return rate_limit(status, headers, payload)

    def _call(self, method: str, params: dict | None = None, *,
              write: bool = False):
        """(result, None) or (None, Outcome).  The token sits in the URL
        path, which the HTTP client masks in every line it logs."""
        from marketing_ops.platforms.http import common_failure, unreadable

        token = self.credential("TELEGRAM_BOT_TOKEN")
        reply = self.http.request("POST", f"{self.api_url}/bot{token}/"
                                  f"{method}", json=params or {},
                                  write=write)
        outcome = common_failure(reply, method, write=write,
                                 where="the channel")
        if outcome:
            return None, outcome
        payload = reply.json()
        if not isinstance(payload, dict):
            return None, unreadable(method, write=write and
                                    reply.status < 300, where="the channel")
        if payload.get("ok") is True:
            return payload.get("result"), None
        return None, _api_error(method, reply.status, payload)

    # -- preflight -------------------------------------------------------------

    def preflight(self) -> PreflightResult:
        me, failure = self._call("getMe")
        if failure:
            return self.result(False, failure.reason_code, failure.detail)
        self._me = me or {}
        identity = "@" + str(self._me.get("username", "?"))

        chat, failure = self._call("getChat", {"chat_id": self._chat_id()})
        if failure:
            return self.result(False, failure.reason_code,
                               f"{failure.detail} (TELEGRAM_CHANNEL_ID "
                               f"{self.channel})", identity)
        self._chat = chat or {}

        member, failure = self._call(
            "getChatMember", {"chat_id": self._chat_id(),
                              "user_id": self._me.get("id")})
        if failure:
            return self.result(False, failure.reason_code, failure.detail,
                               identity)
        status = (member or {}).get("status")
        can_post = (member or {}).get("can_post_messages")
        if status == "creator" or (status == "administrator"
                                   and can_post is not False):
            title = self._chat.get("title") or self.channel
            return self.result(True, None, f"{identity} can post to "
                               f"{title}", identity)
        return self.result(
            False, PERMISSION_DENIED,
            f"{identity} is {status or 'not a member'} of {self.channel}, "
            "not an administrator allowed to post; make the bot an admin "
            "with 'Post messages'", identity)

    # -- render ----------------------------------------------------------------

    def render(self, draft, *, kind="post", marker=None) -> Rendered:
        override = draft.override(self.name) or {}
        parse_mode = override.get("parse_mode") or self.parse_mode
        title, body = draft.title.strip(), draft.body.strip()

        if override.get("text"):
            plain = override["text"].strip()
            text = self._escape(plain, parse_mode)
        else:
            plain = f"{title}\n\n{body}"
            text = (self._bold(title, parse_mode) + "\n\n" +
                    self._escape(body, parse_mode))
        # No hidden marker: Telegram cannot be searched afterwards anyway.
        return self._rendered(kind, text, plain, parse_mode, title)

    def render_reply(self, mention: Mention, text: str) -> Rendered:
        escaped = self._escape(text, self.parse_mode)
        rendered = self._rendered("reply", escaped, text, self.parse_mode,
                                  None)
        return rendered

    def _rendered(self, kind, text, plain, parse_mode, title) -> Rendered:
        return Rendered(
            platform=self.name, kind=kind, text=text, plain_text=plain,
            title=title,
            measures={"text": (utf16_length(plain), self.TEXT_LIMIT,
                               "utf16")},
            fields={"parse_mode": parse_mode, "chat_id": self.channel})

    def _escape(self, text: str, parse_mode: str) -> str:
        if parse_mode == "MarkdownV2":
            return escape_markdown_v2(text)
        return escape_html(text)

    def _bold(self, text: str, parse_mode: str) -> str:
        if parse_mode == "MarkdownV2":
            return f"*{escape_markdown_v2(text)}*"
        return f"<b>{escape_html(text)}</b>"

    # -- publish and reply -------------------------------------------------------

    def publish(self, rendered: Rendered) -> Outcome:
        message, outcome = self._call("sendMessage", {
            "chat_id": self._chat_id(), "text": rendered.text,
            "parse_mode": rendered.fields.get("parse_mode",
                                              self.parse_mode)},
            write=True)
        return outcome or self._sent(message)

    def reply(self, mention: Mention, rendered: Rendered) -> Outcome:
        message, outcome = self._call("sendMessage", {
            "chat_id": mention.raw_ref["chat_id"], "text": rendered.text,
            "parse_mode": rendered.fields.get("parse_mode",
                                              self.parse_mode),
            "reply_parameters": {
                "message_id": mention.raw_ref["message_id"]}},
            write=True)
        return outcome or self._sent(message)

    def _sent(self, message) -> Outcome:
        if not isinstance(message, dict) or "message_id" not in message:
            return Outcome.unknown(PLATFORM_ERROR, "sendMessage answered "
                                   "without a message id; check the chat")
        link = permalink(message.get("chat") or {}, message["message_id"])
        logger.info("telegram: sent message %s", message["message_id"])
        return Outcome.published(link, str(message["message_id"]))

    # -- mentions ----------------------------------------------------------------

    def read_mentions(self, cursor):
        """Cursor: the next ``getUpdates`` offset (last update id + 1)."""
        me, chat = self._identity()
        group_id = chat.get("linked_chat_id")
        params = {"timeout": 0, "limit": 100,
                  "allowed_updates": ["message"]}
        if cursor:
            params["offset"] = int(cursor)
        updates, outcome = self._call("getUpdates", params)
        if outcome:
            raise read_failure(self.name, outcome)

        mentions, next_offset = [], cursor
        for update in updates or []:
            next_offset = str(int(update.get("update_id", 0)) + 1)
            mention = self._mention(update.get("message") or {}, me,
                                    chat, group_id)
            if mention:
                mentions.append(mention)
        return mentions, next_offset

    def _identity(self):
        if self._me is None:
            me, outcome = self._call("getMe")
            if outcome:
                raise read_failure(self.name, outcome)
            self._me = me or {}
        if self._chat is None:
            chat, outcome = self._call("getChat",
                                       {"chat_id": self._chat_id()})
            if outcome:
                raise read_failure(self.name, outcome)
            self._chat = chat or {}
        return self._me, self._chat

    def _mention(self, message: dict, me: dict, channel: dict,
                 group_id) -> Mention | None:
        chat = message.get("chat") or {}
        if not message or group_id is None or chat.get("id") != group_id:
            return None
        sender = message.get("from") or {}
        if sender.get("id") == me.get("id"):
            return None
        text = message.get("text") or message.get("caption") or ""
        parent = message.get("reply_to_message") or {}
        replies_to_us = bool(parent) and (
            parent.get("is_automatic_forward")
            or (parent.get("sender_chat") or {}).get("id") == channel.get("id")
            or (parent.get("from") or {}).get("id") == me.get("id"))
        names_us = _mentions_bot(message, me.get("username"))
        if not (replies_to_us or names_us):
            return None
        thread = parent.get("message_id") or message.get("message_id")
        return Mention(
            platform=self.name,
            id=f"{chat.get('id')}:{message.get('message_id')}",
            thread_id=f"{chat.get('id')}:{thread}",
            author=sender.get("username") or sender.get("first_name"),
            text=text, url=permalink(chat, message.get("message_id")),
            addressed_us=True,
            created_at=datetime.fromtimestamp(message.get("date", 0),
                                              timezone.utc),
            raw_ref={"chat_id": chat.get("id"),
                     "message_id": message.get("message_id")})

    def _chat_id(self):
        """``@name`` stays text; a numeric id is sent as a number."""
        channel = self.channel
        if re.fullmatch(r"-?\d+", channel):
            return int(channel)
        return channel


CONNECTOR = TelegramConnector


def permalink(chat: dict, message_id) -> str | None:
    username = chat.get("username")
    if username:
        return f"https://t.me/{username}/{message_id}"
    chat_id = str(chat.get("id", ""))
    if chat_id.startswith("-100"):
        return f"https://t.me/c/{chat_id[4:]}/{message_id}"
    return None


def rate_limit(status, headers, payload):
    """429 with ``parameters.retry_after`` (whole seconds) in the JSON
    body; a ``Retry-After`` header is used if the body has none."""
    from marketing_ops.platforms.http import Limit, retry_after_header

    code = payload.get("error_code") if isinstance(payload, dict) else None
    if status != 429 and code != 429:
        return None
    parameters = (payload or {}).get("parameters") or {} \
        if isinstance(payload, dict) else {}
    wait = parameters.get("retry_after")
    if isinstance(wait, (int, float)):
        return Limit(float(wait))
    return Limit(retry_after_header(headers))


def _api_error(method: str, status, payload: dict) -> Outcome:
    code = payload.get("error_code") or status
    description = str(payload.get("description") or "")[:200]
    lowered = description.lower()
    what = f"{method}: {code} {description}".strip()
    migrate = (payload.get("parameters") or {}).get("migrate_to_chat_id")
    if migrate:
        return Outcome.failed(PERMISSION_DENIED, f"{what}; the group moved "
                              f"to {migrate}: update TELEGRAM_CHANNEL_ID")
    if code in (401, 404):
        # 401: a well-formed token Telegram does not know; 404: a token
        # that is not even well-formed (the method names here are fixed,
        # so a 404 cannot mean a wrong method).
        return Outcome.failed(AUTH_FAILED, f"{what}; the bot token is "
                              "invalid or revoked")
    if code == 409:
        return Outcome.failed(PLATFORM_ERROR, f"{what}; another process is "
                              "polling this bot (or a webhook is set)")
    if "parse entities" in lowered or "too long" in lowered \
            or "text is empty" in lowered:
        return Outcome.failed(INVALID_CONTENT, what)
    if code in (400, 403) and ("chat" in lowered or "rights" in lowered
                               or "member" in lowered or code == 403):
        return Outcome.failed(PERMISSION_DENIED, what)
    if code == 400:
        return Outcome.failed(INVALID_CONTENT, what)
    return Outcome.failed(PLATFORM_ERROR, what)


def _mentions_bot(message: dict, username: str | None) -> bool:
    if not username:
        return False
    text = message.get("text") or message.get("caption") or ""
    for entity in message.get("entities") or []:
        if entity.get("type") == "mention":
            start = entity.get("offset", 0)
            # Offsets are UTF-16 units; slice in that unit.
            units = text.encode("utf-16-le")
            word = units[start * 2:(start + entity.get("length", 0)) * 2] \
                .decode("utf-16-le", errors="replace")
            if word.lower() == f"@{username.lower()}":
                return True
    return f"@{username.lower()}" in text.lower()
