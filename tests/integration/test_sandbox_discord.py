"""The sandbox's Discord webhook stand-in, exercised over real HTTP."""

import requests

from marketing_ops.sandbox import accounts
from marketing_ops.sandbox.testing import sandbox  # noqa: F401 (fixture)


def webhook(sandbox):
    return sandbox.env()["DISCORD_WEBHOOK_URL"]


def test_webhook_object_has_guild_and_channel(sandbox):
    response = requests.get(webhook(sandbox), timeout=5)

    assert response.status_code == 200
    body = response.json()
    assert body["guild_id"] == accounts.DISCORD_GUILD_ID
    assert body["channel_id"] == accounts.DISCORD_CHANNEL_ID
    assert "user" not in body


def test_unknown_webhook_and_wrong_token(sandbox):
    base = f"{sandbox.url}/discord/api/webhooks"
    unknown = requests.get(f"{base}/999/{accounts.DISCORD_WEBHOOK_TOKEN}", timeout=5)
    wrong = requests.get(f"{base}/{accounts.DISCORD_WEBHOOK_ID}/wrong", timeout=5)

    assert unknown.status_code == 404
    assert unknown.json() == {"message": "Unknown Webhook", "code": 10015}
    assert wrong.status_code == 401
    assert wrong.json() == {"message": "Invalid Webhook Token", "code": 50027}


def test_execute_with_wait_returns_message_and_is_recorded(sandbox):
    response = requests.post(webhook(sandbox), params={"wait": "true"},
                             json={"content": "Release 1.0 is out"}, timeout=5)

    assert response.status_code == 200
    message = response.json()
    assert message["content"] == "Release 1.0 is out"
    assert message["webhook_id"] == accounts.DISCORD_WEBHOOK_ID
    assert message["channel_id"] == accounts.DISCORD_CHANNEL_ID
    assert "X-RateLimit-Remaining" in response.headers
    [record] = sandbox.posts
    assert record["permalink"] == (
        f"https://discord.com/channels/{accounts.DISCORD_GUILD_ID}/"
        f"{accounts.DISCORD_CHANNEL_ID}/{message['id']}")
    fetched = requests.get(f"{webhook(sandbox)}/messages/{message['id']}", timeout=5)
    assert fetched.json()["content"] == "Release 1.0 is out"


def test_execute_without_wait_is_204_but_still_posted(sandbox):
    response = requests.post(webhook(sandbox), json={"content": "quiet"}, timeout=5)

    assert response.status_code == 204
    assert response.content == b""
    assert [p["text"] for p in sandbox.posts] == ["quiet"]


def test_validation_errors(sandbox):
    too_long = requests.post(webhook(sandbox), params={"wait": "true"},
                             json={"content": "x" * 2001}, timeout=5)
    empty = requests.post(webhook(sandbox), params={"wait": "true"},
                          json={"content": ""}, timeout=5)

    assert too_long.status_code == 400
    assert too_long.json()["code"] == 50035
    assert too_long.json()["message"] == "Invalid Form Body"
    assert "content" in too_long.json()["errors"]
    assert empty.status_code == 400
    assert empty.json()["code"] == 50006
    assert sandbox.posts == []


def test_rate_limit_has_float_body_and_integer_header(sandbox):
    sandbox.inject("discord", "publish", "rate_limit", retry_after=1.234)

    response = requests.post(webhook(sandbox), params={"wait": "true"},
                             json={"content": "hi"}, timeout=5)

    assert response.status_code == 429
    assert response.json() == {"message": "You are being rate limited.",
                               "retry_after": 1.234, "global": False}
    assert response.headers["Retry-After"] == "2"
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert sandbox.posts == []


def test_revoked_webhook_token(sandbox):
    sandbox.inject("discord", "preflight", "revoke")

    first = requests.get(webhook(sandbox), timeout=5)
    later = requests.post(webhook(sandbox), json={"content": "hi"}, timeout=5)

    assert first.status_code == 401 and later.status_code == 401
    assert later.json()["code"] == 50027
