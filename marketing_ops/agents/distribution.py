"""The distribution agent: drafts out to every platform, one careful step
at a time.

For each run:

1. kill switches (``STOP_ALL``, ``PUBLISH_ENABLED``);
2. reconcile intents that an earlier, crashed run left without an outcome;
3. preflight every platform, concurrently (circuit breakers);
4. for each draft and each of its platforms: platform valid? -> budget
   left? -> auto-approve -> connector renders -> policy verdict -> kill
   switch again and the intent, in one ledger transaction -> the call ->
   the outcome with its permalink;
5. a summary: stdout, a JSON report in the state folder, a RUN_SUMMARY
   event.

Every decision is an event in the ledger.  The intent is recorded before the
call and the outcome after it; a run that dies in between leaves an intent
without an outcome, which the next run reconciles (it never posts again
blindly).  ``DRY_RUN`` does all of it except the call.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from marketing_ops.moltbook import utc_now
from marketing_ops.safety import budget
from marketing_ops.safety.killswitch import stop_reason

logger = logging.getLogger(__name__)

#: How far back the policy looks for earlier posts (no-repeat windows).
RECENT_POSTS_DAYS = 60
#: Policy rule kinds that read earlier posts.
HISTORY_RULES = frozenset({"no_repeat", "min_interval"})


@dataclass(slots=True)
class PostResult:
    draft: str
    platform: str
    status: str          # published, failed, unknown, blocked, skipped, dry_run
    reason: str = ""
    permalink: str | None = None
    reason_code: str | None = None
    preview: str = ""


@dataclass
class RunSummary:
    run_id: str
    agent: str
    mode: str                              # "live" or "dry-run"
    started_at: str
    finished_at: str = ""
    stopped: str | None = None
    preflight: list = field(default_factory=list)   # PreflightResult
    posts: list[PostResult] = field(default_factory=list)
    reconciled: list[PostResult] = field(default_factory=list)
    draft_errors: list[str] = field(default_factory=list)
    report_path: str | None = None

    @property
    def exit_code(self) -> int:
        bad = {"failed", "unknown"}
        if any(p.status in bad for p in self.posts + self.reconciled):
            return 1
        return 0

    #: How the summary names what the run sends, and a stop.
    items_title = "Posts"
    stopped_title = "Publishing stopped"

    def lines(self) -> list[str]:
        from marketing_ops.agents.preflight import format_text

        out = [f"Run {self.run_id} ({self.agent}, {self.mode})"]
        if self.stopped:
            out.append(f"{self.stopped_title}: {self.stopped}")
        if self.preflight:
            out.extend(format_text(self.preflight).splitlines())
        if self.reconciled:
            out.append("Reconciled from an interrupted run:")
            out.extend(self.item_line(p) for p in self.reconciled)
        out.extend(self.section_lines())
        if self.posts:
            out.append(f"{self.items_title}:")
            out.extend(self.item_line(p) for p in self.posts)
        elif not self.stopped:
            out.append(f"{self.items_title}: none")
        counts = self.counts()
        if counts:
            out.append("Totals: " + ", ".join(f"{n} {s}" for s, n in
                                              sorted(counts.items())))
        if self.report_path:
            out.append(f"Report: {self.report_path}")
        return out

    def counts(self) -> dict[str, int]:
        """How many items ended in each status."""
        counts: dict[str, int] = {}
        for post in self.posts:
            counts[post.status] = counts.get(post.status, 0) + 1
        return counts

    def section_lines(self) -> list[str]:
        """What this kind of run adds before its items."""
        if not self.draft_errors:
            return []
        return ["Drafts with errors (skipped, left in place):"] + [
            f"  {error}" for error in self.draft_errors]

    def report_extra(self) -> dict[str, Any]:
        """What this kind of run adds to its JSON report."""
        return {}

    @staticmethod
    def item_line(post: PostResult) -> str:
        tail = post.permalink or post.reason
        return (f"  {post.draft:<28} {post.platform:<9} {post.status:<9} "
                f"{tail}")


class Distribution:
    """One distribution run over the drafts folder (plus any drafts the
    orchestrator adds, such as a release announcement)."""

    def __init__(self, settings, config, ledger, *, agent: str,
                 dry_run: bool, extra_drafts=(), now: datetime | None = None):
        self.settings = settings
        self.config = config
        self.ledger = ledger
        self.agent = agent
        self.dry_run = dry_run
        self.extra_drafts = list(extra_drafts)
        self.now = now or datetime.now(timezone.utc)
        self.connectors: dict[str, Any] = {}
        self.valid: set[str] = set()
        self.summary = RunSummary(
            run_id=ledger.run_id, agent=agent,
            mode="dry-run" if dry_run else "live", started_at=utc_now())
        self.window_since = budget.window_since(config.schedule, self.now)
        self._dry_run_used: dict[str, int] = {}
        self._history: dict[str, list[tuple[datetime, str]]] = {}
        self._policy_looks_back = any(
            rule.get("kind") in HISTORY_RULES
            for rule in (config.policy or {}).get("rules", []))

    # -- the run ------------------------------------------------------------

    def run(self) -> RunSummary:
        self.record("RUN_STARTED", "success",
                    f"{self.agent} run started ({self.summary.mode})")

        stopped = stop_reason(self.settings)
        if stopped and not self.dry_run:
            self.summary.stopped = stopped
            self.record("KILL_SWITCH", "blocked",
                        f"publishing stopped: {stopped}; nothing was sent")
            return self.finish()
        if stopped:
            self.record("KILL_SWITCH", "blocked",
                        f"live publishing is stopped ({stopped}); the dry "
                        "run goes on since it sends nothing")

        from marketing_ops.agents.reconcile import reconcile

        self.summary.reconciled = reconcile(
            self.settings, self.config, self.ledger, self.connector)

        from marketing_ops.agents.preflight import run_preflight

        results = run_preflight(self.settings, self.config, self.ledger)
        self.summary.preflight = results
        self.valid = {r.platform for r in results if r.ok}

        for draft in self.collect_drafts():
            for platform in draft.platforms:
                result = self.process(draft, platform)
                if result is not None:
                    self.summary.posts.append(result)
                if self.summary.stopped:
                    return self.finish()
        return self.finish()

    def collect_drafts(self):
        from marketing_ops.drafts import load_drafts_lenient

        drafts, errors = load_drafts_lenient(self.settings)
        for error in errors:
            self.summary.draft_errors.append(str(error))
            self.record("DRAFT_INVALID", "error", str(error),
                        event_type="ERROR", reason_code="INVALID_DRAFT")
        seen = {d.id for d in drafts}
        drafts.extend(d for d in self.extra_drafts if d.id not in seen)
        return sorted(drafts, key=lambda d: d.id)

    # -- one draft on one platform -----------------------------------------

    def process(self, draft, platform: str) -> PostResult | None:
        """Take one draft through every gate to one platform.  Returns what
        happened, or None when there was nothing to do (done earlier, or
        not due yet)."""
        subject = draft.id

        # Settled earlier (published, or unknown and waiting for a human):
        # nothing to do and nothing to record again.
        previous, outcome = budget.latest_attempt(
            self.ledger.conn, platform, subject, "post")
        if previous is not None and outcome in ("success", "unknown"):
            return None
        if previous is not None and outcome is None:
            return None   # in flight in another run; reconcile handles it

        if not draft.is_due(self.now):
            return None
        if draft.is_expired(self.now):
            return self.blocked(draft, platform, "DRAFT_EXPIRED",
                                "expired before it could be posted")

        if platform == "hn":
            return self.blocked(draft, platform, "PLATFORM_UNSUPPORTED",
                                "Hacker News has no write API; post it by "
                                "hand", reason_code="UNSUPPORTED_AUTH")
        if platform not in self.valid:
            return self.blocked(draft, platform, "PLATFORM_SKIPPED",
                                "circuit breaker open or preflight failed")

        limit = self.settings.max_live_posts_per_platform
        used = self.budget_used(platform)
        if used >= limit:
            return self.blocked(draft, platform, "BUDGET_CHECK",
                                f"budget used: {used} of {limit} posts "
                                "today", reason_code="BUDGET_EXHAUSTED")

        self.record("APPROVAL", "success", "auto-approved (no human gate)",
                    platform=platform, draft=subject)

        connector = self.connector(platform)
        marker = uuid.uuid4().hex[:16]
        try:
            rendered = connector.render(draft, kind="post", marker=marker)
        except Exception as exc:   # a connector bug must not end the run
            logger.warning("%s: could not render %s: %s", platform, subject,
                           exc)
            return self.blocked(draft, platform, "RENDER", f"could not "
                                f"render: {exc}", status="failed",
                                reason_code="INVALID_CONTENT")

        verdict = self.policy_verdict(rendered, platform)
        self.record("POLICY_VERDICT",
                    "success" if verdict.allowed else "blocked",
                    _verdict_text(verdict), platform=platform, draft=subject,
                    details=verdict.as_dict())
        if not verdict.allowed:
            return PostResult(subject, platform, "blocked",
                              "policy: " + ", ".join(verdict.decided_by),
                              reason_code="POLICY_DENIED",
                              preview=_preview(rendered))

        if self.dry_run:
            return self.dry_run_result(draft, platform, rendered)
        return self.publish(draft, platform, rendered, marker)

    def publish(self, draft, platform, rendered, marker) -> PostResult:
        subject = draft.id
        claim = budget.claim(
            self.ledger, platform=platform, subject=subject, kind="post",
            limit=self.settings.max_live_posts_per_platform,
            since=self.window_since,
            stop_check=lambda: stop_reason(self.settings),
            message=f"about to publish {subject} on {platform}",
            # The exact text sent lets reconciliation recognise the post on
            # platforms with nowhere to hide a marker (X).
            details={"marker": marker, "title": rendered.title,
                     "text": rendered.text})
        if isinstance(claim, budget.Refusal):
            return self.refused(draft, platform, claim)

        connector = self.connector(platform)
        try:
            outcome = connector.publish(rendered)
        except Exception as exc:
            # Whatever happened, the call may have gone out: unknown, never
            # retried automatically.
            from marketing_ops.platforms.base import Outcome
            outcome = Outcome.unknown("NETWORK_ERROR",
                                      f"connector error: {exc}")

        status = budget.LEDGER_STATUS[outcome.status]
        message = (f"published {subject} on {platform}"
                   if outcome.status == "published" else
                   f"{outcome.status}: {outcome.detail}")
        if outcome.status == "unknown":
            message += ("; not retried — check the platform by hand, then "
                        "see 'marketing-ops drafts'")
        budget.record_outcome(
            self.ledger, claim, kind="post", platform=platform,
            subject=subject, status=status, message=message,
            reason_code=outcome.reason_code, permalink=outcome.permalink,
            details={"remote_id": outcome.remote_id,
                     "retry_after": outcome.retry_after,
                     "plain_text": rendered.plain_text, "kind": "post"})

        if outcome.status in ("published", "unknown"):
            self.history(platform).append((self.now, rendered.plain_text))
        if outcome.status != "published":
            self.after_failure(platform, outcome)
        return PostResult(subject, platform,
                          "published" if status == "success" else status,
                          outcome.detail if status != "success" else "",
                          permalink=outcome.permalink,
                          reason_code=outcome.reason_code,
                          preview=_preview(rendered))

    def after_failure(self, platform: str, outcome) -> None:
        """Credentials revoked or a rate limit mid-run: open the breaker and
        leave the platform alone for the rest of the run."""
        from marketing_ops.platforms.base import BREAKER_REASONS
        from marketing_ops.safety import circuit

        if outcome.reason_code in BREAKER_REASONS:
            circuit.open_breaker(
                self.settings, self.ledger, platform, outcome.reason_code,
                outcome.detail,
                self.connector(platform).credential_fingerprint(),
                platforms_config=self.config.platforms)
            self.valid.discard(platform)

    def refused(self, draft, platform, refusal) -> PostResult | None:
        if refusal.reason == "stopped":
            self.summary.stopped = refusal.detail
            self.record("KILL_SWITCH", "blocked",
                        f"publishing stopped mid-run: {refusal.detail}; "
                        "no further posts", platform=platform,
                        draft=draft.id)
            return PostResult(draft.id, platform, "blocked",
                              f"kill switch: {refusal.detail}")
        if refusal.reason == "budget":
            return self.blocked(draft, platform, "BUDGET_CHECK",
                                refusal.detail,
                                reason_code="BUDGET_EXHAUSTED")
        # Another run claimed it a moment ago: that run reports it.
        return None

    def dry_run_result(self, draft, platform, rendered) -> PostResult:
        used = self.budget_used(platform)
        self._dry_run_used[platform] = self._dry_run_used.get(platform, 0) + 1
        self.record("PLATFORM_RESULT", "dry_run",
                    f"dry run: would publish {draft.id} on {platform} "
                    f"(budget {used + 1} of "
                    f"{self.settings.max_live_posts_per_platform})",
                    platform=platform, draft=draft.id,
                    details={"text": rendered.plain_text,
                             "measures": {k: list(v) for k, v in
                                          rendered.measures.items()}})
        return PostResult(draft.id, platform, "dry_run", "would publish",
                          preview=_preview(rendered))

    # -- helpers ------------------------------------------------------------

    def budget_used(self, platform: str) -> int:
        used = budget.budget_used(self.ledger.conn, platform, "post",
                                  self.window_since)
        return used + self._dry_run_used.get(platform, 0)

    def policy_verdict(self, rendered, platform):
        from marketing_ops.safety.policy import PolicyContext, evaluate

        return evaluate(self.config.policy, rendered,
                        PolicyContext(now=self.now, history=self.history))

    def history(self, platform: str) -> list[tuple[datetime, str]]:
        """Earlier posts on ``platform`` for the policy's no-repeat and
        minimum-interval rules: the ledger's, read once per run, plus what
        this run has posted since.  Empty (and never kept) when the policy
        has no rule that looks back, so a long run does not carry the text
        of every post it made."""
        if not self._policy_looks_back:
            return []
        if platform not in self._history:
            from marketing_ops.safety.policy import ledger_history
            self._history[platform] = ledger_history(
                self.ledger, platform, self.now, "post",
                timedelta(days=RECENT_POSTS_DAYS))
        return self._history[platform]

    def connector(self, platform: str):
        if platform not in self.connectors:
            from marketing_ops.platforms.base import get_connector
            self.connectors[platform] = get_connector(
                platform, self.settings, self.config.platforms)
        return self.connectors[platform]

    def blocked(self, draft, platform, action, reason, *,
                status="blocked", reason_code=None) -> PostResult:
        self.record(action, status, reason, platform=platform,
                    draft=draft.id, reason_code=reason_code)
        return PostResult(draft.id, platform, status, reason,
                          reason_code=reason_code)

    def record(self, action, status, message, **fields) -> None:
        self.ledger.record(action=action, status=status, message=message,
                           **fields)

    def finish(self) -> RunSummary:
        return close_run(self.settings, self.ledger, self.summary,
                         idle="nothing to post")


def close_run(settings, ledger, summary: RunSummary, *, idle: str):
    """End a run: the JSON report, then the RUN_SUMMARY event.  The event
    holds counts, not every item: each item has its own events already and
    the report lists them all; a copy here made a 10,000-draft run's last
    event megabytes long and its memory peak half again as high."""
    summary.finished_at = utc_now()
    write_report(settings, summary)
    counts = summary.counts()
    ledger.record(action="RUN_SUMMARY",
                  status="success" if summary.exit_code == 0 else "failed",
                  message=f"{summary.agent} run finished: " + (", ".join(
                      f"{n} {s}" for s, n in sorted(counts.items())) or idle),
                  details={"counts": counts, "stopped": summary.stopped,
                           "report": summary.report_path})
    return summary


def _verdict_text(verdict) -> str:
    return verdict.summary()


def _preview(rendered) -> str:
    text = " ".join((rendered.plain_text or "").split())
    return text[:80] + ("…" if len(text) > 80 else "")


def write_report(settings, summary: RunSummary) -> Path:
    """The run's JSON report, written atomically to ``reports/``.

    Written a post at a time, each part redacted on its own: a run over a
    long queue would otherwise hold the whole report three times over (the
    dictionary, its JSON text, the redacted copy) at its memory peak."""
    from marketing_ops.redact import redact

    folder = Path(settings.state_dir) / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"run-{summary.run_id}.json"
    summary.report_path = str(path)
    secrets = settings.secret_values()

    def dump(value) -> str:
        return redact(json.dumps(value, default=str), secrets)

    head = {name: getattr(summary, name) for name in
            ("run_id", "agent", "mode", "started_at", "finished_at",
             "stopped", "report_path")}
    head["exit_code"] = summary.exit_code
    head["preflight"] = [asdict(result) for result in summary.preflight]
    head["reconciled"] = [asdict(post) for post in summary.reconciled]
    head["draft_errors"] = summary.draft_errors
    head.update(summary.report_extra())

    temporary = path.with_suffix(".tmp")
    with open(temporary, "w", encoding="utf-8") as out:
        out.write(dump(head)[:-1] + ', "posts": [')
        for index, post in enumerate(summary.posts):
            out.write(("\n  " if index == 0 else ",\n  ") + dump(asdict(post)))
        out.write("\n]}\n")
    os.replace(temporary, path)
    return path


# -- plan -------------------------------------------------------------------

def build_plan(settings, config, ledger, *, now: datetime | None = None
               ) -> list[dict[str, Any]]:
    """What the next run would do per draft and platform, computed without
    a single side effect: no network call, no ledger write, no lock file.
    Breaker state is read from the lock files as they are; budgets from the
    ledger as it is."""
    from marketing_ops.drafts import load_drafts_lenient
    from marketing_ops.safety import circuit

    now = now or datetime.now(timezone.utc)
    since = budget.window_since(config.schedule, now)
    stopped = stop_reason(settings)
    drafts, errors = load_drafts_lenient(settings)
    planner = Distribution(settings, config, ledger, agent="plan",
                           dry_run=True, now=now)

    rows: list[dict[str, Any]] = [{"error": str(e)} for e in errors]
    planned: dict[str, int] = {}
    for draft in sorted(drafts, key=lambda d: d.id):
        for platform in draft.platforms:
            row = {"draft": draft.id, "platform": platform}
            rows.append(row)
            previous, outcome = budget.latest_attempt(
                ledger.conn, platform, draft.id, "post")
            if previous is not None and outcome in ("success", "unknown"):
                row["action"] = ("nothing (already published)"
                                 if outcome == "success" else
                                 "nothing (outcome unknown: check by hand)")
                continue
            if not draft.is_due(now):
                row["action"] = "nothing yet (not_before is later)"
                continue
            if draft.is_expired(now):
                row["action"] = "skip (expired)"
                continue
            if platform == "hn":
                row["action"] = "skip (Hacker News has no write API)"
                continue
            breaker = circuit.read_breaker(settings, platform)
            row["breaker"] = breaker.describe(now) if breaker else "closed"
            used = budget.budget_used(ledger.conn, platform, "post", since)
            used += planned.get(platform, 0)
            limit = settings.max_live_posts_per_platform
            row["budget_left"] = max(limit - used, 0)

            rendered = planner.connector(platform).render(
                draft, kind="post", marker="plan")
            row["text"] = rendered.text
            row["measures"] = {k: list(v) for k, v in
                               rendered.measures.items()}
            verdict = planner.policy_verdict(rendered, platform)
            row["policy"] = _verdict_text(verdict)

            if stopped:
                row["action"] = f"hold ({stopped})"
            elif breaker is not None and breaker.cooling_down(now):
                row["action"] = "skip (circuit breaker open)"
            elif used >= limit:
                row["action"] = "hold (budget used up)"
            elif not verdict.allowed:
                row["action"] = "block (policy)"
            else:
                row["action"] = ("publish (dry run)" if settings.dry_run
                                 else "publish")
                if breaker is not None:
                    row["action"] += " if the breaker's re-check passes"
                planned[platform] = planned.get(platform, 0) + 1
    return rows


def command_plan(args) -> int:
    from marketing_ops.config import load_config
    from marketing_ops.config.settings import load_settings
    from marketing_ops.moltbook import Moltbook

    settings = load_settings(args.config_dir, args.state_dir)
    config = load_config(settings)
    ledger = Moltbook(settings.ledger_path, readonly=True,
                      redact=settings.secret_values())
    try:
        rows = build_plan(settings, config, ledger)
    finally:
        ledger.close()
    if args.json:
        for row in rows:
            print(json.dumps(row, sort_keys=True))
        return 0
    if not rows:
        print("No drafts in the queue.")
    for row in rows:
        if "error" in row:
            print(f"! {row['error']}")
            continue
        print(f"{row['draft']} -> {row['platform']}: {row['action']}")
        if "text" in row:
            sizes = ", ".join(f"{name} {length}/{limit} {unit}"
                              for name, (length, limit, unit)
                              in row["measures"].items())
            print(f"    length: {sizes}; policy: {row['policy']}; budget "
                  f"left: {row['budget_left']}; breaker: {row['breaker']}")
            for line in row["text"].splitlines()[:6]:
                print(f"    | {line}")
    return 0
