"""Whole distribution runs against the sandbox: every path a draft can take
from the queue to a post, and the guarantees around it."""

from __future__ import annotations

import json
import threading

from marketing_ops.agents import run_agent
from marketing_ops.agents.distribution import build_plan
from marketing_ops.moltbook import Moltbook, new_run_id, open_ledger
from marketing_ops.runlock import hold_run


def run(settings, config, *, dry_run=False, agent="orchestrator"):
    run_id = new_run_id()
    with hold_run(settings.state_dir, run_id), open_ledger(
            settings, agent=agent, run_id=run_id) as ledger:
        return run_agent(agent, settings, config, ledger, dry_run=dry_run)


def events(settings, **filters):
    with Moltbook(settings.ledger_path) as ledger:
        return ledger.query(**filters)


def by_key(summary):
    return {(p.draft, p.platform): p for p in summary.posts}


def test_demo_run_publishes_blocks_holds_and_opens_hn_breaker(
        workspace, sandbox):
    settings, config = workspace()
    summary = run(settings, config)
    posts = by_key(summary)

    for platform in ("github", "telegram", "x", "reddit"):
        result = posts[("launch-v1", platform)]
        assert result.status == "published", result
        assert result.permalink.startswith("http")
    assert posts[("follow-up-tips", "discord")].status == "published"
    assert posts[("launch-v1", "discord")].status == "blocked"
    assert "budget" in posts[("launch-v1", "discord")].reason
    assert posts[("airdrop-hype", "telegram")].status == "blocked"
    assert posts[("airdrop-hype", "telegram")].reason.startswith("policy")
    assert posts[("launch-v1", "hn")].status == "blocked"

    # What the sandbox received is exactly what the summary claims (X has
    # two permalink forms for one post: compare the ids at the end).
    def post_id(url):
        return url.rstrip("/").rsplit("/", 1)[-1]
    recorded = sorted((p["platform"], post_id(p["permalink"]))
                      for p in sandbox.posts)
    claimed = sorted((p.platform, post_id(p.permalink)) for p in summary.posts
                     if p.status == "published")
    assert recorded == claimed

    opened = events(settings, action="CIRCUIT_BREAKER_OPENED")
    assert [e["platform"] for e in opened] == ["hn"]
    assert opened[0]["reason_code"] == "UNSUPPORTED_AUTH"

    report = json.loads(open(summary.report_path).read())
    assert report["run_id"] == summary.run_id
    [final] = events(settings, action="RUN_SUMMARY")
    assert final["details"]["report"] == summary.report_path


def test_rerun_posts_nothing_twice_and_keeps_the_budget(workspace, sandbox):
    settings, config = workspace()
    run(settings, config)
    first = len(sandbox.posts)
    again = run(settings, config)
    assert len(sandbox.posts) == first
    assert not [p for p in again.posts if p.status == "published"]


def test_dry_run_sends_nothing_and_records_dry_run_results(
        workspace, sandbox):
    settings, config = workspace(DRY_RUN="true")
    summary = run(settings, config, dry_run=True)
    assert sandbox.posts == []
    assert any(p.status == "dry_run" for p in summary.posts)
    assert events(settings, action="PLATFORM_RESULT", status="success") == []
    assert events(settings, action="PUBLISH_INTENT") == []


def test_stop_all_stops_the_run_before_anything_is_sent(workspace, sandbox):
    settings, config = workspace()
    settings.stop_file.write_text("reason: testing\n")
    summary = run(settings, config)
    assert sandbox.posts == []
    assert summary.stopped and "testing" in summary.stopped
    assert events(settings, action="KILL_SWITCH", status="blocked")


def test_publish_enabled_false_stops_publishing(workspace, sandbox):
    settings, config = workspace(PUBLISH_ENABLED="false")
    summary = run(settings, config)
    assert sandbox.posts == []
    assert "PUBLISH_ENABLED" in summary.stopped


def test_connection_cut_after_post_is_unknown_and_never_reposted(
        workspace, sandbox):
    settings, config = workspace()
    sandbox.inject("telegram", "publish", "cut_after_record")
    summary = run(settings, config)
    assert by_key(summary)[("launch-v1", "telegram")].status == "unknown"
    assert len(sandbox.posts_for("telegram")) == 1

    run(settings, config)
    assert len(sandbox.posts_for("telegram")) == 1
    assert summary.exit_code == 1


def test_credentials_revoked_mid_run_open_the_breaker(workspace, sandbox):
    settings, config = workspace()
    sandbox.inject("x", "publish", "revoke")
    summary = run(settings, config)
    result = by_key(summary)[("launch-v1", "x")]
    assert result.status == "failed" and result.reason_code == "AUTH_FAILED"
    assert (settings.state_dir / "circuit_x.lock").exists()
    assert sandbox.posts_for("x") == []


def test_interrupted_intent_is_reconciled_from_the_platform(
        workspace, sandbox):
    """A run died after GitHub accepted the post and before the outcome was
    recorded.  The next run finds the post by its hidden marker instead of
    posting again."""
    from marketing_ops.drafts import load_drafts
    from marketing_ops.platforms.base import get_connector
    from marketing_ops.safety import budget

    settings, config = workspace()
    [draft] = [d for d in load_drafts(settings) if d.id == "launch-v1"]
    with Moltbook(settings.ledger_path, run_id="dead-run") as ledger:
        claim = budget.claim(ledger, platform="github", subject=draft.id,
                             kind="post", limit=1, since="1970",
                             details={"marker": "deadbeef00000000"})
    connector = get_connector("github", settings, config.platforms)
    outcome = connector.publish(connector.render(draft,
                                                 marker="deadbeef00000000"))
    assert outcome.status == "published" and claim.attempt == 1

    summary = run(settings, config)
    [reconciled] = summary.reconciled
    assert reconciled.status == "published"
    assert reconciled.permalink == outcome.permalink
    assert len(sandbox.posts_for("github")) == 1


def test_interrupted_intent_without_read_back_is_reported_unknown(
        workspace, sandbox):
    settings, config = workspace()
    from marketing_ops.safety import budget
    with Moltbook(settings.ledger_path, run_id="dead-run") as ledger:
        budget.claim(ledger, platform="discord", subject="launch-v1",
                     kind="post", limit=1, since="1970",
                     details={"marker": "0123456789abcdef"})
    summary = run(settings, config)
    [reconciled] = summary.reconciled
    assert reconciled.status == "unknown"
    assert "check by hand" in reconciled.reason
    assert sandbox.posts_for("discord") == [] or all(
        "launch" not in json.dumps(p) for p in sandbox.posts_for("discord"))


def test_two_runs_at_once_never_exceed_a_budget_or_post_twice(
        workspace, sandbox):
    settings, config = workspace(MAX_LIVE_POSTS_PER_PLATFORM="1")
    threads = [threading.Thread(target=run, args=(settings, config),
                                kwargs={"agent": agent})
               for agent in ("orchestrator", "distribution")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    per_platform = {}
    for post in sandbox.posts:
        per_platform[post["platform"]] = per_platform.get(
            post["platform"], 0) + 1
    assert per_platform and max(per_platform.values()) == 1


def test_plan_changes_nothing(workspace, sandbox):
    settings, config = workspace()
    run(settings, config)                      # some history to read
    ledger_before = settings.ledger_path.read_bytes()
    locks_before = sorted(p.name for p in settings.state_dir.glob("*.lock"))
    posts_before = sandbox.posts

    with Moltbook(settings.ledger_path, readonly=True) as ledger:
        rows = build_plan(settings, config, ledger)

    assert rows
    assert settings.ledger_path.read_bytes() == ledger_before
    assert sorted(p.name for p in settings.state_dir.glob("*.lock")) == \
        locks_before
    assert sandbox.posts == posts_before


def test_interrupted_x_post_is_found_by_its_text_when_reads_are_on(
        workspace, sandbox):
    """X has nowhere to hide a marker: reconciliation matches the exact
    text stored with the intent, when live reads are switched on."""
    import yaml

    from marketing_ops.config import load_config
    from marketing_ops.drafts import load_drafts
    from marketing_ops.platforms.base import get_connector
    from marketing_ops.safety import budget

    settings, _ = workspace()
    path = settings.config_dir / "platforms.yaml"
    data = yaml.safe_load(path.read_text())
    data["platforms"]["x"]["live_reconcile"] = True
    path.write_text(yaml.safe_dump(data))
    config = load_config(settings)

    [draft] = [d for d in load_drafts(settings) if d.id == "launch-v1"]
    connector = get_connector("x", settings, config.platforms)
    rendered = connector.render(draft, marker="feedface00000000")
    with Moltbook(settings.ledger_path, run_id="dead-run") as ledger:
        budget.claim(ledger, platform="x", subject=draft.id, kind="post",
                     limit=1, since="1970",
                     details={"marker": "feedface00000000",
                              "text": rendered.text})
    outcome = connector.publish(rendered)
    assert outcome.status == "published"

    summary = run(settings, config)
    [reconciled] = [r for r in summary.reconciled if r.platform == "x"]
    assert reconciled.status == "published"
    assert len(sandbox.posts_for("x")) == 1


def test_latest_release_is_announced_once_never_twice(workspace, sandbox):
    import yaml

    from marketing_ops.config import load_config

    settings, _ = workspace(drafts={}, MAX_LIVE_POSTS_PER_PLATFORM="5")
    path = settings.config_dir / "platforms.yaml"
    data = yaml.safe_load(path.read_text())
    data["platforms"]["github"]["announce_releases"] = True
    path.write_text(yaml.safe_dump(data))
    config = load_config(settings)
    sandbox.seed_release("v2.0.0", name="Version 2.0",
                         body="Faster preflight and quieter logs.")

    first = run(settings, config)
    published = {p.platform for p in first.posts
                 if p.draft == "release-v2.0.0" and p.status == "published"}
    assert published >= {"github", "telegram", "discord"}
    count = len(sandbox.posts)

    second = run(settings, config)
    assert len(sandbox.posts) == count
    assert not [p for p in second.posts if p.status == "published"]
    assert len(events(settings, action="RELEASE_CHECK",
                      status="success")) == 2


def test_an_unknown_outcome_waits_for_a_person_then_follows_the_answer(
        workspace, sandbox):
    """A cut connection leaves telegram unknown; nothing retries it until
    an operator says what they found."""
    import subprocess
    import sys

    from marketing_ops.safety import circuit

    settings, config = workspace()
    sandbox.inject("telegram", "publish", "cut_after_record")
    run(settings, config)
    sandbox.reset()                       # the channel lost the post
    with Moltbook(settings.ledger_path) as ledger:
        circuit.reset_breaker(settings, ledger, "telegram", "test")

    def resolve(*answer):
        return subprocess.run(
            [sys.executable, "-m", "marketing_ops.cli", "--config-dir",
             str(settings.config_dir), "resolve", "launch-v1", "telegram",
             *answer], capture_output=True, text=True, timeout=60)

    waiting = run(settings, config)
    assert ("launch-v1", "telegram") not in by_key(waiting)
    assert sandbox.posts_for("telegram") == []

    answered = resolve("--not-posted")
    assert answered.returncode == 0, answered.stderr
    again = run(settings, config)
    assert by_key(again)[("launch-v1", "telegram")].status == "published", \
        by_key(again)[("launch-v1", "telegram")]
    assert len(sandbox.posts_for("telegram")) == 1

    refused = resolve("--not-posted")
    assert refused.returncode == 2 and "no unknown outcome" in refused.stderr


def test_resolving_an_unknown_outcome_as_posted_settles_it(workspace,
                                                          sandbox):
    import subprocess
    import sys

    from marketing_ops.drafts import draft_states, load_drafts

    settings, config = workspace()
    sandbox.inject("discord", "publish", "cut_after_record")
    run(settings, config)
    answered = subprocess.run(
        [sys.executable, "-m", "marketing_ops.cli", "--config-dir",
         str(settings.config_dir), "resolve", "follow-up-tips", "discord",
         "--posted", "https://discord.com/channels/1/2/3"],
        capture_output=True, text=True, timeout=60)
    assert answered.returncode == 0, answered.stderr

    with Moltbook(settings.ledger_path) as ledger:
        states = draft_states(ledger, load_drafts(settings))
    state = states[("follow-up-tips", "discord")]
    assert state.name == "published"
    assert state.permalink == "https://discord.com/channels/1/2/3"
    run(settings, config)
    assert len(sandbox.posts_for("discord")) == 1
