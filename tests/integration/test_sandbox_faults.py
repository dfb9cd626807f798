"""Fault injection, records, the control API and the sandbox as a process."""

import json
import re
import time

import pytest
import requests

from marketing_ops.sandbox import SandboxServer, accounts
from marketing_ops.sandbox.testing import (SandboxClient, sandbox,  # noqa: F401
                                           sandbox_process)


def discord_post(sandbox, content="hello"):
    return requests.post(sandbox.env()["DISCORD_WEBHOOK_URL"],
                         params={"wait": "true"}, json={"content": content},
                         timeout=5)


def telegram_send(sandbox, text="hello"):
    return requests.post(
        f"{sandbox.url}/telegram/bot{accounts.TELEGRAM_BOT_TOKEN}/sendMessage",
        json={"chat_id": "@" + accounts.TELEGRAM_CHANNEL_USERNAME, "text": text},
        timeout=5)


@pytest.mark.parametrize("send", [discord_post, telegram_send])
def test_cut_after_record_posts_but_never_answers(sandbox, send):
    platform = "discord" if send is discord_post else "telegram"
    sandbox.inject(platform, "publish", "cut_after_record")

    with pytest.raises(requests.ConnectionError):
        send(sandbox)

    assert [p["platform"] for p in sandbox.posts] == [platform]
    assert send(sandbox, "next").status_code == 200  # only the next request


def test_malformed_json_still_processes_the_request(sandbox):
    sandbox.inject("discord", "publish", "malformed_json")

    response = discord_post(sandbox)

    assert response.status_code == 200
    with pytest.raises(ValueError):
        json.loads(response.text)
    assert len(sandbox.posts) == 1


def test_server_error_is_5xx_and_posts_nothing(sandbox):
    sandbox.inject("discord", "publish", "server_error", status=503)

    response = discord_post(sandbox)

    assert response.status_code == 503
    assert sandbox.posts == []


def test_latency_fault_delays_only_matching_requests(sandbox):
    sandbox.inject("discord", "publish", "latency", seconds=0.3)

    started = time.monotonic()
    requests.get(sandbox.env()["DISCORD_WEBHOOK_URL"], timeout=5)
    preflight = time.monotonic() - started
    started = time.monotonic()
    discord_post(sandbox)
    publish = time.monotonic() - started

    assert preflight < 0.25
    assert publish >= 0.3


def test_global_latency_applies_to_every_platform(sandbox):
    sandbox.set_latency(0.3)

    started = time.monotonic()
    requests.get(sandbox.env()["DISCORD_WEBHOOK_URL"], timeout=5)
    requests.get(f"{sandbox.url}/telegram/bot{accounts.TELEGRAM_BOT_TOKEN}/getMe",
                 timeout=5)
    elapsed = time.monotonic() - started

    assert elapsed >= 0.6


def test_persistent_fault_lasts_until_cleared_and_counted_faults_run_out(sandbox):
    sandbox.inject("discord", "publish", "server_error", times=None)
    sandbox.inject("discord", "preflight", "server_error", times=2)
    url = sandbox.env()["DISCORD_WEBHOOK_URL"]

    publishes = [discord_post(sandbox).status_code for _ in range(3)]
    preflights = [requests.get(url, timeout=5).status_code for _ in range(3)]
    sandbox.clear_faults()

    assert publishes == [500, 500, 500]
    assert preflights == [500, 500, 200]
    assert discord_post(sandbox).status_code == 200


def test_wildcard_endpoint_matches_any_request(sandbox):
    sandbox.inject("telegram", "*", "rate_limit", retry_after=3)

    response = requests.get(
        f"{sandbox.url}/telegram/bot{accounts.TELEGRAM_BOT_TOKEN}/getMe", timeout=5)

    assert response.status_code == 429
    assert response.json()["parameters"]["retry_after"] == 3


@pytest.mark.parametrize("args, message", [
    (("myspace", "publish", "rate_limit"), "unknown platform"),
    (("discord", "publish", "explode"), "unknown fault"),
    (("discord", "mentions", "rate_limit"), "has no endpoint"),
    (("telegram", "publish", "error_in_200"), "does not report errors inside HTTP 200"),
])
def test_inject_rejects_what_cannot_happen(sandbox, args, message):
    with pytest.raises(ValueError, match=message):
        sandbox.inject(*args)


def test_reset_forgets_posts_faults_and_revocations(sandbox):
    discord_post(sandbox)
    sandbox.inject("discord", "publish", "server_error", times=None)
    sandbox.revoke("github")
    sandbox.set_latency(1)

    sandbox.reset()

    assert sandbox.posts == [] and sandbox.faults() == []
    assert discord_post(sandbox).status_code == 200
    user = requests.get(f"{sandbox.url}/github/user", timeout=5, headers={
        "Authorization": f"Bearer {accounts.GITHUB_TOKEN}"})
    assert user.status_code == 200
    assert user.elapsed.total_seconds() < 0.5


def test_env_and_urls_describe_the_sandbox(sandbox):
    env = sandbox.env()
    urls = sandbox.platform_urls()

    assert re.fullmatch(r"ghp_[A-Za-z0-9]{36}", env["GITHUB_TOKEN"])
    assert re.fullmatch(r"\d+:[A-Za-z0-9_-]{35}", env["TELEGRAM_BOT_TOKEN"])
    assert env["DISCORD_WEBHOOK_URL"].startswith(f"{sandbox.url}/discord/api/webhooks/")
    for name in ("GITHUB_TOKEN", "TELEGRAM_BOT_TOKEN", "X_API_KEY", "X_API_SECRET",
                 "X_ACCESS_TOKEN", "X_ACCESS_SECRET", "REDDIT_CLIENT_ID",
                 "REDDIT_CLIENT_SECRET", "REDDIT_PASSWORD", "DISCORD_WEBHOOK_URL"):
        assert "sandbox" in env[name].lower(), name
    assert urls["github"] == {"api_url": f"{sandbox.url}/github",
                              "graphql_url": f"{sandbox.url}/github/graphql"}
    assert urls["reddit"]["auth_url"] == f"{sandbox.url}/reddit/www"
    assert urls["x"]["api_url"] == f"{sandbox.url}/x"


def test_control_api_over_http_drives_the_same_sandbox(sandbox):
    client = SandboxClient(sandbox.url)

    client.inject("discord", "publish", "cut_after_record")
    with pytest.raises(requests.ConnectionError):
        discord_post(sandbox)
    client.seed_repo("z/seeded", topics=["remote"])
    client.seed_release("v9.9.9")
    seeded = client.seed_mention("x", "hello there")

    assert [p["platform"] for p in client.posts] == ["discord"]
    assert client.posts_for("github") == []
    assert seeded["text"].startswith(f"@{accounts.X_USERNAME}")
    assert client.env() == sandbox.env()
    with pytest.raises(ValueError, match="unknown fault"):
        client.inject("x", "publish", "explode")
    client.reset()
    assert client.posts == []


def test_posts_are_a_copy(sandbox):
    discord_post(sandbox)
    sandbox.posts[0]["text"] = "changed"

    assert sandbox.posts[0]["text"] == "hello"


def test_sandbox_in_its_own_process_keeps_records():
    with sandbox_process() as client:
        url = client.env()["DISCORD_WEBHOOK_URL"]

        client.inject("discord", "publish", "cut_after_record")
        with pytest.raises(requests.ConnectionError):
            requests.post(url, params={"wait": "true"}, json={"content": "x"}, timeout=5)

        assert [p["text"] for p in client.posts] == ["x"]


def test_two_servers_are_independent():
    with SandboxServer() as first, SandboxServer() as second:
        discord_post(first)

        assert len(first.posts) == 1 and second.posts == []


def test_cut_on_a_kept_alive_connection_is_not_silently_resent(sandbox):
    with requests.Session() as session:
        url = sandbox.env()["DISCORD_WEBHOOK_URL"]
        assert session.get(url, timeout=5).status_code == 200  # opens the connection
        sandbox.inject("discord", "publish", "cut_after_record")

        with pytest.raises(requests.ConnectionError):
            session.post(url, params={"wait": "true"}, json={"content": "once"}, timeout=5)

    assert [p["text"] for p in sandbox.posts] == ["once"]
