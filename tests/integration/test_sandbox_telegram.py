"""The sandbox's Telegram Bot API stand-in, exercised over real HTTP."""

import time

import requests

from marketing_ops.sandbox import accounts
from marketing_ops.sandbox.testing import sandbox  # noqa: F401 (fixture)

CHANNEL = "@" + accounts.TELEGRAM_CHANNEL_USERNAME


def call(sandbox, method, token=accounts.TELEGRAM_BOT_TOKEN, **params):
    return requests.post(f"{sandbox.url}/telegram/bot{token}/{method}",
                         json=params, timeout=5)


def test_get_me_describes_the_bot(sandbox):
    response = requests.get(
        f"{sandbox.url}/telegram/bot{accounts.TELEGRAM_BOT_TOKEN}/getMe", timeout=5)

    assert response.status_code == 200
    assert response.json()["ok"] is True
    assert response.json()["result"]["username"] == accounts.TELEGRAM_BOT_USERNAME


def test_malformed_token_is_404_and_wrong_token_401(sandbox):
    malformed = call(sandbox, "getMe", token="not-a-token")
    wrong = call(sandbox, "getMe", token="123456789:" + "B" * 35)

    assert malformed.status_code == 404
    assert malformed.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert wrong.status_code == 401
    assert wrong.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


def test_channel_rights_and_unknown_chat(sandbox):
    chat = call(sandbox, "getChat", chat_id=CHANNEL).json()["result"]
    member = call(sandbox, "getChatMember", chat_id=CHANNEL,
                  user_id=accounts.TELEGRAM_BOT_ID).json()["result"]
    unknown = call(sandbox, "getChat", chat_id="@nobody_here")

    assert chat["type"] == "channel"
    assert chat["linked_chat_id"] == accounts.TELEGRAM_GROUP_ID
    assert member["status"] == "administrator" and member["can_post_messages"]
    assert unknown.status_code == 400
    assert unknown.json()["description"] == "Bad Request: chat not found"


def test_send_message_markdown_v2_is_recorded_with_permalink(sandbox):
    response = call(sandbox, "sendMessage", chat_id=CHANNEL,
                    text="*Release* 1\\.0 is out \\- see [notes](https://example.com/a_b)",
                    parse_mode="MarkdownV2")

    assert response.status_code == 200
    message = response.json()["result"]
    assert message["chat"]["username"] == accounts.TELEGRAM_CHANNEL_USERNAME
    assert message["chat"]["type"] == "channel"
    assert message["text"] == "Release 1.0 is out - see notes"
    [record] = sandbox.posts
    assert record["permalink"] == (
        f"https://t.me/{accounts.TELEGRAM_CHANNEL_USERNAME}/{message['message_id']}")


def test_unescaped_reserved_character_is_refused(sandbox):
    response = call(sandbox, "sendMessage", chat_id=CHANNEL,
                    text="Version 1.0 - now", parse_mode="MarkdownV2")

    assert response.status_code == 400
    assert response.json()["description"] == (
        "Bad Request: can't parse entities: Character '.' is reserved and "
        "must be escaped with the preceding '\\'")
    assert sandbox.posts == []


def test_dash_is_reserved_too(sandbox):
    response = call(sandbox, "sendMessage", chat_id=CHANNEL,
                    text="a - b", parse_mode="MarkdownV2")

    assert response.json()["description"].endswith(
        "Character '-' is reserved and must be escaped with the preceding '\\'")


def test_html_mode_checks_tags_and_ampersands(sandbox):
    good = requests.post(
        f"{sandbox.url}/telegram/bot{accounts.TELEGRAM_BOT_TOKEN}/sendMessage",
        data={"chat_id": CHANNEL, "parse_mode": "HTML",
              "text": "<b>Fish</b> &amp; chips &lt;3"}, timeout=5)
    bad_tag = call(sandbox, "sendMessage", chat_id=CHANNEL, parse_mode="HTML",
                   text="<marquee>hi</marquee>")
    bare_amp = call(sandbox, "sendMessage", chat_id=CHANNEL, parse_mode="HTML",
                    text="fish & chips")

    assert good.status_code == 200
    assert good.json()["result"]["text"] == "Fish & chips <3"
    for refused in (bad_tag, bare_amp):
        assert refused.status_code == 400
        assert refused.json()["description"].startswith(
            "Bad Request: can't parse entities:")


def test_length_limit_applies_after_entity_parsing(sandbox):
    fits = call(sandbox, "sendMessage", chat_id=CHANNEL,
                text="*" + "a" * 4096 + "*", parse_mode="MarkdownV2")
    too_long = call(sandbox, "sendMessage", chat_id=CHANNEL, text="a" * 4097)

    assert fits.status_code == 200
    assert too_long.status_code == 400
    assert too_long.json()["description"] == "Bad Request: message is too long"


def test_get_updates_sees_comments_and_offset_confirms(sandbox):
    post = call(sandbox, "sendMessage", chat_id=CHANNEL, text="hello").json()["result"]
    sandbox.seed_mention("telegram", "@sandbox_publisher_bot thanks!",
                         reply_to=post["message_id"])

    first = call(sandbox, "getUpdates").json()["result"]
    comment = first[-1]["message"]
    again = call(sandbox, "getUpdates").json()["result"]
    confirmed = call(sandbox, "getUpdates",
                     offset=first[-1]["update_id"] + 1).json()["result"]
    after = call(sandbox, "getUpdates").json()["result"]

    assert first[0]["message"]["is_automatic_forward"] is True
    assert comment["text"] == "@sandbox_publisher_bot thanks!"
    assert comment["chat"]["id"] == accounts.TELEGRAM_GROUP_ID
    assert comment["reply_to_message"]["message_id"] == first[0]["message"]["message_id"]
    assert comment["entities"][0]["type"] == "mention"
    assert again == first  # not confirmed yet
    assert confirmed == [] and after == []


def test_reply_in_the_discussion_group_is_recorded_as_reply(sandbox):
    post = call(sandbox, "sendMessage", chat_id=CHANNEL, text="hello").json()["result"]
    update = sandbox.seed_mention("telegram", "question?", reply_to=post["message_id"])

    reply = call(sandbox, "sendMessage", chat_id=accounts.TELEGRAM_GROUP_ID,
                 text="answer", reply_parameters={
                     "message_id": update["message"]["message_id"]})
    missing = call(sandbox, "sendMessage", chat_id=accounts.TELEGRAM_GROUP_ID,
                   text="answer", reply_parameters={"message_id": 9999})

    assert reply.status_code == 200
    assert sandbox.posts[-1]["kind"] == "reply"
    assert missing.status_code == 400
    assert missing.json()["description"] == "Bad Request: message to be replied not found"


def test_rate_limit_carries_integer_retry_after(sandbox):
    sandbox.inject("telegram", "publish", "rate_limit", retry_after=34)

    response = call(sandbox, "sendMessage", chat_id=CHANNEL, text="hi")

    assert response.status_code == 429
    assert response.json() == {
        "ok": False, "error_code": 429,
        "description": "Too Many Requests: retry after 34",
        "parameters": {"retry_after": 34}}
    assert sandbox.posts == []


def test_revoked_token_and_kicked_bot(sandbox):
    sandbox.revoke("telegram", kicked=True)
    kicked = call(sandbox, "sendMessage", chat_id=CHANNEL, text="hi")
    sandbox.reset()
    sandbox.revoke("telegram")
    revoked = call(sandbox, "getMe")

    assert kicked.status_code == 403
    assert kicked.json()["description"].startswith("Forbidden: bot is not a member")
    assert revoked.status_code == 401


def test_long_poll_wakes_when_a_comment_arrives(sandbox):
    import threading

    post = call(sandbox, "sendMessage", chat_id=CHANNEL, text="hello").json()["result"]
    pending = call(sandbox, "getUpdates").json()["result"]
    offset = pending[-1]["update_id"] + 1
    timer = threading.Timer(0.2, sandbox.seed_mention, args=("telegram", "late"),
                            kwargs={"reply_to": post["message_id"]})
    timer.start()

    response = call(sandbox, "getUpdates", offset=offset, timeout=5)
    timer.join()

    assert [u["message"]["text"] for u in response.json()["result"]] == ["late"]
    assert response.elapsed.total_seconds() < 3


def test_a_second_poller_ends_the_first_with_409(sandbox):
    import threading

    results = {}
    first = threading.Thread(target=lambda: results.setdefault(
        "first", call(sandbox, "getUpdates", timeout=3)))
    first.start()
    time.sleep(0.2)
    results["second"] = call(sandbox, "getUpdates", timeout=0)
    first.join()

    assert results["first"].status_code == 409
    assert results["first"].json()["description"].startswith("Conflict:")
    assert results["second"].status_code == 200
