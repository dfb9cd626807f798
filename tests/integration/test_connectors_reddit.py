"""Reddit connector specifics: errors inside HTTP 200 (token and submit),
the token reused for the connector's life, the User-Agent form, the
invisible marker and reconciliation, inbox mentions and replies."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from marketing_ops.config.settings import load_settings
from marketing_ops.drafts import Draft
from marketing_ops.platforms.base import get_connector


@pytest.fixture
def reddit(sandbox, tmp_path):
    settings = load_settings(tmp_path, tmp_path / "state",
                             environ=sandbox.env())
    connector = get_connector("reddit", settings,
                              {"platforms": sandbox.platform_urls()})
    connector.http.sleep = lambda seconds: None
    return connector


def self_post(**reddit):
    return Draft(id="r", title="Release 3", body="Changelog inside.\n",
                 platforms=("reddit",), overrides={"reddit": reddit})


def test_user_agent_has_the_form_reddit_requires(reddit):
    assert reddit.user_agent == \
        "python:marketing-ops:v0.1.0 (by /u/sandbox_redditor)"


def test_wrong_password_inside_http_200_is_auth_failed(reddit, sandbox):
    sandbox.inject("reddit", "token", "error_in_200", error="invalid_grant")

    result = reddit.preflight()

    assert (result.ok, result.reason_code) == (False, "AUTH_FAILED")
    assert "invalid_grant" in result.detail


def test_ratelimit_inside_http_200_is_rate_limited_with_its_wait(reddit,
                                                                 sandbox):
    sandbox.inject("reddit", "publish", "error_in_200", minutes=9)

    outcome = reddit.publish(reddit.render(self_post(), marker="m"))

    assert (outcome.status, outcome.reason_code) == ("failed",
                                                     "RATE_LIMITED")
    assert outcome.retry_after == 9 * 60
    assert sandbox.posts_for("reddit") == []


def test_missing_subreddit_is_permission_denied(reddit, sandbox):
    outcome = reddit.publish(reddit.render(self_post(subreddit="nosuchsub"),
                                           marker="m"))

    assert (outcome.status, outcome.reason_code) == ("failed",
                                                     "PERMISSION_DENIED")
    assert "SUBREDDIT_NOEXIST" in outcome.detail


def test_one_token_serves_the_whole_connector_life(reddit, sandbox):
    assert reddit.preflight().ok
    # From now on the token endpoint fails: asking again would show.
    sandbox.inject("reddit", "token", "server_error", times=None)

    first = reddit.publish(reddit.render(self_post(), marker="m-1"))
    second = reddit.publish(reddit.render(self_post(title="Again"),
                                          marker="m-2"))

    assert (first.status, second.status) == ("published", "published")
    assert len(sandbox.posts_for("reddit")) == 2


def test_link_post_and_duplicate_link_is_unknown(reddit, sandbox):
    draft = self_post(kind="link", url="https://example.com/r3")

    first = reddit.publish(reddit.render(draft))
    second = reddit.publish(reddit.render(draft))

    assert first.status == "published", first.detail
    assert (second.status, second.reason_code) == ("unknown", "DUPLICATE")
    assert len(sandbox.posts_for("reddit")) == 1


def test_find_published_matches_the_invisible_marker(reddit, sandbox):
    since = datetime.now(timezone.utc) - timedelta(minutes=1)
    posted = reddit.publish(reddit.render(self_post(), marker="mk-7"))

    found = reddit.find_published("mk-7", since)
    missing = reddit.find_published("mk-8", since)

    assert "[](#marketing-ops-mk-7)" in sandbox.posts_for("reddit")[0]["text"]
    assert found.status == "published"
    assert found.permalink == posted.permalink
    assert missing is None


def test_a_link_post_since_the_attempt_is_reported_for_a_person(reddit,
                                                                sandbox):
    since = datetime.now(timezone.utc) - timedelta(minutes=1)
    reddit.publish(reddit.render(self_post(kind="link",
                                           url="https://example.com/x")))

    answer = reddit.find_published("lost-marker", since)

    assert answer.status == "unknown"
    assert "reddit.com" in answer.detail


def test_inbox_mentions_and_a_reply(reddit, sandbox):
    sandbox.seed_mention("reddit", "Nice work, any benchmarks?")

    mentions, cursor = reddit.read_mentions(None)
    again, _ = reddit.read_mentions(cursor)
    outcome = reddit.reply(mentions[0],
                           reddit.render_reply(mentions[0], "Soon!"))

    assert [m.text for m in mentions] == ["Nice work, any benchmarks?"]
    assert again == []
    assert outcome.status == "published", outcome.detail
    assert "/comments/" in outcome.permalink
