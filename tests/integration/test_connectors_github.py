"""GitHub connector specifics: errors inside HTTP 200, reconciliation by
the hidden marker, mentions and replies, against the sandbox."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from marketing_ops.config.settings import load_settings
from marketing_ops.drafts import Draft
from marketing_ops.platforms.base import ReadFailed, get_connector


@pytest.fixture
def github(sandbox, tmp_path):
    settings = load_settings(tmp_path, tmp_path / "state",
                             environ=sandbox.env())
    connector = get_connector("github", settings,
                              {"platforms": sandbox.platform_urls()})
    connector.http.sleep = lambda seconds: None
    return connector


def announcement(**github):
    return Draft(id="v2", title="Version 2", body="All new.\n",
                 platforms=("github",), overrides={"github": github})


def test_body_carries_the_hidden_marker_and_title_override(github,
                                                           sandbox):
    rendered = github.render(announcement(title="Version 2 is here"),
                             marker="abc123")

    outcome = github.publish(rendered)

    post = sandbox.posts_for("github")[0]
    assert outcome.status == "published"
    assert post["title"] == "Version 2 is here"
    assert "<!-- marketing-ops:abc123 -->" in post["text"]
    assert rendered.plain_text == "All new."


def test_graphql_error_inside_http_200_is_a_failure(github, sandbox):
    sandbox.inject("github", "publish", "error_in_200", type="FORBIDDEN")

    outcome = github.publish(github.render(announcement(), marker="m"))

    assert (outcome.status, outcome.reason_code) == ("failed",
                                                     "PERMISSION_DENIED")
    assert "Resource not accessible" in outcome.detail
    assert sandbox.posts_for("github") == []


def test_graphql_rate_limit_inside_http_200_is_rate_limited(github,
                                                            sandbox):
    sandbox.inject("github", "publish", "rate_limit", retry_after=600)

    outcome = github.publish(github.render(announcement(), marker="m"))

    assert (outcome.status, outcome.reason_code) == ("failed",
                                                     "RATE_LIMITED")
    assert outcome.retry_after == pytest.approx(600, abs=2)


def test_unknown_category_fails_before_anything_is_created(github, sandbox):
    outcome = github.publish(github.render(announcement(category="Nope"),
                                           marker="m"))

    assert (outcome.status, outcome.reason_code) == ("failed",
                                                     "PERMISSION_DENIED")
    assert "Announcements" in outcome.detail        # lists what exists
    assert sandbox.posts_for("github") == []


def test_find_published_matches_the_marker_only(github, sandbox):
    since = datetime.now(timezone.utc) - timedelta(minutes=1)
    published = github.publish(github.render(announcement(), marker="m-1"))

    found = github.find_published("m-1", since)
    missing = github.find_published("m-2", since)

    assert found.status == "published"
    assert found.permalink == published.permalink
    assert missing is None


def test_find_published_that_cannot_list_is_unknown_not_none(github,
                                                             sandbox):
    sandbox.inject("github", "discussions", "server_error", times=None)

    answer = github.find_published("m-1", datetime.now(timezone.utc))

    # "Could not check" must never read as "not posted".
    assert answer is not None and answer.status == "unknown"


def test_mentions_since_cursor_and_a_reply_to_an_issue_comment(github,
                                                               sandbox):
    sandbox.seed_mention("github", "@sandbox-bot does v2 support arm64?")

    mentions, cursor = github.read_mentions(None)
    again, _ = github.read_mentions(cursor)
    outcome = github.reply(mentions[0],
                           github.render_reply(mentions[0], "It does."))

    assert [m.text for m in mentions] == [
        "@sandbox-bot does v2 support arm64?"]
    assert mentions[0].addressed_us and mentions[0].author == "curious-user"
    assert again == []
    assert outcome.status == "published" and "#issuecomment-" in \
        outcome.permalink
    assert sandbox.posts_for("github")[-1]["kind"] == "reply"


def test_discussion_comments_are_mentions_and_replies_thread_under_them(
        github, sandbox):
    github.publish(github.render(announcement(), marker="m"))
    sandbox.seed_mention("github", "Great release!",
                         kind="discussion_comment")

    mentions, _ = github.read_mentions(None)
    outcome = github.reply(mentions[0],
                           github.render_reply(mentions[0], "Thanks!"))

    assert [m.raw_ref["kind"] for m in mentions] == ["discussion_comment"]
    assert outcome.status == "published"
    assert "discussioncomment" in outcome.permalink


def test_reading_mentions_with_revoked_token_raises_with_reason(github,
                                                               sandbox):
    sandbox.revoke("github")

    with pytest.raises(ReadFailed) as caught:
        github.read_mentions(None)

    assert caught.value.reason_code == "AUTH_FAILED"


def test_latest_release_is_none_until_one_exists(github, sandbox):
    assert github.latest_release() is None

    sandbox.seed_release("v2.0.0", name="Two")

    assert github.latest_release()["tag_name"] == "v2.0.0"


def test_search_reports_the_remaining_search_budget(github, sandbox):
    sandbox.seed_repo("acme/notes", topics=["changelog"], stars=120)

    page = github.search_repositories("topic:changelog")

    assert [r["full_name"] for r in page["items"]] == ["acme/notes"]
    assert isinstance(page["remaining"], int) and page["remaining"] >= 0
    assert page["reset"] > 0


def test_search_rate_limit_is_reported_at_once_not_waited_for(github,
                                                              sandbox):
    sandbox.inject("github", "search", "rate_limit", status=403,
                   retry_after=1)

    with pytest.raises(ReadFailed) as caught:
        github.search_repositories("topic:changelog")

    assert caught.value.reason_code == "RATE_LIMITED"
    assert sandbox.faults() == []
