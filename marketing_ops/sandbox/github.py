"""GitHub stand-in: REST v3 (user, repository, releases, issue comments,
repository search) and the GraphQL operations for Discussions.

Wire format as in the contracts: errors are `{"message", "documentation_url",
"status"}`, rate limits travel in `x-ratelimit-*` headers, and GraphQL
reports its errors inside HTTP 200 responses.
"""

from __future__ import annotations

import re
import shlex
import time
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

from . import accounts
from .base import FixedWindow, PlatformSandbox
from .graphql_args import GraphQLSyntaxError, field_arguments
from .state import iso_z, utc_now
from .wire import BadRequestBody, Request, Response, Route

DOCS = "https://docs.github.com/rest"
WEB = "https://github.com"
MAX_BODY = 65536
USER_AGENT_REQUIRED = (
    "Request forbidden by administrative rules. Please make sure your request "
    "has a User-Agent header "
    "(https://docs.github.com/en/rest/overview/resources-in-the-rest-api"
    "#user-agent-required). Check https://developer.github.com for other "
    "possible causes.\n")

_OWNER_REPO = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"


def _error(status: int, message: str, headers: dict[str, str] | None = None,
           **extra: Any) -> Response:
    body = {"message": message, "documentation_url": DOCS,
            "status": str(status)}
    body.update(extra)
    return Response.json(status, body, headers)


def _parse_time(value: str) -> datetime:
    """An ISO date or date-time (as in `since=` or `pushed:>=`) in UTC."""
    text = value.strip().replace("Z", "+00:00")
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment


class GitHubSandbox(PlatformSandbox):
    name = "github"
    error_in_200_endpoints = frozenset(
        {"publish", "reply", "categories", "discussions", "graphql"})
    endpoint_names = frozenset({
        "preflight", "repo", "release", "comments", "mentions", "reply",
        "search", "graphql", "categories", "publish", "discussions",
        "reconcile", "viewer"})

    def __init__(self, state) -> None:
        super().__init__(state)
        self.core = FixedWindow(5000, 3600)
        self.search_authenticated = FixedWindow(30, 60)
        self.search_anonymous = FixedWindow(10, 60)
        self.graphql_points = FixedWindow(5000, 3600)
        self.repos: dict[str, dict[str, Any]] = {}
        self.releases: dict[str, list[dict[str, Any]]] = {}
        self.issues: dict[str, dict[int, dict[str, Any]]] = {}
        self.issue_comments: list[dict[str, Any]] = []
        self.discussions: list[dict[str, Any]] = []
        self.numbers: dict[str, int] = {}
        self._add_repo(f"{accounts.GITHUB_OWNER}/{accounts.GITHUB_REPO}",
                       own=True, description="The sandbox's own repository",
                       topics=["marketing-ops"], language="Python", stars=42,
                       license="MIT")

    # -- routing --------------------------------------------------------

    def route(self, request: Request) -> Route | None:
        method, path = request.method, request.path.rstrip("/") or "/"
        table = [
            ("GET", r"/user", ("preflight",), self._get_user),
            ("GET", _OWNER_REPO, ("preflight", "repo"), self._get_repo),
            ("GET", _OWNER_REPO + r"/releases/latest", ("release",),
             self._latest_release),
            ("GET", _OWNER_REPO + r"/issues/comments", ("mentions", "comments"),
             self._list_issue_comments),
            ("POST", _OWNER_REPO + r"/issues/(?P<number>\d+)/comments",
             ("reply", "comment"), self._create_issue_comment),
            ("GET", r"/search/repositories", ("search",), self._search),
            ("POST", r"/graphql", None, self._graphql),
        ]
        for verb, pattern, names, handler in table:
            match = re.fullmatch(pattern, path)
            if match and verb == method:
                if names is None:
                    names = self._graphql_names(request)
                return Route(names, _bind(handler, match.groupdict()))
        return None

    def not_found(self, request: Request) -> Response:
        return _error(404, "Not Found")

    def _graphql_names(self, request: Request) -> tuple[str, ...]:
        query = _graphql_query(request) or ""
        if "createDiscussion" in query:
            return ("publish", "graphql")
        if "addDiscussionComment" in query:
            return ("reply", "graphql")
        if re.search(r"\bdiscussions?\s*\(", query) or "node(" in query:
            return ("discussions", "mentions", "reconcile", "graphql")
        if "discussionCategories" in query or "repository" in query:
            return ("categories", "graphql")
        return ("viewer", "graphql")

    # -- faults ---------------------------------------------------------

    def fault_response(self, kind, params, request, route):
        is_graphql = "graphql" in route.names
        if kind == "server_error":
            status = int(params.get("status", 502))
            return _error(status, "Server Error")
        if kind == "rate_limit":
            return self._rate_limited(params, is_graphql)
        # error_in_200: the documented GraphQL shape, a null field plus errors.
        operation = {"publish": "createDiscussion",
                     "reply": "addDiscussionComment"}.get(route.names[0],
                                                          "repository")
        error = {"type": params.get("type", "FORBIDDEN"),
                 "path": [operation],
                 "extensions": {"saml_failure": False},
                 "locations": [{"line": 2, "column": 3}],
                 "message": params.get(
                     "message", "Resource not accessible by integration")}
        return Response.json(200, {"data": {operation: None},
                                   "errors": [error]})

    def _rate_limited(self, params: dict[str, Any],
                      is_graphql: bool) -> Response:
        retry_after = int(params.get("retry_after", 60))
        reset = int(time.time()) + retry_after
        headers = {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "0",
                   "x-ratelimit-used": "5000", "x-ratelimit-reset": str(reset),
                   "x-ratelimit-resource": "graphql" if is_graphql else "core",
                   "retry-after": str(retry_after)}
        if is_graphql and "status" not in params:
            # A spent GraphQL budget is reported inside HTTP 200.
            body = {"errors": [{
                "type": "RATE_LIMITED",
                "message": "API rate limit exceeded for user ID "
                           f"{accounts.GITHUB_USER_ID}."}]}
            return Response.json(200, body, headers)
        status = int(params.get("status", 429))
        message = params.get(
            "message",
            "You have exceeded a secondary rate limit. Please wait a few "
            "minutes before you try again.")
        return _error(status, message, headers)

    # -- authentication -------------------------------------------------

    def _check_client(self, request: Request, *,
                      optional: bool = False) -> Response | None:
        """None when the request may proceed, else GitHub's refusal."""
        if not (request.header("user-agent") or "").strip():
            return Response.text(403, USER_AGENT_REQUIRED)
        token = _bearer_token(request.header("authorization"))
        if token is None:
            if optional:
                return None
            return _error(401, "Requires authentication")
        if token != accounts.GITHUB_TOKEN or self.revoked():
            return _error(401, "Bad credentials")
        return None

    def _core_headers(self, extra: dict[str, str] | None = None
                      ) -> dict[str, str]:
        self.core.take()
        headers = {
            "x-ratelimit-limit": str(self.core.limit),
            "x-ratelimit-remaining": str(self.core.remaining),
            "x-ratelimit-used": str(self.core.used),
            "x-ratelimit-reset": str(int(self.core.reset_epoch)),
            "x-ratelimit-resource": "core",
            "x-github-api-version-selected": "2022-11-28",
        }
        headers.update(extra or {})
        return headers

    # -- REST -----------------------------------------------------------

    def _get_user(self, request: Request) -> Response:
        refusal = self._check_client(request)
        if refusal:
            return refusal
        headers = self._core_headers({
            "X-OAuth-Scopes": accounts.GITHUB_SCOPES,
            "X-Accepted-OAuth-Scopes": ""})
        return Response.json(200, _user(accounts.GITHUB_LOGIN,
                                        accounts.GITHUB_USER_ID), headers)

    def _get_repo(self, request: Request, owner: str, repo: str) -> Response:
        refusal = self._check_client(request)
        if refusal:
            return refusal
        found = self.repos.get(f"{owner}/{repo}".lower())
        if found is None:
            return _error(404, "Not Found", self._core_headers())
        return Response.json(200, _repo_view(found, with_permissions=True),
                             self._core_headers())

    def _latest_release(self, request: Request, owner: str,
                        repo: str) -> Response:
        refusal = self._check_client(request)
        if refusal:
            return refusal
        full_name = f"{owner}/{repo}".lower()
        if full_name not in self.repos:
            return _error(404, "Not Found", self._core_headers())
        published = [r for r in self.releases.get(full_name, [])
                     if not r["draft"] and not r["prerelease"]]
        if not published:
            return _error(404, "Not Found", self._core_headers())
        latest = max(published, key=lambda r: (r["published_at"], r["id"]))
        return Response.json(200, latest, self._core_headers())

    def _list_issue_comments(self, request: Request, owner: str,
                             repo: str) -> Response:
        refusal = self._check_client(request)
        if refusal:
            return refusal
        full_name = f"{owner}/{repo}".lower()
        if full_name not in self.repos:
            return _error(404, "Not Found", self._core_headers())

        comments = [c for c in self.issue_comments
                    if c["_repo"] == full_name]
        since = request.arg("since")
        if since:
            try:
                threshold = _parse_time(since)
            except ValueError:
                return _error(422, "Validation Failed", self._core_headers(),
                              errors=[{"resource": "IssueComment",
                                       "field": "since", "code": "invalid"}])
            comments = [c for c in comments
                        if _parse_time(c["updated_at"]) >= threshold]
        key = "updated_at" if request.arg("sort") == "updated" else "id"
        comments.sort(key=lambda c: c[key],
                      reverse=request.arg("direction") == "desc")
        return self._paged(request, [_public(c) for c in comments],
                           lambda page: page)

    def _create_issue_comment(self, request: Request, owner: str, repo: str,
                              number: str) -> Response:
        refusal = self._check_client(request)
        if refusal:
            return refusal
        full_name = f"{owner}/{repo}".lower()
        issue = self.issues.get(full_name, {}).get(int(number))
        if issue is None:
            return _error(404, "Not Found", self._core_headers())
        try:
            body = request.json().get("body")
        except (BadRequestBody, AttributeError):
            return _error(400, "Problems parsing JSON", self._core_headers())
        problem = _body_problem(body, "IssueComment")
        if problem:
            return problem

        comment = self._add_issue_comment(full_name, int(number), body,
                                          accounts.GITHUB_LOGIN)
        self.record(kind="reply", text=body, remote_id=str(comment["id"]),
                    permalink=comment["html_url"], target=full_name,
                    in_reply_to=f"issue#{number}")
        headers = self._core_headers({"Location": comment["url"]})
        return Response.json(201, _public(comment), headers)

    def _search(self, request: Request) -> Response:
        refusal = self._check_client(request, optional=True)
        if refusal:
            return refusal
        authenticated = request.header("authorization") is not None
        window = (self.search_authenticated if authenticated
                  else self.search_anonymous)
        allowed = window.take()
        headers = {
            "x-ratelimit-limit": str(window.limit),
            "x-ratelimit-remaining": str(window.remaining),
            "x-ratelimit-used": str(window.used),
            "x-ratelimit-reset": str(int(window.reset_epoch)),
            "x-ratelimit-resource": "search"}
        if not allowed:
            return _error(403, "API rate limit exceeded for user ID "
                               f"{accounts.GITHUB_USER_ID}.", headers)

        query = request.arg("q")
        if not query:
            return _error(422, "Validation Failed", headers, errors=[
                {"resource": "Search", "field": "q", "code": "missing"}])
        try:
            matcher = _RepoQuery(query)
        except ValueError as exc:
            return _error(422, "Validation Failed", headers, errors=[
                {"message": str(exc), "resource": "Search", "field": "q",
                 "code": "invalid"}])

        found = [r for r in self.repos.values() if matcher.matches(r)]
        _sort_repos(found, request.arg("sort"), request.arg("order"))
        views = [_repo_view(r) for r in found]
        return self._paged(
            request, views,
            lambda page: {"total_count": len(views),
                          "incomplete_results": False, "items": page},
            headers=headers)

    def _paged(self, request: Request, items: list[Any], wrap,
               headers: dict[str, str] | None = None) -> Response:
        """One page of `items` plus a Link header, as GitHub paginates."""
        try:
            per_page = min(max(int(request.arg("per_page", "30")), 1), 100)
            page = max(int(request.arg("page", "1")), 1)
        except ValueError:
            per_page, page = 30, 1
        chunk = items[(page - 1) * per_page:page * per_page]
        headers = headers if headers is not None else self._core_headers()
        last = max((len(items) + per_page - 1) // per_page, 1)
        links = []
        base = request.url.split("?", 1)[0]
        args = {k: v[0] for k, v in request.query.items()}
        if page < last:
            links.append((page + 1, "next"))
            links.append((last, "last"))
        if page > 1:
            links.append((1, "first"))
            links.append((page - 1, "prev"))
        if links:
            headers["Link"] = ", ".join(
                f'<{base}?{urlencode({**args, "page": n})}>; rel="{rel}"'
                for n, rel in links)
        return Response.json(200, wrap(chunk), headers)

    # -- GraphQL --------------------------------------------------------

    def _graphql(self, request: Request) -> Response:
        if not (request.header("user-agent") or "").strip():
            return Response.text(403, USER_AGENT_REQUIRED)
        token = _bearer_token(request.header("authorization"))
        if token is None:
            return Response.json(401, {
                "message": "This endpoint requires you to be authenticated.",
                "documentation_url": "https://docs.github.com/graphql"})
        if token != accounts.GITHUB_TOKEN or self.revoked():
            return _error(401, "Bad credentials")

        try:
            payload = request.json()
            query = payload["query"]
            variables = payload.get("variables") or {}
        except (BadRequestBody, KeyError, TypeError, AttributeError):
            return _error(400, "Problems parsing JSON")

        is_mutation = bool(re.match(r"\s*mutation\b", query))
        self.graphql_points.take()
        if is_mutation:
            # Mutations cost five points against the hourly budget.
            for _ in range(4):
                self.graphql_points.take()
        headers = {
            "x-ratelimit-limit": str(self.graphql_points.limit),
            "x-ratelimit-remaining": str(self.graphql_points.remaining),
            "x-ratelimit-used": str(self.graphql_points.used),
            "x-ratelimit-reset": str(int(self.graphql_points.reset_epoch)),
            "x-ratelimit-resource": "graphql"}
        try:
            data, errors = self._resolve(query, variables)
        except GraphQLSyntaxError as exc:
            data, errors = None, [{"message": f"Parse error: {exc}"}]
        body: dict[str, Any] = {"data": data}
        if errors:
            body["errors"] = errors
        if data is None:
            del body["data"]
        return Response.json(200, body, headers)

    def _resolve(self, query: str, variables: dict[str, Any]):
        if "createDiscussion" in query:
            args = field_arguments(query, "createDiscussion", variables)
            return self._create_discussion((args or {}).get("input") or {})
        if "addDiscussionComment" in query:
            args = field_arguments(query, "addDiscussionComment", variables)
            return self._add_discussion_comment((args or {}).get("input") or {})

        data: dict[str, Any] = {}
        errors: list[dict[str, Any]] = []
        repo_args = field_arguments(query, "repository", variables)
        if repo_args is not None:
            data["repository"], error = self._repository(query, repo_args,
                                                         variables)
            if error:
                errors.append(error)
        node_args = field_arguments(query, "node", variables)
        if node_args is not None:
            data["node"] = self._node(node_args.get("id"))
        if field_arguments(query, "viewer", variables) is not None:
            data["viewer"] = {"login": accounts.GITHUB_LOGIN,
                              "id": f"U_sbx{accounts.GITHUB_USER_ID}",
                              "databaseId": accounts.GITHUB_USER_ID}
        if field_arguments(query, "rateLimit", variables) is not None:
            data["rateLimit"] = {
                "limit": self.graphql_points.limit, "cost": 1,
                "remaining": self.graphql_points.remaining,
                "used": self.graphql_points.used,
                "resetAt": iso_z(datetime.fromtimestamp(
                    self.graphql_points.reset_epoch, timezone.utc))}
        if not data:
            errors.append({"message": "The sandbox does not know this "
                                      "GraphQL operation."})
            return None, errors
        return data, errors

    def _repository(self, query, args, variables):
        owner, name = args.get("owner"), args.get("name")
        repo = self.repos.get(f"{owner}/{name}".lower())
        if repo is None:
            return None, {"type": "NOT_FOUND", "path": ["repository"],
                          "locations": [{"line": 2, "column": 3}],
                          "message": "Could not resolve to a Repository "
                                     f"with the name '{owner}/{name}'."}
        view = {"id": repo["node_id"], "name": repo["name"],
                "nameWithOwner": repo["full_name"], "url": repo["html_url"],
                "hasDiscussionsEnabled": repo["has_discussions"],
                "viewerPermission": "ADMIN" if repo.get("_own") else "READ"}
        categories = [_public(c) for c in repo["_categories"]]
        view["discussionCategories"] = {"totalCount": len(categories),
                                        "nodes": categories}

        listing = field_arguments(query, "discussions", variables)
        if listing is not None:
            view["discussions"] = self._discussion_listing(repo, listing)
        single = field_arguments(query, "discussion", variables)
        if single is not None:
            number = single.get("number")
            found = [d for d in self.discussions
                     if d["_repo"] == repo["full_name"].lower()
                     and d["number"] == number]
            view["discussion"] = self._discussion_view(found[0]) \
                if found else None
        return view, None

    def _discussion_listing(self, repo, args) -> dict[str, Any]:
        found = [d for d in self.discussions
                 if d["_repo"] == repo["full_name"].lower()]
        if args.get("categoryId"):
            found = [d for d in found
                     if d["category"]["id"] == args["categoryId"]]
        order = args.get("orderBy") or {}
        field = "updatedAt" if order.get("field") == "UPDATED_AT" \
            else "createdAt"
        # GitHub's default order for discussions is newest first.
        newest_first = order.get("direction", "DESC") == "DESC"
        found.sort(key=lambda d: (d[field], d["number"]),
                   reverse=newest_first)
        count = int(args.get("first") or args.get("last") or 10)
        nodes = [self._discussion_view(d) for d in found[:min(count, 100)]]
        return {"totalCount": len(found), "nodes": nodes,
                "pageInfo": {"hasNextPage": len(found) > count,
                             "endCursor": None}}

    def _discussion_view(self, discussion) -> dict[str, Any]:
        view = _public(discussion)
        top_level = [c for c in discussion["_comments"]
                     if c["replyTo"] is None]
        nodes = []
        for comment in top_level:
            item = _public(comment)
            replies = [_public(r) for r in discussion["_comments"]
                       if r["replyTo"] and r["replyTo"]["id"] == comment["id"]]
            item["replies"] = {"totalCount": len(replies), "nodes": replies}
            nodes.append(item)
        view["comments"] = {"totalCount": len(nodes), "nodes": nodes}
        return view

    def _node(self, node_id):
        for discussion in self.discussions:
            if discussion["id"] == node_id:
                return self._discussion_view(discussion)
            for comment in discussion["_comments"]:
                if comment["id"] == node_id:
                    return _public(comment)
        return None

    def _create_discussion(self, data):
        def failure(kind, message):
            return {"createDiscussion": None}, [{
                "type": kind, "path": ["createDiscussion"],
                "locations": [{"line": 2, "column": 3}], "message": message}]

        repo = next((r for r in self.repos.values()
                     if r["node_id"] == data.get("repositoryId")), None)
        if repo is None:
            return failure("NOT_FOUND", "Could not resolve to a node with "
                           f"the global id of '{data.get('repositoryId')}'")
        category = next((c for c in repo["_categories"]
                         if c["id"] == data.get("categoryId")), None)
        if category is None:
            return failure("NOT_FOUND", "Could not resolve to a node with "
                           f"the global id of '{data.get('categoryId')}'")
        title, body = data.get("title") or "", data.get("body") or ""
        if not title.strip():
            return failure("UNPROCESSABLE", "Title can't be blank")
        if not body.strip():
            return failure("UNPROCESSABLE", "Body can't be blank")
        if len(body) > MAX_BODY:
            return failure("UNPROCESSABLE", "Body is too long (maximum is "
                           f"{MAX_BODY} characters)")

        discussion = self._add_discussion(repo["full_name"].lower(), title,
                                          body, category,
                                          accounts.GITHUB_LOGIN)
        self.record(kind="post", text=body, title=title,
                    remote_id=discussion["id"], permalink=discussion["url"],
                    target=repo["full_name"],
                    extra={"number": discussion["number"],
                           "category": category["name"]})
        result = {"clientMutationId": data.get("clientMutationId"),
                  "discussion": self._discussion_view(discussion)}
        return {"createDiscussion": result}, []

    def _add_discussion_comment(self, data):
        def failure(kind, message):
            return {"addDiscussionComment": None}, [{
                "type": kind, "path": ["addDiscussionComment"],
                "locations": [{"line": 2, "column": 3}], "message": message}]

        discussion = next((d for d in self.discussions
                           if d["id"] == data.get("discussionId")), None)
        if discussion is None:
            return failure("NOT_FOUND", "Could not resolve to a node with "
                           f"the global id of '{data.get('discussionId')}'")
        reply_to = data.get("replyToId")
        parent = None
        if reply_to:
            parent = next((c for c in discussion["_comments"]
                           if c["id"] == reply_to), None)
            if parent is None:
                return failure("NOT_FOUND", "Could not resolve to a node "
                               f"with the global id of '{reply_to}'")
            if parent["replyTo"] is not None:
                # Discussions thread one level deep only.
                return failure("UNPROCESSABLE", "Parent comment is already "
                               "in a thread, cannot reply to it")
        body = data.get("body") or ""
        if not body.strip():
            return failure("UNPROCESSABLE", "Body can't be blank")
        if len(body) > MAX_BODY:
            return failure("UNPROCESSABLE", "Body is too long (maximum is "
                           f"{MAX_BODY} characters)")

        comment = self._add_discussion_comment_row(
            discussion, body, accounts.GITHUB_LOGIN, parent)
        self.record(kind="reply", text=body, remote_id=comment["id"],
                    permalink=comment["url"], target=discussion["_repo"],
                    in_reply_to=reply_to or discussion["id"])
        return {"addDiscussionComment": {
            "clientMutationId": data.get("clientMutationId"),
            "comment": _public(comment)}}, []

    # -- storage --------------------------------------------------------

    def _next_number(self, full_name: str) -> int:
        # Issues and discussions share one number sequence per repository.
        self.numbers[full_name] = self.numbers.get(full_name, 0) + 1
        return self.numbers[full_name]

    def _add_repo(self, full_name: str, *, own: bool = False,
                  description: str = "", topics=(), language=None,
                  stars: int = 0, forks: int = 0, pushed_at=None,
                  created_at=None, license=None, archived: bool = False,
                  fork: bool = False, homepage=None) -> dict[str, Any]:
        owner, name = full_name.split("/", 1)
        number = self.next_id()
        pushed = iso_z(_parse_time(pushed_at)) if pushed_at \
            else iso_z(utc_now())
        created = iso_z(_parse_time(created_at)) if created_at \
            else "2020-01-01T00:00:00Z"
        repo = {
            "id": 500000 + number, "node_id": f"R_sbx{500000 + number}",
            "name": name, "full_name": full_name,
            "owner": _user(owner, 600000 + number, kind="Organization"),
            "private": False, "html_url": f"{WEB}/{full_name}",
            "description": description, "fork": fork,
            "url": f"https://api.github.com/repos/{full_name}",
            "homepage": homepage, "language": language,
            "topics": list(topics), "stargazers_count": stars,
            "watchers_count": stars, "forks_count": forks,
            "open_issues_count": 0, "archived": archived, "disabled": False,
            "has_discussions": own, "visibility": "public",
            "default_branch": "main", "created_at": created,
            "updated_at": pushed, "pushed_at": pushed,
            "license": _license(license), "score": 1.0,
            "_own": own, "_categories": [],
        }
        if own:
            repo["_categories"] = [
                {"id": f"DIC_sbx{number}{index}", "name": category,
                 "slug": re.sub(r"[^a-z0-9]+", "-", category.lower()),
                 "isAnswerable": category == "Q&A"}
                for index, category in enumerate(accounts.GITHUB_CATEGORIES)]
        self.repos[full_name.lower()] = repo
        return repo

    def _add_issue(self, full_name: str, title: str) -> int:
        number = self._next_number(full_name)
        self.issues.setdefault(full_name, {})[number] = {"title": title}
        return number

    def _add_issue_comment(self, full_name, number, body, login,
                           created_at=None) -> dict[str, Any]:
        comment_id = 900000000 + self.next_id()
        created = created_at or iso_z(utc_now())
        comment = {
            "id": comment_id, "node_id": f"IC_sbx{comment_id}",
            "url": f"https://api.github.com/repos/{full_name}/issues/"
                   f"comments/{comment_id}",
            "html_url": f"{WEB}/{full_name}/issues/{number}"
                        f"#issuecomment-{comment_id}",
            "issue_url": f"https://api.github.com/repos/{full_name}/issues/"
                         f"{number}",
            "body": body, "user": _user(login, _user_id(login)),
            "created_at": created, "updated_at": created,
            "author_association": "OWNER" if login == accounts.GITHUB_LOGIN
            else "NONE",
            "_repo": full_name,
        }
        self.issue_comments.append(comment)
        return comment

    def _add_discussion(self, full_name, title, body, category, login,
                        created_at=None) -> dict[str, Any]:
        number = self._next_number(full_name)
        database_id = 700000 + self.next_id()
        created = created_at or iso_z(utc_now())
        discussion = {
            "id": f"D_sbx{database_id}", "databaseId": database_id,
            "number": number, "title": title, "body": body,
            "url": f"{WEB}/{self.repos[full_name]['full_name']}"
                   f"/discussions/{number}",
            "createdAt": created, "updatedAt": created,
            "author": {"login": login},
            "category": {"id": category["id"], "name": category["name"]},
            "_repo": full_name, "_comments": [],
        }
        self.discussions.append(discussion)
        return discussion

    def _add_discussion_comment_row(self, discussion, body, login, parent,
                                    created_at=None) -> dict[str, Any]:
        database_id = 800000 + self.next_id()
        created = created_at or iso_z(utc_now())
        comment = {
            "id": f"DC_sbx{database_id}", "databaseId": database_id,
            "url": f"{discussion['url']}#discussioncomment-{database_id}",
            "body": body, "createdAt": created, "updatedAt": created,
            "author": {"login": login},
            "replyTo": {"id": parent["id"]} if parent else None,
            "discussion": {"id": discussion["id"],
                           "number": discussion["number"],
                           "url": discussion["url"]},
        }
        discussion["_comments"].append(comment)
        discussion["updatedAt"] = created
        return comment

    # -- seeding --------------------------------------------------------

    def seed_repo(self, full_name: str, **fields: Any) -> dict[str, Any]:
        return _public(self._add_repo(full_name, **fields))

    def seed_release(self, tag_name: str, *, name: str | None = None,
                     body: str = "", published_at: str | None = None,
                     repo: str | None = None, draft: bool = False,
                     prerelease: bool = False) -> dict[str, Any]:
        full_name = (repo or f"{accounts.GITHUB_OWNER}/"
                             f"{accounts.GITHUB_REPO}").lower()
        if full_name not in self.repos:
            self._add_repo(full_name)
        release_id = 300000 + self.next_id()
        shown_name = self.repos[full_name]["full_name"]
        published = iso_z(_parse_time(published_at)) if published_at \
            else iso_z(utc_now())
        release = {
            "id": release_id, "node_id": f"RE_sbx{release_id}",
            "tag_name": tag_name, "name": name if name is not None
            else tag_name, "body": body, "draft": draft,
            "prerelease": prerelease, "created_at": published,
            "published_at": published, "target_commitish": "main",
            "html_url": f"{WEB}/{shown_name}/releases/tag/{tag_name}",
            "url": f"https://api.github.com/repos/{shown_name}/releases/"
                   f"{release_id}",
            "author": _user(accounts.GITHUB_LOGIN, accounts.GITHUB_USER_ID),
            "assets": [],
        }
        self.releases.setdefault(full_name, []).append(release)
        return release

    def seed_mention(self, text: str, *, author: str = "curious-user",
                     kind: str = "issue_comment",
                     issue_number: int | None = None,
                     discussion_number: int | None = None,
                     reply_to_id: str | None = None,
                     created_at: str | None = None) -> dict[str, Any]:
        full_name = f"{accounts.GITHUB_OWNER}/{accounts.GITHUB_REPO}".lower()
        created = iso_z(_parse_time(created_at)) if created_at else None
        if kind == "issue_comment":
            if issue_number is None:
                issue_number = self._add_issue(full_name, "Seeded issue")
            elif issue_number not in self.issues.get(full_name, {}):
                self.issues.setdefault(full_name, {})[issue_number] = {
                    "title": "Seeded issue"}
                self.numbers[full_name] = max(
                    self.numbers.get(full_name, 0), issue_number)
            comment = self._add_issue_comment(full_name, issue_number, text,
                                              author, created)
            return _public(comment)
        if kind != "discussion_comment":
            raise ValueError("github mentions are 'issue_comment' or "
                             "'discussion_comment'")

        found = [d for d in self.discussions if d["_repo"] == full_name
                 and (discussion_number is None
                      or d["number"] == discussion_number)]
        if found:
            discussion = found[-1]
        else:
            category = self.repos[full_name]["_categories"][1]
            discussion = self._add_discussion(full_name, "Seeded discussion",
                                              "Seeded body", category,
                                              "discussion-starter")
        parent = next((c for c in discussion["_comments"]
                       if c["id"] == reply_to_id), None)
        comment = self._add_discussion_comment_row(discussion, text, author,
                                                   parent, created)
        return _public(comment)


# -- helpers ------------------------------------------------------------

def _bind(handler, groups: dict[str, str]):
    return lambda request: handler(request, **groups)


def _graphql_query(request: Request) -> str | None:
    try:
        payload = request.json()
    except BadRequestBody:
        return None
    return payload.get("query") if isinstance(payload, dict) else None


def _bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() not in ("bearer", "token") or not value.strip():
        return ""
    return value.strip()


def _public(item: dict[str, Any]) -> dict[str, Any]:
    """The item without the sandbox's bookkeeping keys (those start with _)."""
    return {k: v for k, v in item.items() if not k.startswith("_")}


def _user_id(login: str) -> int:
    if login == accounts.GITHUB_LOGIN:
        return accounts.GITHUB_USER_ID
    return 2000000 + sum(ord(c) for c in login)


def _user(login: str, user_id: int, kind: str = "User") -> dict[str, Any]:
    return {"login": login, "id": user_id, "node_id": f"U_sbx{user_id}",
            "type": kind, "site_admin": False,
            "html_url": f"{WEB}/{login}",
            "url": f"https://api.github.com/users/{login}",
            "name": login.replace("-", " ").title()}


def _license(spdx: str | None) -> dict[str, Any] | None:
    if not spdx:
        return None
    return {"key": spdx.lower(), "name": spdx, "spdx_id": spdx,
            "url": f"https://api.github.com/licenses/{spdx.lower()}",
            "node_id": f"L_sbx{spdx}"}


def _repo_view(repo: dict[str, Any], *,
               with_permissions: bool = False) -> dict[str, Any]:
    view = _public(repo)
    if with_permissions:
        own = repo.get("_own", False)
        view["permissions"] = {"admin": own, "maintain": own, "push": own,
                               "triage": own, "pull": True}
    return view


def _body_problem(body: Any, resource: str) -> Response | None:
    if not isinstance(body, str) or not body.strip():
        return _error(422, "Validation Failed", errors=[
            {"resource": resource, "code": "missing_field", "field": "body"}])
    if len(body) > MAX_BODY:
        return _error(422, "Validation Failed", errors=[
            {"resource": resource, "code": "unprocessable", "field": "data",
             "message": f"body is too long (maximum is {MAX_BODY} "
                        "characters)"}])
    return None


def _sort_repos(repos: list[dict[str, Any]], sort: str | None,
                order: str | None) -> None:
    # GitHub's default "best match" ranking is not reproducible; without a
    # sort parameter the sandbox orders by stars, which is what a caller
    # that relies on the default would see most often for topic searches.
    key = {"stars": "stargazers_count", "forks": "forks_count",
           "updated": "updated_at"}.get(sort or "", "stargazers_count")
    repos.sort(key=lambda r: (r[key], r["full_name"]),
               reverse=(order or "desc") != "asc")


class _RepoQuery:
    """The repository search syntax: free words plus key:value qualifiers."""

    def __init__(self, query: str) -> None:
        self.words: list[str] = []
        self.tests = []
        try:
            tokens = shlex.split(query)
        except ValueError as exc:
            raise ValueError(f"cannot parse the query: {exc}") from exc
        for token in tokens:
            key, sep, value = token.partition(":")
            handler = getattr(self, f"_q_{key.lower()}", None) if sep else None
            if handler is None:
                self.words.append(token.lower())
            else:
                self.tests.append(handler(value))

    def matches(self, repo: dict[str, Any]) -> bool:
        haystack = " ".join([repo["full_name"], repo["description"] or "",
                             " ".join(repo["topics"])]).lower()
        if any(word not in haystack for word in self.words):
            return False
        return all(test(repo) for test in self.tests)

    def _q_topic(self, value):
        return lambda r: value.lower() in [t.lower() for t in r["topics"]]

    def _q_language(self, value):
        return lambda r: (r["language"] or "").lower() == value.lower()

    def _q_license(self, value):
        return lambda r: bool(r["license"]) and \
            r["license"]["key"] == value.lower()

    def _q_user(self, value):
        return lambda r: r["owner"]["login"].lower() == value.lower()

    _q_org = _q_user

    def _q_archived(self, value):
        return lambda r: r["archived"] == (value.lower() == "true")

    def _q_fork(self, value):
        if value.lower() == "only":
            return lambda r: r["fork"]
        if value.lower() == "true":
            return lambda r: True
        return lambda r: not r["fork"]

    def _q_in(self, value):
        return lambda r: True

    def _q_stars(self, value):
        return _range_test(value, int, lambda r: r["stargazers_count"])

    def _q_forks(self, value):
        return _range_test(value, int, lambda r: r["forks_count"])

    def _q_pushed(self, value):
        return _range_test(value, _parse_time,
                           lambda r: _parse_time(r["pushed_at"]))

    def _q_created(self, value):
        return _range_test(value, _parse_time,
                           lambda r: _parse_time(r["created_at"]))


def _range_test(value: str, convert, read):
    """`>=N`, `>N`, `<=N`, `<N`, `N..M`, `N..*`, `*..M` or `N`."""
    try:
        if ".." in value:
            low, high = value.split("..", 1)
            low_v = None if low == "*" else convert(low)
            high_v = None if high == "*" else convert(high)
            return lambda r: (low_v is None or read(r) >= low_v) and \
                (high_v is None or read(r) <= high_v)
        for prefix, compare in ((">=", lambda a, b: a >= b),
                                ("<=", lambda a, b: a <= b),
                                (">", lambda a, b: a > b),
                                ("<", lambda a, b: a < b)):
            if value.startswith(prefix):
                bound = convert(value[len(prefix):])
                return lambda r: compare(read(r), bound)
        exact = convert(value)
        if isinstance(exact, datetime):
            # A bare date means that whole day.
            return lambda r: exact <= read(r) < exact.replace(
                hour=23, minute=59, second=59)
        return lambda r: read(r) == exact
    except ValueError as exc:
        raise ValueError(f"invalid range {value!r}") from exc
