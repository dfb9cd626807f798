"""The sandbox's GitHub stand-in, exercised over real HTTP."""

import re
import time

import requests
from urllib3.util import SKIP_HEADER

from marketing_ops.sandbox import accounts
from marketing_ops.sandbox.testing import sandbox  # noqa: F401 (fixture)

CATEGORIES = """query($owner: String!, $name: String!) {
  repository(owner: $owner, name: $name) {
    id
    discussionCategories(first: 25) { nodes { id name } }
  }
}"""
CREATE = """mutation($input: CreateDiscussionInput!) {
  createDiscussion(input: $input) { discussion { id number url } }
}"""
COMMENT = """mutation($input: AddDiscussionCommentInput!) {
  addDiscussionComment(input: $input) { comment { id url } }
}"""
RECENT = """query {
  repository(owner: "sandbox-org", name: "sandbox-project") {
    discussions(first: 10, orderBy: {field: CREATED_AT, direction: DESC}) {
      nodes { id number url title body comments(first: 20) { nodes { id body author { login } } } }
    }
  }
}"""


def auth(scheme="Bearer", token=accounts.GITHUB_TOKEN):
    return {"Authorization": f"{scheme} {token}",
            "Accept": "application/vnd.github+json"}


def graphql(sandbox, query, variables=None, **kwargs):
    return requests.post(f"{sandbox.url}/github/graphql", headers=auth(),
                         json={"query": query, "variables": variables or {}},
                         timeout=5, **kwargs)


def categories(sandbox):
    response = graphql(sandbox, CATEGORIES, {"owner": accounts.GITHUB_OWNER,
                                             "name": accounts.GITHUB_REPO})
    repository = response.json()["data"]["repository"]
    by_name = {c["name"]: c["id"]
               for c in repository["discussionCategories"]["nodes"]}
    return repository["id"], by_name


def create_discussion(sandbox, title="Release 1.0", body="It is out."):
    repo_id, by_name = categories(sandbox)
    return graphql(sandbox, CREATE, {"input": {
        "repositoryId": repo_id, "categoryId": by_name["Announcements"],
        "title": title, "body": body}})


def test_user_answers_with_scopes_and_rate_headers(sandbox):
    for scheme in ("Bearer", "token"):
        response = requests.get(f"{sandbox.url}/github/user",
                                headers=auth(scheme), timeout=5)

        assert response.status_code == 200
        assert response.json()["login"] == accounts.GITHUB_LOGIN
        assert response.headers["X-OAuth-Scopes"] == "public_repo, read:org, repo"
        assert int(response.headers["x-ratelimit-reset"]) > time.time()
        assert response.headers["x-ratelimit-resource"] == "core"


def test_bad_token_gets_bad_credentials(sandbox):
    response = requests.get(f"{sandbox.url}/github/user",
                            headers=auth(token="ghp_" + "x" * 36), timeout=5)

    assert response.status_code == 401
    body = response.json()
    assert body["message"] == "Bad credentials"
    assert body["documentation_url"].startswith("https://docs.github.com")


def test_missing_user_agent_is_forbidden(sandbox):
    response = requests.get(f"{sandbox.url}/github/user",
                            headers={**auth(), "User-Agent": SKIP_HEADER}, timeout=5)

    assert response.status_code == 403
    assert "User-Agent" in response.text


def test_repository_reports_permissions(sandbox):
    own = requests.get(f"{sandbox.url}/github/repos/sandbox-org/sandbox-project",
                       headers=auth(), timeout=5)
    missing = requests.get(f"{sandbox.url}/github/repos/sandbox-org/nope",
                           headers=auth(), timeout=5)

    assert own.status_code == 200
    assert own.json()["permissions"]["push"] is True
    assert missing.status_code == 404
    assert missing.json()["message"] == "Not Found"


def test_latest_release_is_404_until_seeded_then_newest_stable(sandbox):
    url = f"{sandbox.url}/github/repos/sandbox-org/sandbox-project/releases/latest"
    assert requests.get(url, headers=auth(), timeout=5).status_code == 404

    sandbox.seed_release("v1.0.0", published_at="2024-01-01T00:00:00Z")
    sandbox.seed_release("v1.1.0", body="notes", published_at="2024-02-01T00:00:00Z")
    sandbox.seed_release("v2.0.0-rc1", prerelease=True,
                         published_at="2024-03-01T00:00:00Z")
    latest = requests.get(url, headers=auth(), timeout=5).json()

    assert latest["tag_name"] == "v1.1.0"
    assert latest["html_url"].endswith("/sandbox-org/sandbox-project/releases/tag/v1.1.0")


def test_search_honours_qualifiers_and_sort(sandbox):
    sandbox.seed_repo("a/cli-one", topics=["cli"], language="Python", stars=120,
                      pushed_at="2024-06-01", license="MIT")
    sandbox.seed_repo("b/cli-two", topics=["cli"], language="Python", stars=80,
                      pushed_at="2024-05-01", license="MIT")
    sandbox.seed_repo("c/cli-old", topics=["cli"], language="Python", stars=500,
                      pushed_at="2020-01-01", license="MIT")
    sandbox.seed_repo("d/cli-go", topics=["cli"], language="Go", stars=900,
                      pushed_at="2024-06-01", license="MIT")
    sandbox.seed_repo("e/cli-gpl", topics=["cli"], language="Python", stars=300,
                      pushed_at="2024-06-01", license="GPL-3.0")
    sandbox.seed_repo("f/cli-small", topics=["cli"], language="Python", stars=3,
                      pushed_at="2024-06-01", license="MIT")

    response = requests.get(f"{sandbox.url}/github/search/repositories", params={
        "q": "topic:cli language:python stars:>=50 pushed:>=2024-01-01 license:mit",
        "sort": "stars", "order": "desc", "per_page": 10}, headers=auth(), timeout=5)

    assert response.status_code == 200
    body = response.json()
    assert [item["full_name"] for item in body["items"]] == ["a/cli-one", "b/cli-two"]
    assert body["total_count"] == 2
    assert response.headers["x-ratelimit-resource"] == "search"


def test_search_paginates_with_link_header(sandbox):
    for n in range(5):
        sandbox.seed_repo(f"p/page-{n}", topics=["paged"], stars=n)

    first = requests.get(f"{sandbox.url}/github/search/repositories",
                         params={"q": "topic:paged", "per_page": 2},
                         headers=auth(), timeout=5)
    next_url = re.search(r'<([^>]+)>; rel="next"', first.headers["Link"]).group(1)
    second = requests.get(next_url, headers=auth(), timeout=5)

    assert [i["full_name"] for i in first.json()["items"]] == ["p/page-4", "p/page-3"]
    assert [i["full_name"] for i in second.json()["items"]] == ["p/page-2", "p/page-1"]


def test_search_budget_of_30_per_minute_runs_out(sandbox):
    url = f"{sandbox.url}/github/search/repositories"
    with requests.Session() as session:
        answers = [session.get(url, params={"q": "anything"}, headers=auth(),
                               timeout=5) for _ in range(31)]

    assert {a.status_code for a in answers[:30]} == {200}
    assert answers[29].headers["x-ratelimit-remaining"] == "0"
    assert answers[30].status_code == 403
    assert answers[30].json()["message"].startswith("API rate limit exceeded")
    assert int(answers[30].headers["x-ratelimit-reset"]) > time.time()


def test_create_discussion_returns_permalink_and_is_recorded(sandbox):
    response = create_discussion(sandbox, body="Body <!-- marker:abc -->")

    assert response.status_code == 200
    discussion = response.json()["data"]["createDiscussion"]["discussion"]
    assert "errors" not in response.json()
    assert discussion["url"] == (
        f"https://github.com/sandbox-org/sandbox-project/discussions/{discussion['number']}")
    [record] = sandbox.posts
    assert record["platform"] == "github" and record["kind"] == "post"
    assert record["permalink"] == discussion["url"]
    assert record["title"] == "Release 1.0"


def test_recent_discussions_list_newest_first_with_body_and_comments(sandbox):
    create_discussion(sandbox, title="first", body="one")
    second = create_discussion(sandbox, title="second", body="two").json()
    number = second["data"]["createDiscussion"]["discussion"]["number"]
    sandbox.seed_mention("github", "Nice release!", kind="discussion_comment",
                         discussion_number=number, author="fan")

    nodes = graphql(sandbox, RECENT).json()["data"]["repository"]["discussions"]["nodes"]

    assert [n["title"] for n in nodes] == ["second", "first"]
    assert nodes[0]["body"] == "two"
    assert nodes[0]["comments"]["nodes"][0]["body"] == "Nice release!"
    assert nodes[0]["comments"]["nodes"][0]["author"]["login"] == "fan"


def test_add_discussion_comment_threads_under_a_comment(sandbox):
    create_discussion(sandbox)
    seeded = sandbox.seed_mention("github", "Question?", kind="discussion_comment")
    discussion_id = graphql(sandbox, RECENT).json()[
        "data"]["repository"]["discussions"]["nodes"][0]["id"]

    response = graphql(sandbox, COMMENT, {"input": {
        "discussionId": discussion_id, "body": "Answer.", "replyToId": seeded["id"]}})

    comment = response.json()["data"]["addDiscussionComment"]["comment"]
    assert "#discussioncomment-" in comment["url"]
    assert sandbox.posts[-1]["kind"] == "reply"
    assert sandbox.posts[-1]["in_reply_to"] == seeded["id"]


def test_graphql_errors_arrive_inside_http_200(sandbox):
    repo_id, by_name = categories(sandbox)
    wrong_category = graphql(sandbox, CREATE, {"input": {
        "repositoryId": repo_id, "categoryId": "DIC_nope", "title": "t", "body": "b"}})
    sandbox.inject("github", "publish", "error_in_200")
    forbidden = create_discussion(sandbox)

    assert wrong_category.status_code == 200
    assert wrong_category.json()["errors"][0]["type"] == "NOT_FOUND"
    assert forbidden.status_code == 200
    assert forbidden.json()["data"] == {"createDiscussion": None}
    assert forbidden.json()["errors"][0]["type"] == "FORBIDDEN"
    assert sandbox.posts == []


def test_graphql_rate_limit_is_http_200_with_errors(sandbox):
    sandbox.inject("github", "publish", "rate_limit")

    response = create_discussion(sandbox)

    assert response.status_code == 200
    assert response.json()["errors"][0]["type"] == "RATE_LIMITED"
    assert response.headers["x-ratelimit-remaining"] == "0"
    assert sandbox.posts == []


def test_rest_rate_limit_fault_carries_retry_after_and_reset(sandbox):
    sandbox.inject("github", "preflight", "rate_limit", retry_after=42)

    response = requests.get(f"{sandbox.url}/github/user", headers=auth(), timeout=5)

    assert response.status_code == 429
    assert response.headers["retry-after"] == "42"
    assert abs(int(response.headers["x-ratelimit-reset"]) - (time.time() + 42)) < 5
    assert requests.get(f"{sandbox.url}/github/user", headers=auth(),
                        timeout=5).status_code == 200


def test_issue_comments_since_and_reply(sandbox):
    old = sandbox.seed_mention("github", "old", created_at="2020-01-01T00:00:00Z")
    new = sandbox.seed_mention("github", "@sandbox-bot help?")
    issue = new["issue_url"].rsplit("/", 1)[1]
    base = f"{sandbox.url}/github/repos/sandbox-org/sandbox-project/issues"

    listed = requests.get(f"{base}/comments", params={
        "since": "2023-01-01T00:00:00Z", "sort": "created", "direction": "asc"},
        headers=auth(), timeout=5).json()
    reply = requests.post(f"{base}/{issue}/comments", json={"body": "Sure."},
                          headers=auth(), timeout=5)

    assert [c["id"] for c in listed] == [new["id"]]
    assert old["id"] != new["id"]
    assert reply.status_code == 201
    assert re.fullmatch(r"https://github.com/sandbox-org/sandbox-project/issues/"
                        rf"{issue}#issuecomment-\d+", reply.json()["html_url"])
    assert sandbox.posts[-1]["kind"] == "reply"


def test_revoke_makes_later_calls_unauthorised(sandbox):
    sandbox.inject("github", "publish", "revoke")

    publish = create_discussion(sandbox)
    user = requests.get(f"{sandbox.url}/github/user", headers=auth(), timeout=5)

    assert publish.status_code == 401
    assert user.status_code == 401
    assert user.json()["message"] == "Bad credentials"
