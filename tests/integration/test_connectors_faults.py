"""Every connector against the sandbox over real HTTP, one table of faults.

Each case pins one behaviour the distribution agent relies on: a permalink
on success, AUTH_FAILED for rejected credentials, RATE_LIMITED with the
platform's own retry hint, and — the one that matters most — a publish that
may have been accepted is reported "unknown" and never sent a second time
(the sandbox holds exactly one post).
"""

from __future__ import annotations

import socket
import time

import pytest

from marketing_ops.config.settings import load_settings
from marketing_ops.drafts import Draft
from marketing_ops.platforms.base import get_connector

PUBLISHERS = ("github", "telegram", "x", "reddit", "discord")

#: Credentials the sandbox refuses, per platform, well-formed.
BAD_CREDENTIALS = {
    "github": {"GITHUB_TOKEN": "ghp_" + "W" * 36},
    "telegram": {"TELEGRAM_BOT_TOKEN":
                 "123456789:AAwrongWrongWrong-000000000000000000"},
    "x": {"X_ACCESS_SECRET": "wrongAccessSecret000000000000000000000000000"},
    "reddit": {"REDDIT_PASSWORD": "not-the-password"},
    "discord": None,  # built from the sandbox URL, see bad_env()
}


def build(sandbox, tmp_path, platform, *, env=None, timeout=3.0,
          urls=None):
    environ = sandbox.env()
    environ.update(env or {})
    settings = load_settings(tmp_path / "config", tmp_path / "state",
                             environ=environ)
    platform_urls = sandbox.platform_urls()
    platform_urls.update(urls or {})
    platform_urls["x"] = {**platform_urls["x"], "live_preflight": True}
    config = {"platforms": platform_urls, "request_timeout_seconds": timeout}
    connector = get_connector(platform, settings, config)
    connector.http.sleep = Sleeps()
    return connector


class Sleeps(list):
    """Records the waits the HTTP client asked for instead of sleeping, so
    a 30-second hint does not make a 30-second test."""

    def __call__(self, seconds):
        self.append(seconds)


def draft(**overrides):
    return Draft(id="release-1", title="Release 1.0 is out",
                 body="Faster builds and fewer surprises.\n\n"
                      "Notes: https://example.com/releases/1.0\n",
                 platforms=PUBLISHERS, overrides=overrides)


def bad_env(sandbox, platform):
    if platform == "discord":
        url = sandbox.env()["DISCORD_WEBHOOK_URL"]
        return {"DISCORD_WEBHOOK_URL": url.rsplit("/", 1)[0] + "/wrongtoken"}
    return BAD_CREDENTIALS[platform]


def publish(connector, marker="m-0001"):
    return connector.publish(connector.render(draft(), marker=marker))


def wait_for_posts(sandbox, platform, count, seconds=5.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if len(sandbox.posts_for(platform)) >= count:
            break
        time.sleep(0.05)
    return sandbox.posts_for(platform)


@pytest.mark.parametrize("platform", PUBLISHERS)
def test_preflight_passes_with_valid_credentials(sandbox, tmp_path,
                                                 platform):
    result = build(sandbox, tmp_path, platform).preflight()

    assert result.ok, result.detail
    assert result.reason_code is None
    assert result.identity


@pytest.mark.parametrize("platform", PUBLISHERS)
def test_publish_returns_the_permalink_of_the_recorded_post(
        sandbox, tmp_path, platform):
    outcome = publish(build(sandbox, tmp_path, platform))

    assert outcome.status == "published", outcome.detail
    posts = sandbox.posts_for(platform)
    assert len(posts) == 1
    assert outcome.permalink and outcome.permalink.startswith("https://")
    assert posts[0]["remote_id"] in outcome.permalink or \
        outcome.remote_id in (posts[0]["remote_id"],
                              f"t3_{posts[0]['remote_id']}")


@pytest.mark.parametrize("platform", PUBLISHERS)
def test_rejected_credentials_are_auth_failed_and_post_nothing(
        sandbox, tmp_path, platform):
    connector = build(sandbox, tmp_path, platform,
                      env=bad_env(sandbox, platform))

    result = connector.preflight()
    outcome = publish(connector)

    assert (result.ok, result.reason_code) == (False, "AUTH_FAILED")
    assert (outcome.status, outcome.reason_code) == ("failed",
                                                     "AUTH_FAILED")
    assert sandbox.posts_for(platform) == []


#: Rate-limit fault parameters asking for a long wait, in each platform's
#: own signal: GitHub retry-after + x-ratelimit-reset, Telegram
#: parameters.retry_after, X x-rate-limit-reset (epoch), Reddit
#: X-Ratelimit-Reset (seconds), Discord JSON retry_after (float).
LONG_LIMIT = {
    "github": {"retry_after": 120, "status": 429},
    "telegram": {"retry_after": 120},
    "x": {"reset_in": 120},
    "reddit": {"reset": 120},
    "discord": {"retry_after": 120.5},
}
SHORT_LIMIT = {
    "github": {"retry_after": 2, "status": 429},
    "telegram": {"retry_after": 2},
    "x": {"reset_in": 2},
    "reddit": {"reset": 2},
    "discord": {"retry_after": 1.5},
}


@pytest.mark.parametrize("platform", PUBLISHERS)
def test_long_rate_limit_fails_with_the_platforms_retry_hint(
        sandbox, tmp_path, platform):
    connector = build(sandbox, tmp_path, platform)
    sandbox.inject(platform, "publish", "rate_limit", times=1,
                   **LONG_LIMIT[platform])

    outcome = publish(connector)

    assert (outcome.status, outcome.reason_code) == ("failed",
                                                     "RATE_LIMITED")
    assert outcome.retry_after == pytest.approx(120, abs=2)
    assert connector.http.sleep == []          # beyond the 30 s cap
    assert sandbox.posts_for(platform) == []


@pytest.mark.parametrize("platform", PUBLISHERS)
def test_short_rate_limit_is_waited_out_then_posted_once(
        sandbox, tmp_path, platform):
    connector = build(sandbox, tmp_path, platform)
    sandbox.inject(platform, "publish", "rate_limit", times=1,
                   **SHORT_LIMIT[platform])

    outcome = publish(connector)

    assert outcome.status == "published", outcome.detail
    assert len(connector.http.sleep) == 1
    assert 0 < connector.http.sleep[0] <= 2.5
    assert len(sandbox.posts_for(platform)) == 1


@pytest.mark.parametrize("platform", PUBLISHERS)
def test_server_error_on_publish_is_unknown_and_not_retried(
        sandbox, tmp_path, platform):
    connector = build(sandbox, tmp_path, platform)
    # One 5xx, then the sandbox would accept: a retry would post.
    sandbox.inject(platform, "publish", "server_error", times=1)

    outcome = publish(connector)

    assert (outcome.status, outcome.reason_code) == ("unknown",
                                                     "PLATFORM_ERROR")
    assert sandbox.posts_for(platform) == []
    assert connector.http.sleep == []


@pytest.mark.parametrize("platform", PUBLISHERS)
def test_server_error_on_preflight_is_retried(sandbox, tmp_path, platform):
    connector = build(sandbox, tmp_path, platform)
    sandbox.inject(platform, "preflight", "server_error", times=1)

    result = connector.preflight()

    assert result.ok, result.detail
    assert connector.http.sleep == [0.5]


@pytest.mark.parametrize("platform", PUBLISHERS)
def test_timeout_after_sending_is_unknown_and_not_retried(
        sandbox, tmp_path, platform):
    connector = build(sandbox, tmp_path, platform, timeout=0.5)
    connector.preflight()        # warm caches (category, webhook, token)
    sandbox.inject(platform, "publish", "latency", times=1, seconds=1.5)

    outcome = publish(connector)

    assert (outcome.status, outcome.reason_code) == ("unknown",
                                                     "NETWORK_ERROR")
    # The slow request is processed after the client gave up: one post.
    assert len(wait_for_posts(sandbox, platform, 1)) == 1
    time.sleep(0.3)
    assert len(sandbox.posts_for(platform)) == 1


@pytest.mark.parametrize("platform", PUBLISHERS)
def test_connection_cut_after_the_post_is_unknown_and_not_retried(
        sandbox, tmp_path, platform):
    connector = build(sandbox, tmp_path, platform)
    sandbox.inject(platform, "publish", "cut_after_record", times=1)

    outcome = publish(connector)

    assert (outcome.status, outcome.reason_code) == ("unknown",
                                                     "NETWORK_ERROR")
    assert len(sandbox.posts_for(platform)) == 1


@pytest.mark.parametrize("platform", PUBLISHERS)
def test_unreadable_answer_to_a_publish_is_unknown(sandbox, tmp_path,
                                                   platform):
    connector = build(sandbox, tmp_path, platform)
    sandbox.inject(platform, "publish", "malformed_json", times=1)

    outcome = publish(connector)

    assert (outcome.status, outcome.reason_code) == ("unknown",
                                                     "PLATFORM_ERROR")
    assert len(sandbox.posts_for(platform)) == 1


@pytest.mark.parametrize("platform", PUBLISHERS)
def test_unreadable_answer_to_preflight_fails_it(sandbox, tmp_path,
                                                 platform):
    connector = build(sandbox, tmp_path, platform)
    sandbox.inject(platform, "preflight", "malformed_json", times=None)

    result = connector.preflight()

    assert (result.ok, result.reason_code) == (False, "PLATFORM_ERROR")


@pytest.mark.parametrize("platform", PUBLISHERS)
def test_refused_connection_is_failed_not_unknown(sandbox, tmp_path,
                                                  platform):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    urls = {"github": {"api_url": closed, "graphql_url": closed + "/gql"},
            "telegram": {"api_url": closed}, "x": {"api_url": closed},
            "reddit": {"auth_url": closed, "api_url": closed},
            "discord": {"api_url": closed}}
    connector = build(sandbox, tmp_path, platform, urls=urls)

    outcome = publish(connector)

    # Nothing left the machine, so trying again next run is safe.
    assert (outcome.status, outcome.reason_code) == ("failed",
                                                     "NETWORK_ERROR")


@pytest.mark.parametrize("platform", PUBLISHERS)
def test_credentials_revoked_mid_run_fail_the_next_publish(
        sandbox, tmp_path, platform):
    connector = build(sandbox, tmp_path, platform)
    assert publish(connector, "m-1").status == "published"
    sandbox.revoke(platform)

    outcome = publish(connector, "m-2")

    assert (outcome.status, outcome.reason_code) == ("failed",
                                                     "AUTH_FAILED")
    assert len(sandbox.posts_for(platform)) == 1
