"""The community agent against the sandbox over real HTTP: reading
mentions, replying exactly once across crashes and overlapping runs, the
reply budget, the policy, unsupported platforms, and community.yaml's
located errors."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
import yaml

from marketing_ops.agents.community import (fill_template, foreign_handles,
                                            run_community, text_matches)
from marketing_ops.config import load_config
from marketing_ops.config.settings import load_settings
from marketing_ops.cursors import CursorStore
from marketing_ops.errors import ConfigErrors
from marketing_ops.moltbook import Moltbook, new_run_id, open_ledger
from marketing_ops.runlock import hold_run
from marketing_ops.sandbox import accounts

ADDRESSED = f"@{accounts.GITHUB_LOGIN} how do I install this on Debian?"

RULES = {
    "platforms": ["github", "telegram", "reddit", "x", "discord"],
    "project": "sandbox-project",
    "backlog_days": 3,
    "rules": [
        {"id": "install-help",
         "match": {"any": ["install", "setup"]},
         "reply": "Hi {author}, the install steps are in the README."},
        {"id": "bug", "platforms": ["telegram", "reddit", "x"],
         "match": {"any": ["bug"]},
         "reply": "Thanks {author}, please open an issue for it."},
    ],
}


@pytest.fixture
def community(tmp_path, sandbox):
    """A factory: ``community(rules=..., x_reads=False, **env)`` writes a
    configuration pointed at the sandbox and returns (settings, config)."""
    from marketing_ops.demo import write_demo_config

    def build(rules=None, x_reads=False, **env):
        config_dir = write_demo_config(tmp_path, sandbox, drafts={},
                                       env_overrides=env)
        (config_dir / "community.yaml").write_text(
            yaml.safe_dump(rules or RULES, sort_keys=False))
        if x_reads:
            path = config_dir / "platforms.yaml"
            platforms = yaml.safe_load(path.read_text())
            platforms["platforms"]["x"]["read_mentions"] = True
            path.write_text(yaml.safe_dump(platforms, sort_keys=False))
        settings = load_settings(config_dir, tmp_path / "state", environ={})
        return settings, load_config(settings)

    return build


def run(settings, config, *, dry_run=False, now=None):
    run_id = new_run_id()
    with hold_run(settings.state_dir, run_id), open_ledger(
            settings, agent="community", run_id=run_id) as ledger:
        return run_community(settings, config, ledger, dry_run=dry_run,
                             now=now)


def events(settings, **filters):
    with Moltbook(settings.ledger_path) as ledger:
        return ledger.query(**filters)


def replies(sandbox, platform=None):
    return [p for p in sandbox.posts
            if p["kind"] == "reply" and (platform is None
                                         or p["platform"] == platform)]


def seed_github(sandbox, count, text=ADDRESSED, **fields):
    return [sandbox.seed_mention("github", text,
                                 author=f"person-{i}", **fields)
            for i in range(count)]


# -- one run, a re-run ------------------------------------------------------

def test_every_platform_answered_once_and_rerun_answers_nothing(
        community, sandbox):
    settings, config = community(x_reads=True)
    sandbox.seed_mention("github", ADDRESSED, author="alice")
    sandbox.seed_mention("telegram",
                         f"@{accounts.TELEGRAM_BOT_USERNAME} found a bug")
    sandbox.seed_mention("reddit", "how do I install it?",
                         kind="username_mention")
    sandbox.seed_mention("x", f"@{accounts.X_USERNAME} setup fails")

    first = run(settings, config)
    assert Counter(r.status for r in first.posts) == {"replied": 4}
    assert Counter(p["platform"] for p in replies(sandbox)) == {
        "github": 1, "telegram": 1, "reddit": 1, "x": 1}
    github_reply = replies(sandbox, "github")[0]
    assert github_reply["text"] == ("Hi alice, the install steps are in the "
                                    "README.")
    results = events(settings, action="REPLY_RESULT", status="success")
    # X has two permalink forms; the ids are what must agree.
    assert sorted(e["details"]["remote_id"] for e in results) == sorted(
        p["remote_id"] for p in replies(sandbox))
    assert first.exit_code == 0

    # The cursors moved, and a re-run reads nothing new and sends nothing.
    for platform in ("github", "telegram", "reddit", "x"):
        assert CursorStore(settings.state_dir).load(platform).cursor
    second = run(settings, config)
    assert second.posts == []
    assert len(replies(sandbox)) == 4
    assert len(events(settings, action="MENTION_SEEN")) == 4


def test_cursor_lost_mentions_are_recorded_once_and_not_answered_again(
        community, sandbox):
    settings, config = community()
    seed_github(sandbox, 2)
    run(settings, config)
    assert len(replies(sandbox)) == 2

    # A deleted cursor makes the monitor read everything again: the ledger
    # recognises every mention and the claim refuses a second reply.
    (settings.state_dir / "cursors" / "github.json").write_text("{broken")
    again = run(settings, config)
    assert len(replies(sandbox)) == 2
    assert len(events(settings, action="MENTION_SEEN")) == 2
    assert events(settings, action="CURSOR_RESET")
    assert [r for r in again.reads if r["platform"] == "github"][0][
        "detail"] == "2 read, 0 new"


# -- crash and overlap ------------------------------------------------------

def test_crash_between_reply_and_its_record_never_answers_twice(
        community, sandbox):
    """SIGKILL the agent (a real process) after the sandbox accepted its
    first reply but before the reply's result reached the ledger: the
    re-run settles that reply as unknown without sending it again and
    answers the rest, so every mention gets exactly one reply."""
    settings, config = community(MAX_LIVE_REPLIES_PER_PLATFORM="10")
    seeded = seed_github(sandbox, 3)
    # The reply call takes a moment, so the test surely holds the ledger
    # before the agent can record the reply's result.
    sandbox.inject("github", "reply", "latency", times=None, seconds=1.0)

    process = subprocess.Popen(
        [sys.executable, "-c",
         "import sys; from marketing_ops.cli import main; sys.exit(main())",
         "--config-dir", str(settings.config_dir),
         "--state-dir", str(settings.state_dir), "run", "community"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.getcwd()})
    lock = _hold_ledger_after_first_intent(settings, process)
    try:
        _wait_for(lambda: len(replies(sandbox)) == 1, "the first reply")
        # The agent now waits for the write lock to record the result.
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert events(settings, action="REPLY_RESULT") == []

    rerun = run(settings, config)
    statuses = Counter(r.status for r in rerun.posts + rerun.reconciled)
    assert statuses == {"replied": 2, "unknown": 1}

    answered = Counter(p["in_reply_to"] for p in replies(sandbox))
    assert sorted(answered) == sorted(
        f"issue#{c['issue_url'].rsplit('/', 1)[1]}" for c in seeded)
    assert set(answered.values()) == {1}

    assert run(settings, config).posts == []
    assert len(replies(sandbox)) == 3


def _hold_ledger_after_first_intent(settings, process):
    """Take the ledger's write lock the moment the first reply intent is
    committed, so the agent cannot record anything after it."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError("the agent ended early: "
                                 + process.stderr.read().decode())
        if settings.ledger_path.exists():
            conn = sqlite3.connect(settings.ledger_path, timeout=30,
                                   isolation_level=None)
            try:
                conn.execute("BEGIN IMMEDIATE")
                found = conn.execute(
                    "SELECT count(*) FROM events WHERE action = "
                    "'REPLY_INTENT'").fetchone()[0]
            except sqlite3.OperationalError:
                found = 0   # tables not created yet
                conn.execute("ROLLBACK") if conn.in_transaction else None
                conn.close()
                time.sleep(0.01)
                continue
            if found:
                return conn
            conn.execute("ROLLBACK")
            conn.close()
        time.sleep(0.005)
    raise AssertionError("the agent never recorded a reply intent")


def _wait_for(condition, what, seconds=15.0):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def test_overlapping_runs_answer_each_mention_at_most_once(
        community, sandbox):
    settings, config = community(MAX_LIVE_REPLIES_PER_PLATFORM="20")
    seed_github(sandbox, 6)
    # Slow replies keep both runs inside their reply loops together.
    sandbox.inject("github", "reply", "latency", times=None, seconds=0.1)

    start = threading.Barrier(2)
    summaries, errors = [], []

    def one_run():
        try:
            start.wait()
            summaries.append(run(settings, config))
        except Exception as exc:   # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=one_run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []

    answered = Counter(p["in_reply_to"] for p in replies(sandbox))
    assert len(answered) == 6
    assert set(answered.values()) == {1}
    replied = [r for s in summaries for r in s.posts
               if r.status == "replied"]
    assert len(replied) == 6

    # The runs did overlap: both took some mention through the gates up to
    # the claim, where the ledger let only one of them reply.
    runs_per_mention = Counter(
        e["draft"] for e in {(e["draft"], e["run_id"]): e for e in
                             events(settings, action="APPROVAL")}.values())
    assert max(runs_per_mention.values()) == 2


# -- budget, policy, kill switch, dry run -------------------------------------

def test_reply_budget_caps_replies_and_the_rest_stay_open(
        community, sandbox):
    settings, config = community(MAX_LIVE_REPLIES_PER_PLATFORM="1")
    seed_github(sandbox, 3)

    first = run(settings, config)
    assert len(replies(sandbox)) == 1
    assert [r.reason_code for r in first.posts if r.status == "blocked"] \
        == ["BUDGET_EXHAUSTED"]
    assert events(settings, action="REPLY_BUDGET", status="blocked")

    run(settings, config)
    assert len(replies(sandbox)) == 1

    # The deferred mentions stay open: with budget for one more reply
    # (as on the next day), the next one in line is answered, and only it.
    settings, config = community(MAX_LIVE_REPLIES_PER_PLATFORM="2")
    later = run(settings, config)
    assert len(replies(sandbox)) == 2
    assert [r.status for r in later.posts] == ["replied", "blocked"]


def test_policy_blocks_replies_to_people_who_did_not_address_us(
        community, sandbox):
    settings, config = community()
    sandbox.seed_mention("github", "how do I install this thing?",
                         author="bystander")

    summary = run(settings, config)
    assert replies(sandbox) == []
    [result] = summary.posts
    assert result.status == "blocked"
    assert "replies-when-addressed" in result.reason
    [verdict] = events(settings, action="POLICY_VERDICT")
    assert verdict["status"] == "blocked"
    assert verdict["details"]["addressed_us"] is False
    assert events(settings, action="MENTION_CLOSED")

    # Closed for good: a later run does not evaluate it again.
    assert run(settings, config).posts == []
    assert len(events(settings, action="POLICY_VERDICT")) == 1


def test_one_reply_per_thread(community, sandbox):
    settings, config = community(MAX_LIVE_REPLIES_PER_PLATFORM="10")
    [first] = seed_github(sandbox, 1)
    number = int(first["issue_url"].rsplit("/", 1)[1])
    sandbox.seed_mention("github", ADDRESSED, author="second-person",
                         issue_number=number)

    summary = run(settings, config)
    assert len(replies(sandbox)) == 1
    assert Counter(r.status for r in summary.posts) == {"replied": 1,
                                                        "blocked": 1}
    blocked = [e for e in events(settings, action="POLICY_VERDICT")
               if e["status"] == "blocked"]
    assert blocked[0]["details"]["already_replied_in_thread"] is True


def test_mentions_without_a_matching_rule_are_only_recorded(
        community, sandbox):
    settings, config = community()
    sandbox.seed_mention("github", f"@{accounts.GITHUB_LOGIN} nice logo",
                         author="fan")
    summary = run(settings, config)
    assert summary.posts == [] and replies(sandbox) == []
    [seen] = events(settings, action="MENTION_SEEN")
    assert seen["details"]["rule"] is None
    assert "no reply rule matched" in seen["message"]


def test_stop_all_stops_replies_but_mentions_are_answered_after_resume(
        community, sandbox):
    settings, config = community()
    seed_github(sandbox, 1)
    settings.stop_file.write_text("reason: checking a complaint\n")

    paused = run(settings, config)
    assert replies(sandbox) == []
    assert "checking a complaint" in paused.stopped
    assert len(events(settings, action="MENTION_SEEN")) == 1

    settings.stop_file.unlink()
    resumed = run(settings, config)
    assert [r.status for r in resumed.posts] == ["replied"]
    assert len(replies(sandbox)) == 1


def test_dry_run_never_replies_and_leaves_mentions_for_the_live_run(
        community, sandbox):
    settings, config = community()
    seed_github(sandbox, 2)

    dry = run(settings, config, dry_run=True)
    assert replies(sandbox) == []
    assert [r.status for r in dry.posts] == ["dry_run", "dry_run"]
    assert events(settings, action="REPLY_INTENT") == []
    assert len(events(settings, action="REPLY_RESULT", status="dry_run")) \
        == 2

    live = run(settings, config)
    assert [r.status for r in live.posts] == ["replied", "replied"]


def test_revoked_credentials_mid_run_open_the_breaker(community, sandbox):
    settings, config = community(MAX_LIVE_REPLIES_PER_PLATFORM="10")
    seed_github(sandbox, 2)
    sandbox.inject("github", "reply", "revoke")

    summary = run(settings, config)
    [failed] = [r for r in summary.posts if r.status == "failed"]
    assert failed.reason_code == "AUTH_FAILED"
    assert len(summary.posts) == 1     # the platform is left alone after
    assert (settings.state_dir / "circuit_github.lock").exists()
    assert summary.exit_code == 1


# -- platforms that cannot be read ---------------------------------------------

def test_discord_is_reported_unsupported_and_x_reads_are_opt_in(
        community, sandbox):
    settings, config = community()
    sandbox.seed_mention("x", f"@{accounts.X_USERNAME} setup question")

    summary = run(settings, config)
    reads = {r["platform"]: r for r in summary.reads}
    assert reads["discord"]["status"] == "blocked"
    assert reads["discord"]["reason_code"] == "UNSUPPORTED_AUTH"
    assert "webhook cannot read" in reads["discord"]["detail"]
    [event] = events(settings, action="MONITOR_UNSUPPORTED")
    assert event["platform"] == "discord" and event["status"] == "blocked"

    assert reads["x"]["status"] == "skipped"
    assert "read_mentions" in reads["x"]["detail"]
    assert replies(sandbox) == []
    assert summary.exit_code == 0


def test_report_and_events_hold_no_secret(community, sandbox):
    settings, config = community()
    seed_github(sandbox, 1)
    summary = run(settings, config)
    report = open(summary.report_path, encoding="utf-8").read()
    ledger = settings.ledger_path.read_bytes()
    for secret in settings.secret_values():
        assert secret not in report
        assert secret.encode() not in ledger


# -- rules and templates -------------------------------------------------------

def test_keywords_match_whole_words_and_patterns_case_insensitively():
    assert text_matches({"any": ["install"]}, "How to INSTALL it?")
    assert not text_matches({"any": ["install"]}, "the installer broke")
    assert text_matches({"all": ["pip", "error"]}, "pip gives an error")
    assert not text_matches({"all": ["pip", "error"]}, "pip works")
    assert text_matches({"patterns": [r"v\d+\.\d+"]}, "on V1.4 now")
    assert not text_matches({"patterns": [r"v\d+"], "case_sensitive": True},
                            "on V1")
    assert text_matches({"any": ["c++"]}, "bindings for C++?")


def test_templates_fill_only_the_fixed_fields():
    values = {"author": "ann", "platform": "github", "project": "p",
              "url": "u"}
    assert fill_template("Hi {author} on {platform} {{x}}", values) == \
        "Hi ann on github {x}"
    assert fill_template("{author.__class__}", values) == \
        "{author.__class__}"


def test_replies_may_not_mention_anyone_but_the_author():
    assert foreign_handles("thanks @ann, ask @bob", "ann") == ["@bob"]
    assert foreign_handles("mail me at a@b.org", "ann") == []


# -- community.yaml errors -----------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("platforms: [github]\nrulez: []\n",
     "community.yaml:2:1: rulez: unknown key; did you mean 'rules'?"),
    ("platforms: [github]\nbacklog_days: three\nrules: []\n",
     "community.yaml:2:15: backlog_days: 'three' is not of type 'integer'"),
    ("platforms: [github]\nrules:\n  - id: a\n    match: {any: [x]}\n"
     "    reply: 'Hi {authr}'\n",
     "community.yaml:5:12: rules[0].reply: 'Hi {authr}': a reply may use "
     "only {author}, {platform}, {project} and {url}"),
    ("platforms: [github]\nrules:\n  - id: a\n    match: {patterns: ['(']}\n"
     "    reply: hi\n",
     "community.yaml:4:24: rules[0].match.patterns[0]: '(' is not a 'regex'"),
    ("platforms: [github]\nrules:\n  - id: a\n    match: {any: [x]}\n"
     "    replies: hi\n",
     "community.yaml:5:5: rules[0].replies: unknown key; did you mean "
     "'reply'?"),
])
def test_community_yaml_errors_are_located_single_lines(tmp_path, text,
                                                        expected):
    from marketing_ops.config.yamlfile import load_yaml

    path = tmp_path / "community.yaml"
    path.write_text(text)
    with pytest.raises(ConfigErrors) as caught:
        load_yaml(path, "community")
    messages = [str(e) for e in caught.value.errors]
    assert any(expected in m for m in messages), messages
    assert all("\n" not in m for m in messages)


def test_the_shipped_community_yaml_is_valid():
    from marketing_ops.config.yamlfile import load_yaml
    from marketing_ops.resources import example_config_dir

    data = load_yaml(example_config_dir() / "community.yaml", "community")
    assert [r["id"] for r in data["rules"]]
