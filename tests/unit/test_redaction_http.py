"""The shared HTTP client's words for logs and its reading of each
platform's rate-limit signal: pure functions, no network."""

from __future__ import annotations

import time

import pytest
import requests

from marketing_ops.platforms import discord, github, reddit, telegram, x
from marketing_ops.platforms.http import (MAYBE_SENT, NOT_SENT, HttpClient,
                                          classify)

TOKEN = "123456:AAcanary-token_abcdefghijklmnopqrstuv"


def test_logged_urls_hide_path_tokens_and_known_secrets():
    client = HttpClient("telegram", timeout=1, secrets=[TOKEN, "hunter2pw"])

    line = client.safe(f"https://api.telegram.org/bot{TOKEN}/getMe "
                       "password=hunter2pw "
                       "https://discord.com/api/webhooks/1/tok3n-value")

    assert TOKEN not in line and "hunter2pw" not in line
    assert "tok3n-value" not in line
    assert "/bot***/getMe" in line and "/webhooks/1/***" in line


@pytest.mark.parametrize("exc,expected", [
    (requests.ConnectTimeout(), NOT_SENT),
    (requests.ReadTimeout(), MAYBE_SENT),
    (requests.exceptions.ChunkedEncodingError(), MAYBE_SENT),
    (requests.ConnectionError(ConnectionResetError("reset by peer")),
     MAYBE_SENT),
    (requests.ConnectionError(ConnectionRefusedError("refused")), NOT_SENT),
    (requests.exceptions.MissingSchema(), NOT_SENT),
])
def test_only_failures_before_a_connection_prove_nothing_was_sent(
        exc, expected):
    transport, description = classify(exc)

    assert transport == expected
    assert "://" not in description


def soon(seconds):
    """An epoch ``seconds`` from when the test runs (not when the table is
    built, which happens at collection, long before)."""
    return lambda: str(int(time.time() + seconds))


@pytest.mark.parametrize("reader,status,headers,payload,wait", [
    # GitHub: retry-after first, else the reset epoch when nothing is left.
    (github.rate_limit, 403, {"retry-after": "42"}, {}, 42),
    (github.rate_limit, 429, {"x-ratelimit-remaining": "0",
                              "x-ratelimit-reset": soon(100)}, {}, 100),
    (github.rate_limit, 200, {"x-ratelimit-reset": soon(50)},
     {"errors": [{"type": "RATE_LIMITED"}]}, 50),
    (github.rate_limit, 403, {"x-ratelimit-remaining": "12"},
     {"message": "Resource not accessible"}, None),
    # Telegram: parameters.retry_after in the body.
    (telegram.rate_limit, 429, {}, {"ok": False, "error_code": 429,
                                    "parameters": {"retry_after": 34}}, 34),
    # X: x-rate-limit-reset is an epoch, not a delay.
    (x.rate_limit, 429, {"x-rate-limit-reset": soon(600)}, {}, 600),
    # Reddit: X-Ratelimit-Reset is seconds until the reset.
    (reddit.rate_limit, 429, {"X-Ratelimit-Reset": "341"}, None, 341),
    # Discord: retry_after is float seconds in the body.
    (discord.rate_limit, 429, {"Retry-After": "65"},
     {"retry_after": 64.57}, 64.57),
])
def test_each_platforms_rate_limit_signal(reader, status, headers, payload,
                                          wait):
    headers = {name: value() if callable(value) else value
               for name, value in headers.items()}

    limit = reader(status, requests.structures.CaseInsensitiveDict(headers),
                   payload)

    if wait is None:
        assert limit is None
    else:
        assert limit.wait == pytest.approx(wait, abs=2)


def test_reddit_reads_the_wait_from_its_ratelimit_message():
    assert reddit.wait_from_message(
        "you are doing that too much. try again in 9 minutes.") == 540
    assert reddit.wait_from_message("try again in 20 seconds") == 20
    assert reddit.wait_from_message("no number here") is None
