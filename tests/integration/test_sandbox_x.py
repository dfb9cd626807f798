"""The sandbox's X API v2 stand-in, exercised over real HTTP with real
OAuth 1.0a signatures (requests_oauthlib) and hand-tampered ones."""

import time

import pytest
import requests
from requests_oauthlib import OAuth1

from marketing_ops.sandbox import accounts
from marketing_ops.sandbox.testing import sandbox  # noqa: F401 (fixture)


def signed(**client_options):
    options = {"client_secret": accounts.X_API_SECRET,
               "resource_owner_key": accounts.X_ACCESS_TOKEN,
               "resource_owner_secret": accounts.X_ACCESS_SECRET}
    options.update(client_options)
    return OAuth1(options.pop("client_key", accounts.X_API_KEY), **options)


def tweet(sandbox, text, auth=None, **extra):
    return requests.post(f"{sandbox.url}/x/2/tweets", json={"text": text, **extra},
                         auth=auth or signed(), timeout=5)


class Tampered(OAuth1):
    """Signs correctly, then changes one character of the signature."""

    def __call__(self, request):
        request = super().__call__(request)
        header = request.headers["Authorization"].decode()
        start = header.index('oauth_signature="') + len('oauth_signature="')
        swapped = "B" if header[start] != "B" else "C"
        request.headers["Authorization"] = header[:start] + swapped + header[start + 1:]
        return request


def test_users_me_with_valid_signature(sandbox):
    response = requests.get(f"{sandbox.url}/x/2/users/me", auth=signed(),
                            params={"user.fields": "created_at"}, timeout=5)

    assert response.status_code == 200
    assert response.json()["data"]["username"] == accounts.X_USERNAME
    assert int(response.headers["x-rate-limit-reset"]) > time.time()


@pytest.mark.parametrize("auth, reason", [
    (Tampered(accounts.X_API_KEY, accounts.X_API_SECRET, accounts.X_ACCESS_TOKEN,
              accounts.X_ACCESS_SECRET), "signature does not match"),
    (OAuth1(accounts.X_API_KEY, "wrong-secret", accounts.X_ACCESS_TOKEN,
            accounts.X_ACCESS_SECRET), "signature does not match"),
    (OAuth1("unknown-key", accounts.X_API_SECRET, accounts.X_ACCESS_TOKEN,
            accounts.X_ACCESS_SECRET), "unknown consumer key"),
    (OAuth1(accounts.X_API_KEY, accounts.X_API_SECRET, accounts.X_ACCESS_TOKEN,
            accounts.X_ACCESS_SECRET, timestamp=str(int(time.time()) - 1000)),
     "timestamp is more than 300 s off"),
], ids=["tampered", "wrong-secret", "unknown-key", "stale-timestamp"])
def test_bad_oauth_is_401_problem(sandbox, auth, reason):
    response = requests.get(f"{sandbox.url}/x/2/users/me", auth=auth, timeout=5)

    assert response.status_code == 401
    assert response.json() == {"title": "Unauthorized", "type": "about:blank",
                               "status": 401, "detail": "Unauthorized"}
    assert response.headers["X-Sandbox-Reason"] == reason


def test_reused_nonce_is_refused(sandbox):
    stamp = str(int(time.time()))
    auth = signed(nonce="fixed-nonce-123", timestamp=stamp)

    first = requests.get(f"{sandbox.url}/x/2/users/me", auth=auth, timeout=5)
    second = requests.get(f"{sandbox.url}/x/2/users/me", auth=auth, timeout=5)

    assert first.status_code == 200
    assert second.status_code == 401
    assert second.headers["X-Sandbox-Reason"] == "nonce already used"


def test_query_parameters_are_part_of_the_signature(sandbox):
    request = requests.Request("GET", f"{sandbox.url}/x/2/users/me?user.fields=id",
                               auth=signed()).prepare()
    request.url = request.url.replace("user.fields=id", "user.fields=created_at")

    with requests.Session() as session:
        response = session.send(request, timeout=5)

    assert response.status_code == 401


def test_app_only_bearer_cannot_post(sandbox):
    response = requests.post(f"{sandbox.url}/x/2/tweets", json={"text": "hi"},
                             headers={"Authorization": "Bearer AAAAsandbox"}, timeout=5)

    assert response.status_code == 403
    assert response.json()["title"] == "Unsupported Authentication"


def test_post_is_created_recorded_and_duplicates_refused(sandbox):
    created = tweet(sandbox, "Hello from the sandbox")
    duplicate = tweet(sandbox, "Hello from the sandbox")

    assert created.status_code == 201
    data = created.json()["data"]
    assert data["text"] == "Hello from the sandbox"
    assert created.headers["x-user-limit-24hour-remaining"].isdigit()
    assert duplicate.status_code == 403
    assert duplicate.json()["detail"] == (
        "You are not allowed to create a Tweet with duplicate content.")
    [record] = sandbox.posts
    assert record["remote_id"] == data["id"]
    assert record["permalink"] == f"https://x.com/{accounts.X_USERNAME}/status/{data['id']}"


@pytest.mark.parametrize("text, accepted", [
    ("a" * 280, True),
    ("a" * 281, False),
    ("日" * 140, True),
    ("日" * 141, False),
    ("x" * 256 + " https://example.com/" + "p" * 100, True),   # URL counts 23
    ("x" * 257 + " https://example.com/" + "p" * 100, False),
    ("👩‍👩‍👧‍👦" * 140, True),                                     # a ZWJ family weighs 2
])
def test_weighted_length_limit(sandbox, text, accepted):
    response = tweet(sandbox, text)

    assert (response.status_code == 201) is accepted
    if not accepted:
        assert response.json()["status"] == response.status_code


def test_mentions_since_id_and_reply(sandbox):
    older = sandbox.seed_mention("x", "first question", author="alice")
    newer = sandbox.seed_mention("x", "second question", author="bob")

    response = requests.get(
        f"{sandbox.url}/x/2/users/{accounts.X_USER_ID}/mentions", auth=signed(),
        params={"since_id": older["id"], "max_results": 5,
                "tweet.fields": "author_id,created_at,conversation_id",
                "expansions": "author_id"}, timeout=5)
    reply = tweet(sandbox, "thanks bob", reply={"in_reply_to_tweet_id": newer["id"]})
    ghost = tweet(sandbox, "to nobody", reply={"in_reply_to_tweet_id": "1"})

    body = response.json()
    assert [t["id"] for t in body["data"]] == [newer["id"]]
    assert body["data"][0]["text"].startswith(f"@{accounts.X_USERNAME}")
    assert body["includes"]["users"][0]["username"] == "bob"
    assert body["meta"]["newest_id"] == newer["id"]
    assert reply.status_code == 201
    assert sandbox.posts[-1]["kind"] == "reply"
    assert ghost.status_code == 403


def test_own_timeline_lists_posts_for_reconciliation(sandbox):
    first = tweet(sandbox, "one").json()["data"]["id"]
    second = tweet(sandbox, "two").json()["data"]["id"]

    response = requests.get(f"{sandbox.url}/x/2/users/{accounts.X_USER_ID}/tweets",
                            auth=signed(), params={"max_results": 5}, timeout=5)

    assert [t["id"] for t in response.json()["data"]] == [second, first]


def test_rate_limit_signal_is_epoch_reset_without_retry_after(sandbox):
    sandbox.inject("x", "publish", "rate_limit", reset_in=600)

    response = tweet(sandbox, "hi")

    assert response.status_code == 429
    assert response.json()["title"] == "Too Many Requests"
    assert response.headers["x-rate-limit-remaining"] == "0"
    assert abs(int(response.headers["x-rate-limit-reset"]) - (time.time() + 600)) < 5
    assert "Retry-After" not in response.headers


def test_daily_bucket_can_run_out_while_window_looks_fine(sandbox):
    sandbox.inject("x", "publish", "rate_limit", bucket="24h")

    response = tweet(sandbox, "hi")

    assert response.status_code == 429
    assert response.headers["x-user-limit-24hour-remaining"] == "0"
    assert int(response.headers["x-rate-limit-remaining"]) > 0
