"""X connector specifics: weighted length, OAuth 1.0a signing checked by
the sandbox, duplicate text, billed reads left off unless asked for."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from marketing_ops.config.settings import load_settings
from marketing_ops.drafts import Draft
from marketing_ops.platforms.base import Unsupported, get_connector


def connector(sandbox, tmp_path, env=None, **options):
    environ = {**sandbox.env(), **(env or {})}
    settings = load_settings(tmp_path, tmp_path / "state", environ=environ)
    urls = sandbox.platform_urls()
    urls["x"].update(options)
    x = get_connector("x", settings, {"platforms": urls})
    x.http.sleep = lambda seconds: None
    return x


def post(text=None, title="Release 2.0",
         body="Read https://example.com/a/very/long/path/to/the/notes"):
    overrides = {"x": {"text": text}} if text else {}
    return Draft(id="x", title=title, body=body, platforms=("x",),
                 overrides=overrides)


def test_default_text_is_title_and_first_link_measured_weighted(sandbox,
                                                                tmp_path):
    rendered = connector(sandbox, tmp_path).render(post())

    assert rendered.text == \
        "Release 2.0 https://example.com/a/very/long/path/to/the/notes"
    # 11 characters + space + a URL that counts 23 whatever its length.
    assert rendered.measures["text"] == (35, 280, "weighted")


def test_cjk_and_emoji_count_double(sandbox, tmp_path):
    rendered = connector(sandbox, tmp_path).render(post(text="发布 🎉"))

    assert rendered.measures["text"][0] == 2 * 2 + 1 + 2


def test_signed_post_is_accepted_and_linked(sandbox, tmp_path):
    x = connector(sandbox, tmp_path)

    outcome = x.publish(x.render(post(text="Hello from tests")))

    assert outcome.status == "published", outcome.detail
    assert outcome.permalink == \
        f"https://x.com/i/web/status/{outcome.remote_id}"
    assert sandbox.posts_for("x")[0]["text"] == "Hello from tests"


def test_duplicate_text_is_unknown_not_failed(sandbox, tmp_path):
    x = connector(sandbox, tmp_path)
    rendered = x.render(post(text="Same words twice"))

    first = x.publish(rendered)
    second = x.publish(rendered)

    assert first.status == "published"
    assert (second.status, second.reason_code) == ("unknown", "DUPLICATE")
    assert len(sandbox.posts_for("x")) == 1


def test_format_check_only_makes_no_call(sandbox, tmp_path):
    x = connector(sandbox, tmp_path, live_preflight=False,
                  api_url="http://127.0.0.1:9")      # nothing listens

    result = x.preflight()

    assert result.ok and "not checked live" in result.detail


def test_malformed_credentials_fail_the_format_check(sandbox, tmp_path):
    x = connector(sandbox, tmp_path, env={"X_ACCESS_TOKEN": "no-dash here"})

    result = x.preflight()

    assert (result.ok, result.reason_code) == (False, "AUTH_FAILED")
    assert "X_ACCESS_TOKEN" in result.detail
    assert "no-dash here" not in result.detail


def test_the_24_hour_bucket_reset_is_used_when_that_bucket_is_empty(
        sandbox, tmp_path):
    x = connector(sandbox, tmp_path)
    sandbox.inject("x", "publish", "rate_limit", bucket="24h",
                   reset_in=7200)

    outcome = x.publish(x.render(post(text="later")))

    assert outcome.reason_code == "RATE_LIMITED"
    assert outcome.retry_after == pytest.approx(7200, abs=3)


def test_billed_reads_are_unsupported_until_enabled(sandbox, tmp_path):
    x = connector(sandbox, tmp_path)

    with pytest.raises(Unsupported, match="read_mentions"):
        x.read_mentions(None)
    with pytest.raises(Unsupported, match="live_reconcile"):
        x.find_published("m", datetime.now(timezone.utc))


def test_mentions_and_reply_when_enabled(sandbox, tmp_path):
    x = connector(sandbox, tmp_path, read_mentions=True)
    sandbox.seed_mention("x", "is 2.0 stable?")

    mentions, cursor = x.read_mentions(None)
    again, _ = x.read_mentions(cursor)
    outcome = x.reply(mentions[0], x.render_reply(mentions[0], "Yes!"))

    assert len(mentions) == 1 and "is 2.0 stable?" in mentions[0].text
    assert again == []
    assert outcome.status == "published", outcome.detail
    assert sandbox.posts_for("x")[-1]["in_reply_to"] == mentions[0].id


def test_reconcile_finds_own_post_by_text_when_enabled(sandbox, tmp_path):
    x = connector(sandbox, tmp_path, live_reconcile=True)
    since = datetime.now(timezone.utc) - timedelta(minutes=1)
    rendered = x.render(post(text="Find me later"))
    posted = x.publish(rendered)

    found = x.find_published("m", since, text=rendered.text)
    missing = x.find_published("m", since, text="never posted")

    assert found.remote_id == posted.remote_id
    assert missing is None
