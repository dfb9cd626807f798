"""Discord (webhook) and Hacker News: what they can do, and what they
say plainly that they cannot."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from marketing_ops.config.settings import load_settings
from marketing_ops.drafts import Draft
from marketing_ops.platforms.base import Unsupported, get_connector


def connector(platform, sandbox, tmp_path):
    settings = load_settings(tmp_path, tmp_path / "state",
                             environ={**sandbox.env(), "ENABLE_HN": "true"})
    found = get_connector(platform, settings,
                          {"platforms": sandbox.platform_urls()})
    if hasattr(found, "http"):
        found.http.sleep = lambda seconds: None
    return found


DRAFT = Draft(id="d", title="Launch", body="It is **live**. @everyone\n",
              platforms=("discord",))


def test_discord_posts_title_and_body_without_pinging_anyone(sandbox,
                                                             tmp_path):
    discord = connector("discord", sandbox, tmp_path)
    rendered = discord.render(DRAFT)

    outcome = discord.publish(rendered)

    post = sandbox.posts_for("discord")[0]
    assert post["text"] == "**Launch**\n\nIt is **live**. @everyone"
    assert rendered.measures["content"] == (len(post["text"]), 2000, "chars")
    assert outcome.permalink.startswith(
        "https://discord.com/channels/1111111111111111111/")


def test_discord_over_2000_characters_is_invalid_content(sandbox, tmp_path):
    discord = connector("discord", sandbox, tmp_path)
    long = Draft(id="l", title="T", body="x" * 2100, platforms=("discord",))

    outcome = discord.publish(discord.render(long))

    assert (outcome.status, outcome.reason_code) == ("failed",
                                                     "INVALID_CONTENT")


def test_discord_float_retry_after_is_kept_exactly(sandbox, tmp_path):
    discord = connector("discord", sandbox, tmp_path)
    sandbox.inject("discord", "publish", "rate_limit", retry_after=64.57)

    outcome = discord.publish(discord.render(DRAFT))

    assert outcome.retry_after == 64.57


@pytest.mark.parametrize("call", ["read_mentions", "reply",
                                  "find_published"])
def test_discord_webhook_cannot_read_reply_or_reconcile(sandbox, tmp_path,
                                                        call):
    discord = connector("discord", sandbox, tmp_path)
    arguments = {"read_mentions": (None,), "reply": (None, None),
                 "find_published": ("m", datetime.now(timezone.utc))}[call]

    with pytest.raises(Unsupported):
        getattr(discord, call)(*arguments)
    assert not (discord.can_read_mentions or discord.can_reply
                or discord.can_reconcile)


def test_hn_preflight_always_fails_and_nothing_can_be_posted(sandbox,
                                                             tmp_path):
    hn = connector("hn", sandbox, tmp_path)

    result = hn.preflight()

    assert (result.ok, result.reason_code, result.detail) == (
        False, "UNSUPPORTED_AUTH", "No API")
    assert result.line() == "hn: UNSUPPORTED_AUTH - No API"
    with pytest.raises(Unsupported):
        hn.render(DRAFT)
    with pytest.raises(Unsupported):
        hn.read_mentions(None)
