"""The community agent: read what people said to the project, answer the
questions a reply rule covers, within the reply budget and the policy.

For each run:

1. settle reply (and post) intents an earlier, crashed run left without an
   outcome — never by replying again (see ``reconcile``);
2. preflight every platform (circuit breakers);
3. for each platform in ``config/community.yaml``:

   * Discord (a webhook cannot read) and Hacker News are reported as
     unsupported; X is read only when ``platforms.x.read_mentions`` is on,
     because X bills every read;
   * read the mentions since the stored cursor, record each one as a
     ``MENTION_SEEN`` event (once per platform and mention id, however
     often it is read), and only then move the cursor on;
   * answer the open mentions, oldest first.  A mention is open while it
     is within ``backlog_days``, a rule matched it when it was seen, and it
     has neither a reply that may have gone out nor a ``MENTION_CLOSED``
     event.  So a mention read by a run that then crashed, or deferred by a
     spent budget or a pause, is answered by a later run.

4. a summary: stdout, a JSON report in ``reports/``, a ``RUN_SUMMARY``
   event.

One mention goes through these gates, in this order, each an event:
kill switch -> platform valid (preflight, breakers) -> reply budget ->
auto-approve -> the connector renders the reply -> no unsolicited
mentions -> policy (only people who addressed us, one reply per thread)
-> kill switch again and the reply intent, in one ledger transaction
(``budget.claim`` on subject ``mention:<platform>:<id>``) -> the call ->
``REPLY_RESULT`` with the permalink.

Exactly once.  The claim is the guarantee: it refuses a mention whose
earlier reply succeeded, is unknown, or is still in flight, under the
ledger's write lock, so two overlapping runs cannot both answer.  The
per-thread check runs inside the same transaction.  The cursor only saves
reading the same mentions again.

Kill switch.  A pause stops replies, not reading: mentions read while
publishing is paused are recorded and answered after the resume (within
``backlog_days``), rather than lost when a platform forgets them (Telegram
keeps updates for 24 hours).  ``DRY_RUN`` reads, records and evaluates
everything and records what it would have sent; it never calls reply.

Reply templates are plain text with ``{author}``, ``{platform}``,
``{project}`` and ``{url}`` filled in (``{{``/``}}`` for literal braces).
No template engine: a template can never reach anything but those four
strings, and the schema refuses any other field.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from marketing_ops.agents.distribution import (PostResult, RunSummary,
                                               close_run)
from marketing_ops.moltbook import utc_now
from marketing_ops.safety import budget
from marketing_ops.safety.killswitch import stop_reason

logger = logging.getLogger(__name__)

AGENT = "community"

#: Platforms whose API offers no way to read what people wrote to us.
NO_READ_API = {
    "discord": "a Discord webhook cannot read the channel (that needs a bot "
               "token, which marketing-ops does not use); replies on "
               "Discord are not possible",
    "hn": "Hacker News has no API for replies or notifications",
}

#: Failed replies (provably not accepted) are tried again by later runs, up
#: to this many attempts in all.
MAX_REPLY_ATTEMPTS = 3

DEFAULT_BACKLOG_DAYS = 3

TEMPLATE_FIELDS = ("author", "platform", "project", "url")


# -- the summary ------------------------------------------------------------

@dataclass
class CommunitySummary(RunSummary):
    """A :class:`RunSummary` whose ``posts`` are replies (``draft`` holds
    the mention's subject) plus one row per platform read."""

    reads: list[dict[str, Any]] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if any(r["status"] == "failed" for r in self.reads):
            return 1
        return RunSummary.exit_code.fget(self)

    items_title = "Replies"
    stopped_title = "Replies stopped"

    def report_extra(self) -> dict[str, Any]:
        return {"reads": self.reads}

    def section_lines(self) -> list[str]:
        return ["Mentions read:"] + [
            f"  {read['platform']:<9} {read['status']:<9} {read['detail']}"
            for read in self.reads]

    @staticmethod
    def item_line(reply: PostResult) -> str:
        tail = reply.permalink or reply.reason
        return f"  {reply.draft:<40} {reply.status:<9} {tail}"


# -- reply rules --------------------------------------------------------------

def matching_rule(rules, mention) -> dict[str, Any] | None:
    """The first rule that covers the mention's platform and matches its
    text, or None."""
    for rule in rules or ():
        platforms = rule.get("platforms", "all")
        if platforms != "all" and mention.platform not in platforms:
            continue
        if text_matches(rule["match"], mention.text or ""):
            return rule
    return None


def text_matches(match: dict[str, Any], text: str) -> bool:
    """Every condition given holds: one of ``any``, all of ``all``, one of
    ``patterns``.  Keywords match whole words or phrases."""
    flags = 0 if match.get("case_sensitive") else re.IGNORECASE
    if "any" in match and not any(_has_phrase(text, word, flags)
                                  for word in match["any"]):
        return False
    if "all" in match and not all(_has_phrase(text, word, flags)
                                  for word in match["all"]):
        return False
    if "patterns" in match and not any(re.search(pattern, text, flags)
                                       for pattern in match["patterns"]):
        return False
    return True


def _has_phrase(text: str, phrase: str, flags: int) -> bool:
    # Word boundaries that also work for phrases starting or ending in a
    # non-word character ("c++", "v2.0").
    pattern = r"(?<!\w)" + re.escape(phrase) + r"(?!\w)"
    return re.search(pattern, text, flags) is not None


def fill_template(template: str, values: dict[str, str]) -> str:
    """``{author}`` and friends replaced by ``values``; ``{{``/``}}`` become
    single braces.  Anything else in braces is left as written (the schema
    refuses it before a run gets here)."""
    def substitute(match: re.Match) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        name = match.group(1)
        return values.get(name, token) if name in TEMPLATE_FIELDS else token

    return re.sub(r"\{\{|\}\}|\{(\w+)\}", substitute, template)


def foreign_handles(text: str, author: str | None) -> list[str]:
    """@handles in a reply other than the person we answer: a reply must
    never pull in people who did not ask."""
    allowed = (author or "").lstrip("@").lower()
    found = []
    for match in re.finditer(r"(?<![\w@.])@([A-Za-z0-9_][A-Za-z0-9_-]*)",
                             text):
        if match.group(1).lower() != allowed:
            found.append("@" + match.group(1))
    return found


# -- mentions in the ledger ----------------------------------------------------

def subject_of(mention) -> str:
    return f"mention:{mention.platform}:{mention.id}"


def mention_to_dict(mention) -> dict[str, Any]:
    data = asdict(mention)
    if mention.created_at is not None:
        data["created_at"] = mention.created_at.astimezone(
            timezone.utc).isoformat()
    return data


def mention_from_dict(data: dict[str, Any]):
    from marketing_ops.platforms.base import Mention

    created = data.get("created_at")
    return Mention(
        platform=data["platform"], id=str(data["id"]),
        thread_id=data.get("thread_id"), author=data.get("author"),
        text=data.get("text") or "", url=data.get("url"),
        addressed_us=bool(data.get("addressed_us")),
        created_at=datetime.fromisoformat(created) if created else None,
        raw_ref=dict(data.get("raw_ref") or {}))


def open_mentions(ledger, platform: str, since: str) -> list[dict[str, Any]]:
    """``MENTION_SEEN`` events since ``since`` that a rule matched and that
    are neither closed nor answered (an answer counts unless it provably
    failed; one in flight counts too).

    Known shortcoming: a mention that waits longer than ``backlog_days``
    (budget spent every day, a long pause) silently drops out of this list;
    its MENTION_SEEN event stays, but nothing says it expired.  A
    MENTION_EXPIRED event written when it falls out would make that
    visible in ``marketing-ops events``."""
    rows = ledger.conn.execute(
        "SELECT * FROM events s "
        "WHERE s.action = 'MENTION_SEEN' AND s.platform = ? AND s.ts >= ? "
        "AND json_extract(s.details, '$.rule') IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM events c "
        "                WHERE c.dedupe_key = 'closed:' || s.draft) "
        "AND NOT EXISTS ("
        "    SELECT 1 FROM events i "
        "    WHERE i.action = 'REPLY_INTENT' AND i.platform = s.platform "
        "    AND i.draft = s.draft "
        "    AND NOT EXISTS (SELECT 1 FROM events r "
        "                    WHERE r.dedupe_key = 'result:' || i.id "
        "                    AND r.status = 'failed')) "
        "ORDER BY s.id", (platform, since)).fetchall()
    events = []
    for row in rows:
        event = dict(row)
        event["details"] = json.loads(event["details"] or "{}")
        events.append(event)
    return events


def replied_in_thread(conn, platform: str, thread: str,
                      except_subject: str | None = None) -> bool:
    """True when a reply in ``thread`` may have gone out (its intent has
    no outcome yet, or one other than failed)."""
    row = conn.execute(
        "SELECT 1 FROM events i "
        "WHERE i.action = 'REPLY_INTENT' AND i.platform = ? "
        "AND json_extract(i.details, '$.thread') = ? "
        "AND (? IS NULL OR i.draft != ?) "
        "AND NOT EXISTS (SELECT 1 FROM events r "
        "                WHERE r.dedupe_key = 'result:' || i.id "
        "                AND r.status = 'failed') LIMIT 1",
        (platform, thread, except_subject, except_subject)).fetchone()
    return row is not None


def failed_attempts(conn, platform: str, subject: str) -> int:
    return conn.execute(
        "SELECT count(*) FROM events WHERE action = 'REPLY_INTENT' "
        "AND platform = ? AND draft = ?", (platform, subject)).fetchone()[0]


class _ThreadAnswered(Exception):
    """Raised inside the claim transaction: another reply in this thread
    was recorded a moment ago (by an overlapping run)."""


# -- the run -------------------------------------------------------------------

class Community:
    """One community run."""

    def __init__(self, settings, config, ledger, *, dry_run: bool,
                 now: datetime | None = None):
        from marketing_ops.cursors import CursorStore

        self.settings = settings
        self.config = config
        self.ledger = ledger
        self.dry_run = dry_run
        self.now = now or datetime.now(timezone.utc)
        self.community = config.community or {}
        self.cursors = CursorStore(settings.state_dir)
        self.connectors: dict[str, Any] = {}
        self.valid: set[str] = set()
        self.summary = CommunitySummary(
            run_id=ledger.run_id, agent=AGENT,
            mode="dry-run" if dry_run else "live", started_at=utc_now())
        self.window_since = budget.window_since(config.schedule, self.now)
        days = self.community.get("backlog_days", DEFAULT_BACKLOG_DAYS)
        self.backlog_since = budget.iso(self.now - timedelta(days=days))
        self._dry_run_used: dict[str, int] = {}

    def run(self) -> CommunitySummary:
        self.record("RUN_STARTED", "success",
                    f"community run started ({self.summary.mode})")

        paused = stop_reason(self.settings)
        if paused:
            self.record("KILL_SWITCH", "blocked",
                        f"replies are stopped ({paused}); mentions are still "
                        "read and recorded, and answered after the resume")
            if not self.dry_run:
                self.summary.stopped = paused

        if not self.dry_run:
            # Known shortcoming: a reply intent left by a crash is always
            # settled as "unknown" (never sent again, reported for a human),
            # even where the platform could tell: reconciliation looks for
            # a post's hidden marker, and replies carry none.  Embedding the
            # marker in replies and searching the thread would let GitHub
            # and Reddit confirm them.
            from marketing_ops.agents.reconcile import reconcile

            self.summary.reconciled = reconcile(
                self.settings, self.config, self.ledger, self.connector)

        from marketing_ops.agents.preflight import run_preflight

        monitored = [p for p in self.community.get("platforms") or ()
                     if p not in NO_READ_API]
        results = run_preflight(self.settings, self.config, self.ledger,
                                platforms=monitored) if monitored else []
        self.summary.preflight = results
        self.valid = {r.platform for r in results if r.ok}

        for platform in self.community.get("platforms") or ():
            self.monitor(platform)
        return self.finish()

    # -- one platform -----------------------------------------------------

    def monitor(self, platform: str) -> None:
        if platform in NO_READ_API:
            return self.read_row(platform, "MONITOR_UNSUPPORTED", "blocked",
                                 NO_READ_API[platform],
                                 reason_code="UNSUPPORTED_AUTH")
        if not self.settings.enabled.get(platform, False):
            return self.read_row(platform, "MONITOR_SKIPPED", "skipped",
                                 f"ENABLE_{platform.upper()} is false")
        if platform not in self.valid:
            return self.read_row(platform, "MONITOR_SKIPPED", "blocked",
                                 "circuit breaker open or preflight failed; "
                                 "nothing read, open mentions wait",
                                 reason_code="PLATFORM_SKIPPED")
        connector = self.connector(platform)
        if not connector.can_read_mentions:
            if platform == "x":
                return self.read_row(
                    platform, "MONITOR_SKIPPED", "skipped",
                    "X bills every read; set read_mentions: true under "
                    "platforms.x in platforms.yaml to read mentions")
            return self.read_row(platform, "MONITOR_UNSUPPORTED", "blocked",
                                 f"{platform} cannot read mentions",
                                 reason_code="UNSUPPORTED_AUTH")

        self.read_new(platform, connector)
        self.answer_open(platform)

    def read_new(self, platform: str, connector) -> None:
        """Read, record every mention, then move the cursor."""
        from marketing_ops.platforms.base import ReadFailed, Unsupported

        stored = self.cursors.load(platform)
        if stored.problem:
            self.record("CURSOR_RESET", "failed", stored.problem,
                        platform=platform, event_type="ERROR")
        try:
            mentions, new_cursor = connector.read_mentions(stored.cursor)
        except Unsupported as exc:
            return self.read_row(platform, "MONITOR_UNSUPPORTED", "blocked",
                                 str(exc), reason_code="UNSUPPORTED_AUTH")
        except ReadFailed as exc:
            return self.read_row(platform, "MENTIONS_READ", "failed",
                                 f"could not read mentions: {exc.detail}; "
                                 "the cursor stays, nothing is skipped",
                                 reason_code=exc.reason_code)
        except Exception as exc:   # a connector bug must not end the run
            logger.warning("%s: reading mentions failed: %s", platform, exc)
            return self.read_row(platform, "MENTIONS_READ", "failed",
                                 f"could not read mentions: {exc}; the "
                                 "cursor stays, nothing is skipped",
                                 reason_code="PLATFORM_ERROR")

        new = sum(self.record_seen(m) for m in mentions)
        # Only now: every mention the new cursor moves past is in the
        # ledger, so a crash before this line re-reads, never skips.
        if new_cursor != stored.cursor:
            self.cursors.save(platform, new_cursor)
        self.read_row(platform, "MENTIONS_READ", "success",
                      f"{len(mentions)} read, {new} new",
                      details={"read": len(mentions), "new": new})

    def record_seen(self, mention) -> bool:
        """Record one mention once.  Returns False when it was recorded
        before (an overlapping run, or a cursor that did not move)."""
        rule = matching_rule(self.community.get("rules"), mention)
        message = (f"{mention.author or 'someone'} on {mention.platform}: "
                   + (f"rule {rule['id']} matches" if rule else
                      "no reply rule matched; left for a human"))
        try:
            self.ledger.record(
                action="MENTION_SEEN", status="success",
                platform=mention.platform, draft=subject_of(mention),
                message=message, permalink=mention.url,
                details={"mention": mention_to_dict(mention),
                         "rule": rule["id"] if rule else None},
                dedupe_key=subject_of(mention))
        except sqlite3.IntegrityError:
            return False
        return True

    def answer_open(self, platform: str) -> None:
        for event in open_mentions(self.ledger, platform,
                                   self.backlog_since):
            if self.summary.stopped or platform not in self.valid:
                return
            mention = mention_from_dict(event["details"]["mention"])
            result = self.answer(mention, event["details"].get("rule"))
            if result is not None:
                self.summary.posts.append(result)
            if result is not None and result.reason_code == \
                    "BUDGET_EXHAUSTED":
                return   # the rest wait for tomorrow's budget

    # -- one mention ------------------------------------------------------

    def answer(self, mention, rule_id: str | None) -> PostResult | None:
        platform, subject = mention.platform, subject_of(mention)

        rule = next((r for r in self.community.get("rules") or ()
                     if r["id"] == rule_id), None)
        if rule is None:
            return self.close(mention, f"reply rule {rule_id!r} is no "
                              "longer configured; left for a human")
        if failed_attempts(self.ledger.conn, platform, subject) >= \
                MAX_REPLY_ATTEMPTS:
            return self.close(mention, f"{MAX_REPLY_ATTEMPTS} replies "
                              "failed; giving up, left for a human",
                              status="failed")

        stopped = stop_reason(self.settings)
        if stopped and not self.dry_run:
            self.summary.stopped = stopped
            return None

        used = self.budget_used(platform)
        limit = self.settings.max_live_replies_per_platform
        if used >= limit:
            return self.blocked(mention, "REPLY_BUDGET",
                                f"reply budget used: {used} of {limit} "
                                "today; answered by a later run",
                                reason_code="BUDGET_EXHAUSTED")

        self.record("APPROVAL", "success", f"auto-approved reply by rule "
                    f"{rule['id']} (no human gate)", platform=platform,
                    draft=subject)

        text = fill_template(rule["reply"], {
            "author": mention.author or "there", "platform": platform,
            "project": self.community.get("project", ""),
            "url": mention.url or ""})
        try:
            rendered = self.connector(platform).render_reply(mention, text)
        except Exception as exc:   # a connector bug must not end the run
            logger.warning("%s: could not render a reply: %s", platform, exc)
            return self.blocked(mention, "RENDER", f"could not render the "
                                f"reply: {exc}", status="failed",
                                reason_code="INVALID_CONTENT")

        strangers = foreign_handles(rendered.plain_text, mention.author)
        if strangers:
            self.blocked(mention, "POLICY_VERDICT", "the reply would mention "
                         f"{', '.join(strangers)}, who did not ask; fix rule "
                         f"{rule['id']}", reason_code="POLICY_DENIED")
            return self.close(mention, "reply would mention others",
                              preview=_preview(rendered), status="blocked")

        thread = mention.thread_id or mention.id
        in_thread = replied_in_thread(self.ledger.conn, platform, thread,
                                      except_subject=subject)
        verdict = self.policy_verdict(rendered, mention, in_thread)
        self.record("POLICY_VERDICT",
                    "success" if verdict.allowed else "blocked",
                    _verdict_text(verdict), platform=platform, draft=subject,
                    details={"rules": verdict.decided_by,
                             "reasons": verdict.reasons,
                             "addressed_us": mention.addressed_us,
                             "already_replied_in_thread": in_thread})
        if not verdict.allowed:
            reason = "policy: " + _verdict_text(verdict)
            if not mention.addressed_us or in_thread:
                # Permanent: nobody will address us in this mention later,
                # and the thread's reply is out.  Other denials (quiet
                # hours...) leave the mention open for a later run.
                return self.close(mention, reason, status="blocked",
                                  preview=_preview(rendered))
            return PostResult(subject, platform, "blocked", reason,
                              reason_code="POLICY_DENIED",
                              preview=_preview(rendered))

        if self.dry_run:
            return self.dry_run_result(mention, rendered, rule)
        return self.send(mention, rendered, rule, thread)

    def send(self, mention, rendered, rule, thread: str) -> PostResult:
        platform, subject = mention.platform, subject_of(mention)

        def inside_claim():
            # Runs under the ledger's write lock, right before the intent
            # is written: a pause or another run's reply in this thread
            # recorded before this point is always seen.
            reason = stop_reason(self.settings)
            if reason:
                return reason
            if replied_in_thread(self.ledger.conn, platform, thread,
                                 except_subject=subject):
                raise _ThreadAnswered()
            return None

        try:
            claim = budget.claim(
                self.ledger, platform=platform, subject=subject,
                kind="reply", limit=self.settings.max_live_replies_per_platform,
                since=self.window_since, stop_check=inside_claim,
                message=f"about to reply to {mention.author} on {platform} "
                        f"(rule {rule['id']})",
                details={"thread": thread, "rule": rule["id"],
                         "text": rendered.plain_text,
                         "in_reply_to": mention.url})
        except _ThreadAnswered:
            return self.close(mention, "another run replied in this thread "
                              "a moment ago (one reply per thread)",
                              status="blocked", preview=_preview(rendered))
        if isinstance(claim, budget.Refusal):
            return self.refused(mention, claim)

        try:
            outcome = self.connector(platform).reply(mention, rendered)
        except Exception as exc:
            # Whatever happened, the reply may have gone out: unknown,
            # never sent again automatically.
            from marketing_ops.platforms.base import NETWORK_ERROR, Outcome
            outcome = Outcome.unknown(NETWORK_ERROR,
                                      f"connector error: {exc}")

        status = budget.LEDGER_STATUS[outcome.status]
        message = (f"replied to {mention.author} on {platform}"
                   if status == "success" else
                   f"{outcome.status}: {outcome.detail}")
        if status == "unknown":
            message += "; not sent again — check the thread by hand"
        budget.record_outcome(
            self.ledger, claim, kind="reply", platform=platform,
            subject=subject, status=status, message=message,
            reason_code=outcome.reason_code, permalink=outcome.permalink,
            details={"remote_id": outcome.remote_id,
                     "retry_after": outcome.retry_after,
                     "plain_text": rendered.plain_text, "kind": "reply"})
        if status == "failed":
            self.after_failure(platform, outcome)
        return PostResult(subject, platform,
                          "replied" if status == "success" else status,
                          "" if status == "success" else outcome.detail,
                          permalink=outcome.permalink,
                          reason_code=outcome.reason_code,
                          preview=_preview(rendered))

    def refused(self, mention, refusal) -> PostResult | None:
        subject = subject_of(mention)
        if refusal.reason == "stopped":
            self.summary.stopped = refusal.detail
            self.record("KILL_SWITCH", "blocked",
                        f"replies stopped mid-run: {refusal.detail}; no "
                        "further replies", platform=mention.platform,
                        draft=subject)
            return PostResult(subject, mention.platform, "blocked",
                              f"kill switch: {refusal.detail}")
        if refusal.reason == "budget":
            return self.blocked(mention, "REPLY_BUDGET", refusal.detail,
                                reason_code="BUDGET_EXHAUSTED")
        # "pending" or "done": an overlapping run has it; that run reports.
        return None

    def dry_run_result(self, mention, rendered, rule) -> PostResult:
        platform, subject = mention.platform, subject_of(mention)
        self._dry_run_used[platform] = self._dry_run_used.get(platform, 0) + 1
        self.record("REPLY_RESULT", "dry_run",
                    f"dry run: would reply to {mention.author} on "
                    f"{platform} (rule {rule['id']}, budget "
                    f"{self.budget_used(platform)} of "
                    f"{self.settings.max_live_replies_per_platform})",
                    platform=platform, draft=subject,
                    details={"text": rendered.plain_text,
                             "measures": {k: list(v) for k, v in
                                          rendered.measures.items()}})
        return PostResult(subject, platform, "dry_run", "would reply",
                          preview=_preview(rendered))

    def after_failure(self, platform: str, outcome) -> None:
        """Credentials revoked or a rate limit mid-run: open the breaker
        and leave the platform alone for the rest of the run."""
        from marketing_ops.platforms.base import BREAKER_REASONS
        from marketing_ops.safety import circuit

        if outcome.reason_code in BREAKER_REASONS:
            circuit.open_breaker(
                self.settings, self.ledger, platform, outcome.reason_code,
                outcome.detail,
                self.connector(platform).credential_fingerprint(),
                platforms_config=self.config.platforms)
            self.valid.discard(platform)

    # -- helpers ----------------------------------------------------------

    def policy_verdict(self, rendered, mention, in_thread: bool):
        from marketing_ops.safety.policy import PolicyContext, evaluate

        flags = {"addressed_us": bool(mention.addressed_us),
                 "already_replied_in_thread": in_thread}
        context = PolicyContext.from_ledger(self.ledger, self.now,
                                            kind="reply", **flags)
        return evaluate(self.config.policy, rendered, context)

    def budget_used(self, platform: str) -> int:
        used = budget.budget_used(self.ledger.conn, platform, "reply",
                                  self.window_since)
        return used + self._dry_run_used.get(platform, 0)

    def connector(self, platform: str):
        if platform not in self.connectors:
            from marketing_ops.platforms.base import get_connector
            self.connectors[platform] = get_connector(
                platform, self.settings, self.config.platforms)
        return self.connectors[platform]

    def close(self, mention, reason: str, *, status: str = "skipped",
              preview: str = "") -> PostResult:
        """Settle a mention for good: later runs leave it alone."""
        subject = subject_of(mention)
        try:
            self.ledger.record(action="MENTION_CLOSED", status=status,
                               platform=mention.platform, draft=subject,
                               message=reason,
                               dedupe_key=f"closed:{subject}")
        except sqlite3.IntegrityError:
            pass   # an overlapping run closed it first
        return PostResult(subject, mention.platform, status, reason,
                          preview=preview)

    def blocked(self, mention, action, reason, *, status="blocked",
                reason_code=None) -> PostResult:
        subject = subject_of(mention)
        self.record(action, status, reason, platform=mention.platform,
                    draft=subject, reason_code=reason_code)
        return PostResult(subject, mention.platform, status, reason,
                          reason_code=reason_code)

    def read_row(self, platform, action, status, detail, *,
                 reason_code=None, details=None) -> None:
        self.record(action, status, detail, platform=platform,
                    reason_code=reason_code, details=details)
        self.summary.reads.append({"platform": platform, "status": status,
                                   "detail": detail,
                                   "reason_code": reason_code})

    def record(self, action, status, message, **fields) -> None:
        self.ledger.record(action=action, status=status, message=message,
                           **fields)

    def finish(self) -> CommunitySummary:
        return close_run(self.settings, self.ledger, self.summary,
                         idle="no replies")


def run_community(settings, config, ledger, *, dry_run: bool,
                  now: datetime | None = None) -> CommunitySummary:
    """``marketing-ops run community``: one run; see the module docstring."""
    return Community(settings, config, ledger, dry_run=dry_run,
                     now=now).run()


def _verdict_text(verdict) -> str:
    if verdict.allowed:
        return "allowed"
    return "; ".join(verdict.reasons) or ", ".join(verdict.decided_by)


def _preview(rendered) -> str:
    text = " ".join((rendered.plain_text or "").split())
    return text[:80] + ("…" if len(text) > 80 else "")
