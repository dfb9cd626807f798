"""Telegram connector specifics: escaping for both parse modes as the
sandbox's entity parser reads it, the 4096 limit after entity parsing,
getUpdates mentions and replies, and what cannot be done."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from marketing_ops.config.settings import load_settings
from marketing_ops.drafts import Draft
from marketing_ops.platforms.base import Unsupported, get_connector

TRICKY_TITLE = "v1.2.0 — <fast> & [safe] *bold* _it_ (100%)!"
TRICKY_BODY = "a-b=c | {x} #tag > quote ~strike~ `code` \\ back.slash\n"


def connector(sandbox, tmp_path, parse_mode="HTML", env=None):
    environ = {**sandbox.env(), **(env or {})}
    settings = load_settings(tmp_path, tmp_path / "state", environ=environ)
    urls = sandbox.platform_urls()
    urls["telegram"]["parse_mode"] = parse_mode
    telegram = get_connector("telegram", settings, {"platforms": urls})
    telegram.http.sleep = lambda seconds: None
    return telegram


def tricky(**telegram):
    return Draft(id="t", title=TRICKY_TITLE, body=TRICKY_BODY,
                 platforms=("telegram",), overrides={"telegram": telegram})


@pytest.mark.parametrize("parse_mode", ["HTML", "MarkdownV2"])
def test_every_reserved_character_arrives_as_written(sandbox, tmp_path,
                                                     parse_mode):
    telegram = connector(sandbox, tmp_path, parse_mode)
    rendered = telegram.render(tricky())

    outcome = telegram.publish(rendered)

    assert outcome.status == "published", outcome.detail
    shown = sandbox.posts_for("telegram")[0]["text"]
    assert shown == f"{TRICKY_TITLE}\n\n{TRICKY_BODY.strip()}"
    assert shown == rendered.plain_text


def test_a_draft_may_pick_markdown_v2_over_the_configured_html(sandbox,
                                                               tmp_path):
    telegram = connector(sandbox, tmp_path, "HTML")
    rendered = telegram.render(tricky(parse_mode="MarkdownV2"))

    outcome = telegram.publish(rendered)

    assert outcome.status == "published", outcome.detail
    assert rendered.fields["parse_mode"] == "MarkdownV2"
    assert rendered.text.startswith("*v1\\.2\\.0")


def test_length_is_measured_after_entity_parsing(sandbox, tmp_path):
    telegram = connector(sandbox, tmp_path, "HTML")
    body = "&" * 4000        # 4000 characters shown, 20000 sent escaped

    rendered = telegram.render(Draft(id="l", title="T", body=body,
                                     platforms=("telegram",)))
    outcome = telegram.publish(rendered)

    assert rendered.measures["text"] == (4003, 4096, "utf16")
    assert len(rendered.text) > 4096
    assert outcome.status == "published", outcome.detail


def test_a_message_over_the_limit_is_invalid_content(sandbox, tmp_path):
    telegram = connector(sandbox, tmp_path)
    rendered = telegram.render(Draft(id="l", title="T", body="x" * 4100,
                                     platforms=("telegram",)))

    outcome = telegram.publish(rendered)

    assert rendered.over_limit() == ["text is 4103 utf16, limit 4096"]
    assert (outcome.status, outcome.reason_code) == ("failed",
                                                     "INVALID_CONTENT")
    assert sandbox.posts_for("telegram") == []


def test_private_channel_permalink_uses_the_c_form(sandbox, tmp_path):
    telegram = connector(sandbox, tmp_path,
                         env={"TELEGRAM_CHANNEL_ID": "-1001234567890"})

    outcome = telegram.publish(telegram.render(tricky()))

    # The sandbox channel is public, so the username form wins; the
    # id-only form is what a private channel's chat gives.
    from marketing_ops.platforms.telegram import permalink
    assert outcome.permalink == "https://t.me/sandbox_announcements/1"
    assert permalink({"id": -1001234567890}, 7) == \
        "https://t.me/c/1234567890/7"


def test_comments_in_the_discussion_group_are_mentions(sandbox, tmp_path):
    telegram = connector(sandbox, tmp_path)
    posted = telegram.publish(telegram.render(tricky()))
    sandbox.seed_mention("telegram", "Does it run on ARM?",
                         reply_to=int(posted.remote_id))

    mentions, cursor = telegram.read_mentions(None)
    again, _ = telegram.read_mentions(cursor)
    reply = telegram.reply(mentions[0],
                           telegram.render_reply(mentions[0], "Yes <3"))

    assert [m.text for m in mentions] == ["Does it run on ARM?"]
    assert mentions[0].addressed_us
    assert again == []
    assert reply.status == "published", reply.detail
    assert sandbox.posts_for("telegram")[-1]["text"] == "Yes <3"


def test_group_chatter_that_is_not_for_us_is_ignored(sandbox, tmp_path):
    telegram = connector(sandbox, tmp_path)
    sandbox.seed_mention("telegram", "unrelated chat")

    mentions, cursor = telegram.read_mentions(None)

    assert mentions == []
    assert cursor is not None          # consumed, not read again


def test_rate_limit_reads_parameters_retry_after(sandbox, tmp_path):
    telegram = connector(sandbox, tmp_path)
    sandbox.inject("telegram", "publish", "rate_limit", retry_after=34)

    outcome = telegram.publish(telegram.render(tricky()))

    assert (outcome.reason_code, outcome.retry_after) == ("RATE_LIMITED",
                                                          34)


def test_a_bot_that_is_not_admin_fails_preflight(sandbox, tmp_path):
    telegram = connector(sandbox, tmp_path)
    sandbox.revoke("telegram", kicked=True)

    result = telegram.preflight()

    assert (result.ok, result.reason_code) == (False, "PERMISSION_DENIED")


def test_reconciliation_is_unsupported(sandbox, tmp_path):
    with pytest.raises(Unsupported):
        connector(sandbox, tmp_path).find_published(
            "m", datetime.now(timezone.utc))
