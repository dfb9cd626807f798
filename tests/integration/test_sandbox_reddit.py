"""The sandbox's Reddit stand-in, exercised over real HTTP."""

import requests

from marketing_ops.sandbox import accounts
from marketing_ops.sandbox.testing import sandbox  # noqa: F401 (fixture)

AGENT = {"User-Agent": "linux:org.example.marketing-ops:v0.1.0 (by /u/sandbox_redditor)"}
CLIENT = (accounts.REDDIT_CLIENT_ID, accounts.REDDIT_CLIENT_SECRET)
LOGIN = {"grant_type": "password", "username": accounts.REDDIT_USERNAME,
         "password": accounts.REDDIT_PASSWORD}


def get_token(sandbox, auth=CLIENT, data=LOGIN, headers=AGENT):
    return requests.post(f"{sandbox.url}/reddit/www/api/v1/access_token",
                         auth=auth, data=data, headers=headers, timeout=5)


def api(sandbox, method, path, token, **kwargs):
    headers = {**AGENT, "Authorization": f"bearer {token}"}
    return requests.request(method, f"{sandbox.url}/reddit/oauth{path}",
                            headers=headers, timeout=5, **kwargs)


def submit(sandbox, token, **fields):
    form = {"sr": accounts.REDDIT_SUBREDDIT, "kind": "self", "title": "Release 1.0",
            "text": "It is out.", "api_type": "json", **fields}
    return api(sandbox, "POST", "/api/submit", token, data=form)


def fresh_token(sandbox):
    return get_token(sandbox).json()["access_token"]


def test_password_grant_issues_a_bearer_token(sandbox):
    body = get_token(sandbox).json()

    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 86400
    assert body["scope"] == "*"
    me = api(sandbox, "GET", "/api/v1/me", body["access_token"])
    assert me.status_code == 200
    assert me.json()["name"] == accounts.REDDIT_USERNAME
    assert float(me.headers["X-Ratelimit-Remaining"]) > 0
    assert 0 <= int(me.headers["X-Ratelimit-Reset"]) <= 600


def test_wrong_password_is_http_200_invalid_grant(sandbox):
    response = get_token(sandbox, data={**LOGIN, "password": "nope"})

    assert response.status_code == 200
    assert response.json() == {"error": "invalid_grant"}


def test_wrong_client_is_401(sandbox):
    response = get_token(sandbox, auth=("someone", "else"))

    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized", "error": 401}


def test_generic_or_careless_user_agents_are_refused(sandbox):
    generic = get_token(sandbox, headers={"User-Agent": "python-requests/2.31"})
    curl = get_token(sandbox, headers={"User-Agent": "curl/8.0"})
    careless = get_token(sandbox, headers={"User-Agent": "marketing-ops/0.1"})

    assert generic.status_code == 429
    assert curl.status_code == 429
    assert careless.status_code == 403


def test_unknown_or_revoked_token_is_401_with_challenge(sandbox):
    unknown = api(sandbox, "GET", "/api/v1/me", "not-a-token")
    token = fresh_token(sandbox)
    sandbox.revoke("reddit", token_only=True)
    revoked = api(sandbox, "GET", "/api/v1/me", token)
    renewed = api(sandbox, "GET", "/api/v1/me", fresh_token(sandbox))

    for refused in (unknown, revoked):
        assert refused.status_code == 401
        assert 'error="invalid_token"' in refused.headers["www-authenticate"]
    assert renewed.status_code == 200


def test_submit_returns_url_and_is_recorded(sandbox):
    response = submit(sandbox, fresh_token(sandbox))

    assert response.status_code == 200
    data = response.json()["json"]["data"]
    assert response.json()["json"]["errors"] == []
    assert data["name"] == f"t3_{data['id']}"
    assert data["url"].startswith(
        f"https://www.reddit.com/r/{accounts.REDDIT_SUBREDDIT}/comments/{data['id']}/")
    [record] = sandbox.posts
    assert record["title"] == "Release 1.0" and record["remote_id"] == data["name"]


def test_submission_errors_arrive_inside_http_200(sandbox):
    token = fresh_token(sandbox)
    long_title = submit(sandbox, token, title="t" * 301)
    long_body = submit(sandbox, token, text="b" * 40001)
    no_sub = submit(sandbox, token, sr="does_not_exist_here")
    link = {"kind": "link", "url": "https://example.com/release"}
    first_link = submit(sandbox, token, **link)
    repeated = submit(sandbox, token, **link)

    assert long_title.status_code == 200
    assert long_title.json()["json"]["errors"] == [
        ["TOO_LONG", "this is too long (max: 300)", "title"]]
    assert long_body.json()["json"]["errors"][0][0] == "TOO_LONG"
    assert no_sub.json()["json"]["errors"][0][0] == "SUBREDDIT_NOEXIST"
    assert first_link.json()["json"]["errors"] == []
    assert repeated.json()["json"]["errors"][0][0] == "ALREADY_SUB"
    assert len(sandbox.posts) == 1


def test_ratelimit_inside_200_and_as_429(sandbox):
    token = fresh_token(sandbox)
    sandbox.inject("reddit", "publish", "error_in_200", minutes=9)
    in_200 = submit(sandbox, token)
    sandbox.inject("reddit", "publish", "rate_limit", reset=341)
    as_429 = submit(sandbox, token)

    assert in_200.status_code == 200
    assert in_200.json()["json"]["errors"] == [[
        "RATELIMIT", "you are doing that too much. try again in 9 minutes.", "ratelimit"]]
    assert as_429.status_code == 429
    assert as_429.headers["X-Ratelimit-Reset"] == "341"
    assert as_429.headers["X-Ratelimit-Remaining"] == "0.0"
    assert sandbox.posts == []


def test_inbox_reply_and_mark_read(sandbox):
    token = fresh_token(sandbox)
    post = submit(sandbox, token).json()["json"]["data"]
    sandbox.seed_mention("reddit", "Great post!", kind="post_reply")
    sandbox.seed_mention("reddit", "u/sandbox_redditor look", kind="username_mention")

    peek = api(sandbox, "GET", "/message/unread", token, params={"mark": "false"}).json()
    mentions = api(sandbox, "GET", "/message/mentions", token,
                   params={"mark": "false"}).json()
    item = next(c["data"] for c in peek["data"]["children"]
                if c["data"]["type"] == "post_reply")
    reply = api(sandbox, "POST", "/api/comment", token,
                data={"thing_id": item["name"], "text": "Thanks!", "api_type": "json"})
    read = api(sandbox, "POST", "/api/read_message", token,
               data={"id": ",".join(c["data"]["name"] for c in peek["data"]["children"])})
    unread_after = api(sandbox, "GET", "/message/unread", token).json()

    assert peek["kind"] == "Listing" and len(peek["data"]["children"]) == 2
    assert item["parent_id"] == post["name"] and item["new"] is True
    assert [c["data"]["type"] for c in mentions["data"]["children"]] == ["username_mention"]
    thing = reply.json()["json"]["data"]["things"][0]
    assert thing["kind"] == "t1" and thing["data"]["parent_id"] == item["name"]
    assert sandbox.posts[-1]["kind"] == "reply"
    assert read.json() == {}
    assert unread_after["data"]["children"] == []


def test_submitted_lists_own_posts_newest_first(sandbox):
    token = fresh_token(sandbox)
    submit(sandbox, token, title="first")
    submit(sandbox, token, title="second")

    listing = api(sandbox, "GET", f"/user/{accounts.REDDIT_USERNAME}/submitted",
                  token, params={"sort": "new", "limit": 10}).json()

    assert [c["data"]["title"] for c in listing["data"]["children"]] == ["second", "first"]
