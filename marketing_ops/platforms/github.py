"""GitHub: announcements as Discussions, replies as comments.

* Preflight: ``GET /user`` (who the token is), ``GET /repos/{owner}/{repo}``
  (can it write there) and a GraphQL look-up of the configured Discussion
  category (are Discussions on, does the category exist).
* Publish: GraphQL ``createDiscussion`` in the category from
  ``platforms.github.discussion_category`` (a draft may name another in its
  ``github.category`` override).  Title: the ``github.title`` override, else
  the draft's title.  Body: the draft's Markdown, then the hidden marker
  ``<!-- marketing-ops:MARKER -->`` that reconciliation looks for.
* Reconcile: the newest Discussions of the repository, matched on the
  marker in their body.
* Mentions: issue and pull-request comments on the repository since the
  cursor (REST), plus comments on the repository's newest Discussions
  (GraphQL).  A comment counts as addressed to us when it names our login.
* Reply: an issue comment, or a Discussion comment threaded under the one
  we answer.

GraphQL reports failures inside HTTP 200 (``errors``), rate limits
included; both are read, never only the status code.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import Any

from marketing_ops.platforms.base import (
    AUTH_FAILED, INVALID_CONTENT, MARKER_TEMPLATE, NETWORK_ERROR,
    PERMISSION_DENIED, PLATFORM_ERROR, RATE_LIMITED, Connector, Mention,
    Outcome, PreflightResult, Rendered, read_failure)

logger = logging.getLogger(__name__)

_REPOSITORY_QUERY = """
query($owner: String!, $name: String!) {
  repository(owner: $owner, name: $name) {
    id
    discussionCategories(first: 25) { nodes { id name } }
  }
}"""

_CREATE_DISCUSSION = """
mutation($repositoryId: ID!, $categoryId: ID!, $title: String!,
         $body: String!) {
  createDiscussion(input: {repositoryId: $repositoryId,
                           categoryId: $categoryId, title: $title,
                           body: $body}) {
    discussion { id number url }
  }
}"""

_RECENT_DISCUSSIONS = """
query($owner: String!, $name: String!, $first: Int!) {
  repository(owner: $owner, name: $name) {
    discussions(first: $first,
                orderBy: {field: CREATED_AT, direction: DESC}) {
      nodes {
        id number url body createdAt
        comments(first: 50) {
          nodes { id url body createdAt author { login } }
        }
      }
    }
  }
}"""

_ADD_DISCUSSION_COMMENT = """
mutation($discussionId: ID!, $body: String!, $replyToId: ID) {
  addDiscussionComment(input: {discussionId: $discussionId, body: $body,
                               replyToId: $replyToId}) {
    comment { id url }
  }
}"""


class GitHubConnector(Connector):
    name = "github"
    can_publish = True
    can_reply = True
    can_read_mentions = True
    can_reconcile = True
    credential_names = ("GITHUB_TOKEN", "GITHUB_OWNER", "GITHUB_REPO")

    #: Longest body GitHub accepts (its 422 names this number).
    BODY_LIMIT = 65_536
    #: How many recent Discussions reconciliation and mentions look at.
    RECENT_DISCUSSIONS = 20
    API_VERSION = "2022-11-28"

    def __init__(self, settings, platform_config, *, timeout=15.0):
        super().__init__(settings, platform_config, timeout=timeout)
        self.api_url = self.config.get(
            "api_url", "https://api.github.com").rstrip("/")
        self.graphql_url = self.config.get(
            "graphql_url", self.api_url + "/graphql")
        self.category = self.config.get("discussion_category",
                                        "Announcements")
        self.owner = self.credential("GITHUB_OWNER")
        self.repo = self.credential("GITHUB_REPO")
        self._login: str | None = None
        self._repository: dict[str, Any] | None = None

    def read_rate_limit(self, status, headers, payload):
        return rate_limit(status, headers, payload)

    def prepare_session(self, session) -> None:
        session.headers.update({
            "Authorization": f"Bearer {self.credential('GITHUB_TOKEN')}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": self.API_VERSION,
        })

    # -- preflight -----------------------------------------------------------

    def preflight(self) -> PreflightResult:
        reply = self.http.request("GET", f"{self.api_url}/user")
        failure = self._failure(reply, "GET /user")
        if failure:
            return self.result(False, failure.reason_code, failure.detail,
                               seconds=reply.seconds)
        user = reply.json()
        if not isinstance(user, dict) or not user.get("login"):
            return self.result(False, PLATFORM_ERROR, "GET /user: the "
                               "answer could not be read",
                               seconds=reply.seconds)
        self._login = user["login"]
        seconds = reply.seconds

        reply = self.http.request(
            "GET", f"{self.api_url}/repos/{self.owner}/{self.repo}")
        seconds += reply.seconds
        if reply.status == 404:
            return self.result(
                False, PERMISSION_DENIED,
                f"repository {self.owner}/{self.repo} not found or not "
                f"visible to {self._login}; check GITHUB_OWNER/GITHUB_REPO "
                "and the token's repository access", self._login, seconds)
        failure = self._failure(reply, "GET /repos")
        if failure:
            return self.result(False, failure.reason_code, failure.detail,
                               self._login, seconds)
        repository = reply.json()
        if not isinstance(repository, dict):
            return self.result(False, PLATFORM_ERROR, "GET /repos: the "
                               "answer could not be read", self._login,
                               seconds)
        permissions = repository.get("permissions") or {}
        if permissions and not (permissions.get("push")
                                or permissions.get("maintain")
                                or permissions.get("admin")):
            return self.result(
                False, PERMISSION_DENIED,
                f"{self._login} cannot write to {self.owner}/{self.repo} "
                "(no push permission); grant write access", self._login,
                seconds)

        category, failure = self._category_id(self.category)
        if failure:
            return self.result(False, failure.reason_code, failure.detail,
                               self._login, seconds)
        return self.result(True, None,
                           f"{self._login} can post to "
                           f"{self.owner}/{self.repo} "
                           f"({self.category!r} Discussions)",
                           self._login, seconds)

    # -- render --------------------------------------------------------------

    def render(self, draft, *, kind="post", marker=None) -> Rendered:
        override = draft.override(self.name) or {}
        title = override.get("title") or draft.title
        body = draft.body.strip()
        text = body
        if marker:
            text = f"{body}\n\n{MARKER_TEMPLATE.format(marker=marker)}\n"
        category = override.get("category") or self.category
        return Rendered(
            platform=self.name, kind=kind, text=text, plain_text=body,
            title=title,
            measures={"body": (len(text), self.BODY_LIMIT, "chars")},
            fields={"category": category,
                    "repository": f"{self.owner}/{self.repo}"},
            marker=marker)

    def render_reply(self, mention: Mention, text: str) -> Rendered:
        return Rendered(
            platform=self.name, kind="reply", text=text, plain_text=text,
            measures={"body": (len(text), self.BODY_LIMIT, "chars")},
            fields={"in_reply_to": mention.id})

    # -- publish -------------------------------------------------------------

    def publish(self, rendered: Rendered) -> Outcome:
        # The look-up is a read: if it fails, nothing was created yet.
        category = rendered.fields.get("category", self.category)
        category_id, failure = self._category_id(category)
        if failure:
            return failure

        variables = {"repositoryId": self._repository["id"],
                     "categoryId": category_id,
                     "title": rendered.title or "", "body": rendered.text}
        data, outcome = self._graphql(_CREATE_DISCUSSION, variables,
                                      write=True)
        if outcome:
            return outcome
        discussion = ((data or {}).get("createDiscussion") or {}) \
            .get("discussion") or {}
        if not discussion.get("url"):
            return Outcome.unknown(
                PLATFORM_ERROR, "createDiscussion answered without a "
                "discussion URL; check the repository's Discussions")
        logger.info("github: published discussion #%s",
                    discussion.get("number"))
        return Outcome.published(discussion["url"], discussion.get("id"))

    def find_published(self, marker: str, since: datetime,
                       text: str | None = None) -> Outcome | None:
        needle = MARKER_TEMPLATE.format(marker=marker)
        nodes, outcome = self._recent_discussions()
        if outcome:
            return outcome
        for node in nodes:
            if needle in (node.get("body") or ""):
                return Outcome.published(node.get("url"), node.get("id"),
                                         "found by its marker")
        return None

    # -- mentions and replies --------------------------------------------------

    def read_mentions(self, cursor):
        """Cursor: JSON ``{"since": ISO time, "seen": [comment ids]}`` of
        the newest comment time seen and the ids seen at that time."""
        state = _load_cursor(cursor)
        login = self._login or self._whoami()

        params = {"sort": "created", "direction": "asc", "per_page": 100}
        if state["since"]:
            params["since"] = state["since"]
        reply = self.http.request(
            "GET", f"{self.api_url}/repos/{self.owner}/{self.repo}"
            "/issues/comments", params=params)
        failure = self._failure(reply, "GET issue comments")
        if failure:
            raise read_failure(self.name, failure)
        mentions = [self._issue_mention(item, login)
                    for item in reply.json() or []]

        # Known gap: only the newest RECENT_DISCUSSIONS Discussions and their
        # first 50 comments are looked at, so a comment on an older
        # announcement is never seen (meanwhile: nothing answers it).
        # Paginating discussions and comments with GraphQL cursors would
        # close the gap.
        nodes, outcome = self._recent_discussions()
        if outcome:
            raise read_failure(self.name, outcome)
        for node in nodes:
            for comment in ((node.get("comments") or {}).get("nodes") or []):
                mentions.append(self._discussion_mention(node, comment,
                                                         login))

        fresh = [m for m in mentions
                 if m.author != login and _is_new(m, state)]
        fresh.sort(key=lambda m: (m.created_at or _EPOCH, m.id))
        return fresh, _next_cursor(state, fresh)

    def reply(self, mention: Mention, rendered: Rendered) -> Outcome:
        ref = mention.raw_ref
        if ref.get("kind") == "discussion_comment":
            variables = {"discussionId": ref["discussion_id"],
                         "body": rendered.text,
                         "replyToId": ref.get("reply_to_id")}
            data, outcome = self._graphql(_ADD_DISCUSSION_COMMENT, variables,
                                          write=True)
            if outcome:
                return outcome
            comment = ((data or {}).get("addDiscussionComment") or {}) \
                .get("comment") or {}
            if not comment.get("url"):
                return Outcome.unknown(PLATFORM_ERROR, "addDiscussionComment "
                                       "answered without a comment URL")
            return Outcome.published(comment["url"], comment.get("id"))

        reply = self.http.request(
            "POST", f"{self.api_url}/repos/{self.owner}/{self.repo}/issues/"
            f"{ref['issue_number']}/comments", json={"body": rendered.text},
            write=True)
        outcome = self._write_failure(reply, "POST issue comment")
        if outcome:
            return outcome
        payload = reply.json() or {}
        return Outcome.published(payload.get("html_url"),
                                 str(payload.get("id", "")) or None)

    # -- reads for the other agents ---------------------------------------------

    def search_repositories(self, query: str, *, per_page: int = 30,
                            sort: str | None = None) -> dict[str, Any]:
        """One page of ``GET /search/repositories``: ``{"items", "total",
        "remaining", "reset"}``, where remaining/reset are the search
        budget from the ``x-ratelimit-*`` headers (None when absent), so a
        caller can stop before it spends the last request.  Raises
        ReadFailed (RATE_LIMITED with retry_after when the budget ran
        out)."""
        params: dict[str, Any] = {"q": query, "per_page": per_page}
        if sort:
            params["sort"] = sort
        # No waiting on a search rate limit: the leads search is weekly and
        # its caller stops and reports instead of holding the run.
        reply = self.http.request("GET", f"{self.api_url}/search/"
                                  "repositories", params=params, max_wait=0)
        failure = self._failure(reply, "GET /search/repositories")
        payload = reply.json()
        if failure is None and not isinstance(payload, dict):
            failure = Outcome.failed(PLATFORM_ERROR, "GET /search/"
                                     "repositories: the answer could not "
                                     "be read")
        if failure:
            raise read_failure(self.name, failure)
        return {"items": payload.get("items") or [],
                "total": payload.get("total_count"),
                "remaining": _int_header(reply, "x-ratelimit-remaining"),
                "reset": _int_header(reply, "x-ratelimit-reset")}

    def latest_release(self) -> dict[str, Any] | None:
        """The repository's latest release (GitHub's choice: newest
        published, non-draft, non-prerelease), or None when it has none.
        Raises ReadFailed."""
        reply = self.http.request(
            "GET", f"{self.api_url}/repos/{self.owner}/{self.repo}"
            "/releases/latest")
        if reply.status == 404:
            return None
        failure = self._failure(reply, "GET /releases/latest")
        payload = reply.json()
        if failure is None and not isinstance(payload, dict):
            failure = Outcome.failed(PLATFORM_ERROR, "GET /releases/latest: "
                                     "the answer could not be read")
        if failure:
            raise read_failure(self.name, failure)
        return payload

    # -- GraphQL and error mapping -------------------------------------------

    def _category_id(self, name: str):
        """(category id, None) or (None, failed Outcome)."""
        if self._repository is None:
            data, outcome = self._graphql(
                _REPOSITORY_QUERY, {"owner": self.owner, "name": self.repo})
            if outcome:
                return None, outcome
            repository = (data or {}).get("repository")
            if not repository:
                return None, Outcome.failed(
                    PERMISSION_DENIED,
                    f"repository {self.owner}/{self.repo} not found")
            self._repository = repository
        nodes = (self._repository.get("discussionCategories") or {}) \
            .get("nodes") or []
        for node in nodes:
            if (node.get("name") or "").lower() == name.lower():
                return node["id"], None
        known = ", ".join(n.get("name", "?") for n in nodes) or "none"
        return None, Outcome.failed(
            PERMISSION_DENIED,
            f"no Discussion category {name!r} in {self.owner}/{self.repo} "
            f"(categories: {known}); enable Discussions or fix "
            "discussion_category in platforms.yaml")

    def _graphql(self, query: str, variables: dict, *, write: bool = False):
        """(data, None) or (None, Outcome).  Errors inside HTTP 200 are
        errors: GraphQL reports rate limits and refusals that way."""
        reply = self.http.request("POST", self.graphql_url,
                                  json={"query": query,
                                        "variables": variables},
                                  write=write)
        if write:
            outcome = self._write_failure(reply, "GraphQL mutation")
        else:
            outcome = self._failure(reply, "GraphQL query")
        if outcome:
            return None, outcome

        payload = reply.json()
        if not isinstance(payload, dict):
            from marketing_ops.platforms.http import unreadable

            return None, unreadable("GraphQL", write=write,
                                    where=f"{self.owner}/{self.repo}")
        errors = payload.get("errors") or []
        data = payload.get("data")
        if errors and not _has_result(data):
            return None, _graphql_error(errors, reply)
        return data, None

    def _recent_discussions(self):
        data, outcome = self._graphql(
            _RECENT_DISCUSSIONS, {"owner": self.owner, "name": self.repo,
                                  "first": self.RECENT_DISCUSSIONS})
        if outcome:
            if outcome.status == "failed":
                outcome = Outcome.unknown(outcome.reason_code or
                                          NETWORK_ERROR,
                                          "could not list Discussions: " +
                                          outcome.detail)
            return [], outcome
        repository = (data or {}).get("repository") or {}
        return ((repository.get("discussions") or {}).get("nodes")
                or []), None

    def _whoami(self) -> str | None:
        reply = self.http.request("GET", f"{self.api_url}/user")
        if reply.status == 200:
            self._login = (reply.json() or {}).get("login")
        return self._login

    def _failure(self, reply, what: str, *,
                 write: bool = False) -> Outcome | None:
        """A failed or unknown Outcome for a call that did not succeed,
        else None."""
        from marketing_ops.platforms.http import common_failure

        outcome = common_failure(reply, what, write=write,
                                 where=f"{self.owner}/{self.repo}")
        if outcome or 200 <= reply.status < 300:
            return outcome
        return _status_failure(reply, what)

    def _write_failure(self, reply, what: str) -> Outcome | None:
        return self._failure(reply, what, write=True)

    # -- mention helpers -------------------------------------------------------

    def _issue_mention(self, item: dict, login: str | None) -> Mention:
        body = item.get("body") or ""
        issue_url = item.get("issue_url") or ""
        number = issue_url.rstrip("/").rsplit("/", 1)[-1]
        return Mention(
            platform=self.name, id=f"issuecomment-{item.get('id')}",
            thread_id=f"issue-{number}",
            author=(item.get("user") or {}).get("login"), text=body,
            url=item.get("html_url"),
            addressed_us=_names(body, login),
            created_at=_parse_time(item.get("created_at")),
            raw_ref={"kind": "issue_comment", "issue_number": number,
                     "comment_id": item.get("id")})

    def _discussion_mention(self, node: dict, comment: dict,
                            login: str | None) -> Mention:
        body = comment.get("body") or ""
        return Mention(
            platform=self.name, id=f"discussioncomment-{comment.get('id')}",
            thread_id=f"discussion-{node.get('number')}",
            author=(comment.get("author") or {}).get("login"), text=body,
            url=comment.get("url"),
            # A comment on our own announcement is addressed to us.
            addressed_us=True,
            created_at=_parse_time(comment.get("createdAt")),
            raw_ref={"kind": "discussion_comment",
                     "discussion_id": node.get("id"),
                     "reply_to_id": comment.get("id")})


CONNECTOR = GitHubConnector

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def rate_limit(status, headers, payload):
    """GitHub's signals: 403 or 429 with ``x-ratelimit-remaining: 0``
    (wait for ``x-ratelimit-reset``, epoch seconds) or with ``retry-after``
    (secondary limits); GraphQL also says so inside HTTP 200."""
    from marketing_ops.platforms.http import (Limit, epoch_header,
                                              first_known,
                                              retry_after_header)

    remaining = headers.get("x-ratelimit-remaining")
    message = ""
    if isinstance(payload, dict):
        message = str(payload.get("message") or "")
        errors = payload.get("errors")
        if status == 200 and isinstance(errors, list) and any(
                isinstance(e, dict) and e.get("type") == "RATE_LIMITED"
                for e in errors):
            return Limit(first_known(retry_after_header(headers),
                                     epoch_header(headers,
                                                  "x-ratelimit-reset")))
    if status not in (403, 429):
        return None
    retry_after = retry_after_header(headers)
    if retry_after is not None:
        return Limit(retry_after)
    if remaining == "0":
        return Limit(epoch_header(headers, "x-ratelimit-reset"))
    if status == 429 or "rate limit" in message.lower():
        # No hint: GitHub asks for at least a minute.
        return Limit(60.0)
    return None


def _status_failure(reply, what: str) -> Outcome:
    payload = reply.json()
    message = ""
    if isinstance(payload, dict):
        message = str(payload.get("message") or "")[:200]
    if reply.limited is not None:
        return Outcome.failed(RATE_LIMITED, f"{what}: rate limited",
                              reply.limited.wait)
    status = reply.status
    if status == 401:
        return Outcome.failed(AUTH_FAILED, f"{what}: HTTP 401 {message or ''}"
                              "; the token is invalid or revoked".strip())
    if status in (403, 404):
        return Outcome.failed(PERMISSION_DENIED,
                              f"{what}: HTTP {status} {message}".strip())
    if status == 422:
        return Outcome.failed(INVALID_CONTENT,
                              f"{what}: HTTP 422 {message}".strip())
    return Outcome.failed(PLATFORM_ERROR, f"{what}: HTTP {status} "
                          f"{message}".strip())


def _graphql_error(errors: list, reply) -> Outcome:
    first = errors[0] if isinstance(errors[0], dict) else {}
    kind = str(first.get("type") or "")
    message = str(first.get("message") or "GraphQL error")[:200]
    if kind == "RATE_LIMITED" or reply.limited is not None:
        wait = reply.limited.wait if reply.limited else None
        return Outcome.failed(RATE_LIMITED, f"GraphQL: {message}", wait)
    if kind in ("FORBIDDEN", "NOT_FOUND"):
        return Outcome.failed(PERMISSION_DENIED, f"GraphQL {kind}: {message}")
    if kind in ("UNPROCESSABLE", "BAD_USER_INPUT") or "too long" in \
            message.lower():
        return Outcome.failed(INVALID_CONTENT, f"GraphQL {kind}: {message}")
    return Outcome.failed(PLATFORM_ERROR,
                          f"GraphQL {kind or 'error'}: {message}")


def _int_header(reply, name: str) -> int | None:
    try:
        return int(float(reply.headers.get(name)))
    except (TypeError, ValueError):
        return None


def _has_result(data) -> bool:
    """True when some top-level field of ``data`` came back non-null."""
    return isinstance(data, dict) and any(v is not None
                                          for v in data.values())


def _names(body: str, login: str | None) -> bool:
    return bool(login) and f"@{login.lower()}" in body.lower()


def _parse_time(value) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _load_cursor(cursor: str | None) -> dict:
    if not cursor:
        return {"since": None, "seen": []}
    try:
        state = json.loads(cursor)
        return {"since": state.get("since"), "seen": list(state.get("seen")
                                                          or [])}
    except (ValueError, AttributeError):
        # An old or hand-edited cursor: start from its time if it is one.
        return {"since": cursor, "seen": []}


def _is_new(mention: Mention, state: dict) -> bool:
    if mention.id in state["seen"]:
        return False
    if not state["since"] or mention.created_at is None:
        return True
    since = _parse_time(state["since"])
    return since is None or mention.created_at >= since


def _next_cursor(state: dict, fresh: list[Mention]) -> str | None:
    if not fresh:
        return json.dumps(state) if state["since"] else None
    newest = max(m.created_at or _EPOCH for m in fresh)
    seen = [m.id for m in fresh if (m.created_at or _EPOCH) == newest]
    if state["since"] and _parse_time(state["since"]) == newest:
        seen = sorted(set(seen) | set(state["seen"]))
    since = newest.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps({"since": since, "seen": seen})

