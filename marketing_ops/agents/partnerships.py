"""The partnerships agent: a weekly list of GitHub projects worth talking
to.  It reads and ranks; it never contacts anyone.

For each run:

1. one GitHub repository search per configured topic (``topic:NAME``) and
   keyword (in name, description and topics), each already narrowed to
   ``min_stars`` and ``pushed_within_days`` and without forks or archived
   repositories unless asked for;
2. the configured filters again on every result (languages, licenses,
   stars, last push, forks, archived, excluded names, our own repository):
   the search qualifiers cannot express "one of these languages", and the
   check costs nothing;
3. a score for each repository (below), best first;
4. new leads only: a repository is a lead once, ever.  Each is a
   ``LEAD_FOUND`` event whose dedupe key is ``lead:github:<owner/name>``,
   so a second weekly run — or a re-run of the same week, or two runs at
   once — never lists a repository twice;
5. ``reports/leads-YYYY-Www.md`` and ``.csv`` in the state directory (ISO
   week in the schedule's time zone), rebuilt from the ledger's leads of
   that week, so a re-run rewrites the same report instead of emptying it;
   a summary line and a ``RUN_SUMMARY`` event.

Score::

    score = stars   * log10(1 + stargazers)
          + recency * 0.5 ** (days since last push / recency_half_life_days)
          + topics  * (configured topics the repository has
                       / configured topics)

with the weights from ``partnerships.yaml`` (defaults 1.0, 2.0, 1.5 and a
half-life of 30 days).  Stars count logarithmically so one famous project
does not drown twenty active mid-sized ones; recency halves every
half-life; topic overlap rewards projects close to ours.

Rate limit.  GitHub's search API allows 30 requests a minute.  After every
search the remaining budget (``x-ratelimit-remaining``) is read; when it is
spent, or GitHub answers with its rate limit, the run stops searching and
says so in the report (the leads found so far are kept).  It never waits
and retries in a loop.

No outreach.  Platform rules (GitHub's acceptable use policies among them)
forbid unsolicited messages; the report says so and a person decides.  The
kill switch does not stop this agent, since it publishes nothing.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import os
import sqlite3
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from marketing_ops.moltbook import utc_now

logger = logging.getLogger(__name__)

AGENT = "partnerships"

SCORE_FORMULA = ("score = {stars} * log10(1 + stargazers) + {recency} * "
                 "0.5 ** (days since last push / {half_life}) + {topics} * "
                 "(configured topics the repository has / configured topics)")

NO_OUTREACH = ("No outreach has been sent. Platform rules forbid unsolicited "
               "messages, so marketing-ops only lists candidates; a person "
               "reads each project and decides whether and how to get in "
               "touch.")

CSV_COLUMNS = ("rank", "full_name", "url", "score", "stars", "pushed_at",
               "language", "license", "topics", "matched_topics",
               "description", "found_by")


@dataclass
class Lead:
    full_name: str
    url: str
    description: str
    stars: int
    pushed_at: str
    language: str | None
    license: str | None
    topics: list[str]
    matched_topics: list[str]
    score: float
    found_by: list[str] = field(default_factory=list)


@dataclass
class LeadsSummary:
    run_id: str
    agent: str
    week: str
    started_at: str
    finished_at: str = ""
    searches_planned: int = 0
    searches_done: int = 0
    candidates: int = 0
    kept: int = 0
    already_listed: int = 0
    new_leads: list[Lead] = field(default_factory=list)
    week_leads: list[Lead] = field(default_factory=list)
    stopped: str | None = None        # why the searches ended early
    error: bool = False               # a failure, not a planned stop
    skipped: str | None = None        # why nothing was searched at all
    report_path: str | None = None
    csv_path: str | None = None

    @property
    def exit_code(self) -> int:
        return 1 if self.error else 0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["exit_code"] = self.exit_code
        return data

    def summary_line(self) -> str:
        if self.skipped:
            return f"Leads {self.week}: nothing searched ({self.skipped})"
        line = (f"Leads {self.week}: {len(self.new_leads)} new "
                f"({self.candidates} found, {self.kept} passed the filters, "
                f"{self.already_listed} listed in earlier runs); "
                f"{self.searches_done} of {self.searches_planned} searches")
        if self.stopped:
            line += f"; stopped early: {self.stopped}"
        return line

    def lines(self) -> list[str]:
        out = [f"Run {self.run_id} ({self.agent})", self.summary_line()]
        for rank, lead in enumerate(self.new_leads, 1):
            out.append(f"  {rank:>2}. {lead.full_name:<40} "
                       f"{lead.score:6.2f}  {lead.url}")
        if self.report_path:
            out.append(f"Report: {self.report_path}")
        if self.csv_path:
            out.append(f"CSV: {self.csv_path}")
        return out


# -- searching -------------------------------------------------------------

def build_queries(partnerships: dict[str, Any], now: datetime) -> list[str]:
    """One search per topic and per keyword, narrowed by the filters that
    GitHub's search syntax expresses exactly."""
    search = partnerships.get("search") or {}
    filters = partnerships.get("filters") or {}
    narrow = [f"stars:>={int(filters.get('min_stars', 0))}"]
    days = int(filters.get("pushed_within_days", 365))
    narrow.append(f"pushed:>={(now - timedelta(days=days)):%Y-%m-%d}")
    if not filters.get("include_forks", False):
        narrow.append("fork:false")
    if not filters.get("include_archived", False):
        narrow.append("archived:false")
    tail = " ".join(narrow)

    queries = [f"topic:{topic} {tail}" for topic in search.get("topics", [])]
    queries += [f'"{keyword}" in:name,description,topics {tail}'
                for keyword in search.get("keywords", [])]
    return queries


def keep(repo: dict[str, Any], filters: dict[str, Any], now: datetime,
         excluded: set[str]) -> bool:
    """Whether a search result passes every configured filter."""
    if repo.get("full_name", "").lower() in excluded:
        return False
    if repo.get("fork") and not filters.get("include_forks", False):
        return False
    if repo.get("archived") and not filters.get("include_archived", False):
        return False
    if int(repo.get("stargazers_count") or 0) < int(
            filters.get("min_stars", 0)):
        return False
    pushed = _parse_time(repo.get("pushed_at"))
    days = int(filters.get("pushed_within_days", 365))
    if pushed is None or pushed < now - timedelta(days=days):
        return False
    languages = {x.lower() for x in filters.get("languages") or ()}
    if languages and (repo.get("language") or "").lower() not in languages:
        return False
    licenses = {x.lower() for x in filters.get("licenses") or ()}
    if licenses and _license(repo).lower() not in licenses:
        return False
    return True


def score(repo: dict[str, Any], partnerships: dict[str, Any],
          now: datetime) -> tuple[float, list[str]]:
    """The documented score and the configured topics the repository has."""
    weights = partnerships.get("score") or {}
    w_stars = float(weights.get("stars", 1.0))
    w_recency = float(weights.get("recency", 2.0))
    w_topics = float(weights.get("topics", 1.5))
    half_life = float(weights.get("recency_half_life_days", 30))

    stars = max(int(repo.get("stargazers_count") or 0), 0)
    pushed = _parse_time(repo.get("pushed_at")) or now
    age_days = max((now - pushed).total_seconds() / 86400, 0.0)
    wanted = [t.lower() for t in
              (partnerships.get("search") or {}).get("topics") or ()]
    has = {t.lower() for t in repo.get("topics") or ()}
    matched = [t for t in wanted if t in has]
    overlap = len(matched) / len(wanted) if wanted else 0.0

    value = (w_stars * math.log10(1 + stars)
             + w_recency * 0.5 ** (age_days / half_life)
             + w_topics * overlap)
    return round(value, 4), matched


def formula_text(partnerships: dict[str, Any]) -> str:
    weights = partnerships.get("score") or {}
    return SCORE_FORMULA.format(
        stars=weights.get("stars", 1.0), recency=weights.get("recency", 2.0),
        topics=weights.get("topics", 1.5),
        half_life=weights.get("recency_half_life_days", 30))


def iso_week(now: datetime, tz_name: str) -> str:
    from zoneinfo import ZoneInfo

    year, week, _ = now.astimezone(ZoneInfo(tz_name)).isocalendar()
    return f"{year}-W{week:02d}"


# -- the run ---------------------------------------------------------------

class Partnerships:
    def __init__(self, settings, config, ledger, *,
                 now: datetime | None = None):
        self.settings = settings
        self.config = config
        self.ledger = ledger
        self.now = now or datetime.now(timezone.utc)
        self.leads_config = config.partnerships or {}
        self.tz_name = (config.schedule or {}).get("timezone",
                                                    "Europe/Berlin")
        self.week = iso_week(self.now, self.tz_name)
        self.summary = LeadsSummary(run_id=ledger.run_id, agent=AGENT,
                                    week=self.week, started_at=utc_now())

    def run(self) -> LeadsSummary:
        self.record("RUN_STARTED", "success",
                    f"partnerships run started for {self.week}")

        connector = self.github()
        if connector is not None:
            found = self.search(connector)
            self.summary.candidates = len(found)
            ranked = self.rank(found)
            self.summary.kept = len(ranked)
            self.remember(ranked)

        self.summary.week_leads = week_leads(self.ledger, self.week)
        self.write_reports()
        return self.finish()

    def github(self):
        """The GitHub connector, or None (recorded) when it cannot search."""
        if not self.settings.enabled.get("github", False):
            self.summary.skipped = "ENABLE_GITHUB is false"
            self.record("LEADS_SEARCH", "skipped", self.summary.skipped,
                        platform="github")
            return None
        from marketing_ops.platforms.base import get_connector

        connector = get_connector("github", self.settings,
                                  self.config.platforms)
        missing = connector.missing_credentials()
        if missing:
            self.summary.skipped = ("GitHub credentials missing: "
                                    + ", ".join(missing))
            self.summary.error = True
            self.record("LEADS_SEARCH", "blocked", self.summary.skipped,
                        platform="github", reason_code="UNSUPPORTED_AUTH")
            return None
        return connector

    def search(self, connector) -> dict[str, dict[str, Any]]:
        """Every repository the searches return, by lower-case full name,
        with the queries that found it.  Stops at the rate limit."""
        from marketing_ops.platforms.base import RATE_LIMITED, ReadFailed

        queries = build_queries(self.leads_config, self.now)
        self.summary.searches_planned = len(queries)
        per_page = int((self.leads_config.get("search") or {})
                       .get("results_per_query", 30))
        found: dict[str, dict[str, Any]] = {}
        remaining, reset = None, None

        for query in queries:
            if remaining is not None and remaining <= 0:
                self.stop_for_limit(reset)
                break
            # Known shortcoming: one page per search (at most 100
            # repositories, most stars first).  A popular topic's smaller
            # projects beyond that page are never seen; following the Link
            # header would find them at one more search request per page.
            try:
                page = connector.search_repositories(query,
                                                     per_page=per_page)
            except ReadFailed as exc:
                if exc.reason_code == RATE_LIMITED:
                    self.stop_for_limit(None, exc.retry_after)
                else:
                    self.summary.stopped = f"search failed: {exc.detail}"
                    self.summary.error = True
                    self.record("LEADS_SEARCH", "failed",
                                self.summary.stopped, platform="github",
                                reason_code=exc.reason_code)
                break

            self.summary.searches_done += 1
            remaining, reset = page["remaining"], page["reset"]
            for repo in page["items"]:
                key = str(repo.get("full_name", "")).lower()
                if not key:
                    continue
                entry = found.setdefault(key, {"repo": repo, "found_by": []})
                entry["found_by"].append(query)

        self.record("LEADS_SEARCH", "success" if not self.summary.stopped
                    else "blocked",
                    f"{self.summary.searches_done} of "
                    f"{self.summary.searches_planned} searches, "
                    f"{len(found)} repositories", platform="github",
                    details={"remaining": remaining, "reset": reset})
        return found

    def stop_for_limit(self, reset: int | None,
                       retry_after: float | None = None) -> None:
        if retry_after is None and reset is not None:
            retry_after = max(reset - time.time(), 0.0)
        wait = (f"; GitHub allows more in {retry_after:.0f} s"
                if retry_after is not None else "")
        self.summary.stopped = ("GitHub search rate limit reached"
                                f"{wait}; the remaining searches run next "
                                "time")
        self.summary.error = True
        self.record("LEADS_SEARCH", "blocked", self.summary.stopped,
                    platform="github", reason_code="RATE_LIMITED")

    def rank(self, found: dict[str, dict[str, Any]]) -> list[Lead]:
        filters = self.leads_config.get("filters") or {}
        excluded = {x.lower() for x in filters.get("exclude") or ()}
        own = "/".join(filter(None, (self.settings.get("GITHUB_OWNER"),
                                     self.settings.get("GITHUB_REPO"))))
        if own.count("/") == 1:
            excluded.add(own.lower())

        leads = []
        for entry in found.values():
            repo = entry["repo"]
            if not keep(repo, filters, self.now, excluded):
                continue
            value, matched = score(repo, self.leads_config, self.now)
            leads.append(Lead(
                full_name=repo["full_name"],
                url=repo.get("html_url") or
                f"https://github.com/{repo['full_name']}",
                description=" ".join((repo.get("description") or "")
                                     .split()),
                stars=int(repo.get("stargazers_count") or 0),
                pushed_at=repo.get("pushed_at") or "",
                language=repo.get("language"), license=_license(repo) or None,
                topics=list(repo.get("topics") or []),
                matched_topics=matched, score=value,
                found_by=entry["found_by"]))
        leads.sort(key=lambda lead: (-lead.score, lead.full_name.lower()))
        return leads

    def remember(self, ranked: list[Lead]) -> None:
        """Record the best new leads, up to ``max_leads``; a repository
        listed before (any week, any run) is skipped by the dedupe key."""
        limit = int(self.leads_config.get("max_leads", 25))
        for lead in ranked:
            if len(self.summary.new_leads) >= limit:
                break
            try:
                self.ledger.record(
                    action="LEAD_FOUND", status="success", platform="github",
                    draft=lead.full_name, permalink=lead.url,
                    message=f"lead {lead.full_name} (score {lead.score:.2f})",
                    details={"week": self.week, "lead": asdict(lead)},
                    dedupe_key=f"lead:github:{lead.full_name.lower()}")
            except sqlite3.IntegrityError:
                self.summary.already_listed += 1
                continue
            self.summary.new_leads.append(lead)

    # -- reports ---------------------------------------------------------

    def write_reports(self) -> None:
        folder = Path(self.settings.state_dir) / "reports"
        folder.mkdir(parents=True, exist_ok=True)
        markdown = folder / f"leads-{self.week}.md"
        table = folder / f"leads-{self.week}.csv"
        _write_atomically(markdown, self.markdown())
        _write_atomically(table, leads_csv(self.summary.week_leads))
        self.summary.report_path = str(markdown)
        self.summary.csv_path = str(table)

    def markdown(self) -> str:
        lines = [
            f"# Partnership leads {self.week}",
            "",
            f"Week {self.week} in {self.tz_name}; written "
            f"{self.now:%Y-%m-%d %H:%M}Z by run {self.summary.run_id}.",
            "",
            f"**{NO_OUTREACH}**",
            "",
            f"Score: `{formula_text(self.leads_config)}`.",
            "",
            self.summary.summary_line() + ".",
            "",
        ]
        leads = self.summary.week_leads
        if not leads:
            lines.append("No new leads this week.")
            return "\n".join(lines) + "\n"
        lines += ["| # | Repository | Score | Stars | Last push | Language "
                  "| License | Matching topics | Description |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for rank, lead in enumerate(leads, 1):
            cells = [str(rank), f"[{lead.full_name}]({lead.url})",
                     f"{lead.score:.2f}", str(lead.stars),
                     lead.pushed_at[:10], lead.language or "",
                     lead.license or "", ", ".join(lead.matched_topics),
                     lead.description]
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        return "\n".join(lines) + "\n"

    def record(self, action, status, message, **fields) -> None:
        self.ledger.record(action=action, status=status, message=message,
                           **fields)

    def finish(self) -> LeadsSummary:
        self.summary.finished_at = utc_now()
        self.record("RUN_SUMMARY",
                    "success" if self.summary.exit_code == 0 else "failed",
                    self.summary.summary_line(),
                    details={"week": self.week,
                             "new_leads": [lead.full_name for lead in
                                           self.summary.new_leads],
                             "stopped": self.summary.stopped,
                             "report": self.summary.report_path,
                             "csv": self.summary.csv_path})
        return self.summary


def run_partnerships(settings, config, ledger, *,
                     now: datetime | None = None) -> LeadsSummary:
    """``marketing-ops run partnerships``: one weekly run."""
    return Partnerships(settings, config, ledger, now=now).run()


def week_leads(ledger, week: str) -> list[Lead]:
    """Every lead first listed in ``week``, best first."""
    rows = ledger.conn.execute(
        "SELECT details FROM events WHERE action = 'LEAD_FOUND' "
        "AND json_extract(details, '$.week') = ? ORDER BY id",
        (week,)).fetchall()
    leads = [Lead(**json.loads(row["details"])["lead"]) for row in rows]
    leads.sort(key=lambda lead: (-lead.score, lead.full_name.lower()))
    return leads


def leads_csv(leads: list[Lead]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for rank, lead in enumerate(leads, 1):
        writer.writerow([rank, lead.full_name, lead.url, f"{lead.score:.4f}",
                         lead.stars, lead.pushed_at, lead.language or "",
                         lead.license or "", " ".join(lead.topics),
                         " ".join(lead.matched_topics), lead.description,
                         " | ".join(lead.found_by)])
    return out.getvalue()


def _license(repo: dict[str, Any]) -> str:
    info = repo.get("license") or {}
    spdx = info.get("spdx_id") or info.get("key") or ""
    return "" if spdx == "NOASSERTION" else spdx


def _cell(text: str) -> str:
    """Table cell text: pipes escaped, long descriptions shortened."""
    text = text.replace("|", "\\|")
    return text[:160] + ("…" if len(text) > 160 else "")


def _parse_time(value) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
