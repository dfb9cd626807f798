"""``marketing-ops demo``: a whole run against the local sandbox.

A new user's first five minutes.  It starts the sandbox, writes a throwaway
configuration with the sandbox's (fake) credentials, and runs the
orchestrator for real: posts go out with permalinks, one draft is blocked by
the policy, one is held back by the budget, and Hacker News's circuit
breaker opens because it has no write API.  Nothing leaves this machine.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

DEMO_DRAFTS = {
    "launch.md": """\
---
id: launch-v1
title: marketing-ops 1.0 is out
platforms: [github, telegram, x, reddit, discord, hn]
tags: [release]
overrides:
  x:
    text: "marketing-ops 1.0 is out: an unattended publisher that checks \
everything before it posts. https://example.org/marketing-ops #opensource"
---
marketing-ops 1.0 publishes your project's announcements to GitHub,
Telegram, X, Reddit and Discord, and it is careful about it: credential
preflight, circuit breakers, kill switches, budgets, a policy engine and an
append-only ledger of every decision.

Read more: https://example.org/marketing-ops
""",
    "hype.md": """\
---
id: airdrop-hype
title: Guaranteed returns for every star!
platforms: [telegram]
---
Star the repository today for guaranteed returns. Limited airdrop!
""",
    "follow-up.md": """\
---
id: follow-up-tips
title: Five tips for your first week with marketing-ops
platforms: [discord]
---
Tip one: run `marketing-ops plan` before you turn publishing on.
https://example.org/marketing-ops/tips
""",
}


def command_demo(args) -> int:
    import logging

    from marketing_ops.sandbox.server import SandboxServer

    # The summary tells the story; per-call log lines would interleave.
    logging.getLogger().setLevel(logging.ERROR)

    workdir = Path(args.keep) if args.keep else Path(
        tempfile.mkdtemp(prefix="marketing-ops-demo-"))
    try:
        with SandboxServer() as sandbox:
            config_dir = write_demo_config(workdir, sandbox)
            print(f"Sandbox running at {sandbox.url} (fake GitHub, "
                  "Telegram, X, Reddit and Discord on this machine).")
            print(f"Throwaway configuration in {config_dir}\n")
            exit_code = run_demo(config_dir, workdir / "state", sandbox,
                                 kept=bool(args.keep))
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return exit_code


def write_demo_config(workdir: Path, sandbox, drafts=None,
                      env_overrides=None) -> Path:
    """Example configuration pointed at the sandbox, with the demo's three
    drafts (or ``drafts``: file name -> text) and the demo's .env
    (changed by ``env_overrides``).  The tests build on it too."""
    import yaml

    from marketing_ops.resources import example_config_dir

    config_dir = workdir / "config"
    (config_dir / "drafts").mkdir(parents=True, exist_ok=True)
    for source in example_config_dir().glob("*.yaml"):
        shutil.copy(source, config_dir / source.name)

    platforms = yaml.safe_load((config_dir / "platforms.yaml").read_text())
    for name, urls in sandbox.platform_urls().items():
        platforms["platforms"].setdefault(name, {}).update(urls)
    (config_dir / "platforms.yaml").write_text(
        yaml.safe_dump(platforms, sort_keys=False))

    # Quiet hours depend on the clock; the demo should show the same thing
    # at any hour, so its copy of the policy leaves them out.
    policy = yaml.safe_load((config_dir / "policy.yaml").read_text())
    policy["rules"] = [rule for rule in policy.get("rules", [])
                       if rule.get("kind") != "quiet_hours"]
    (config_dir / "policy.yaml").write_text(
        yaml.safe_dump(policy, sort_keys=False))

    env = {"PUBLISH_ENABLED": "true", "DRY_RUN": "false",
           "MAX_LIVE_POSTS_PER_PLATFORM": "1",
           "MAX_LIVE_REPLIES_PER_PLATFORM": "2", "ENABLE_HN": "true",
           "MARKETING_OPS_STATE_DIR": str(workdir / "state"),
           **sandbox.env(), **(env_overrides or {})}
    (config_dir / ".env").write_text(
        "# Written by marketing-ops demo: sandbox credentials only.\n"
        + "".join(f"{k}={_quote(v)}\n" for k, v in env.items()))
    for name, text in (DEMO_DRAFTS if drafts is None else drafts).items():
        (config_dir / "drafts" / name).write_text(text)
    return config_dir


def _quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"') \
        .replace("$", "\\$").replace("`", "\\`")
    return f'"{escaped}"'


def run_demo(config_dir: Path, state_dir: Path, sandbox,
             kept: bool = False) -> int:
    from marketing_ops.agents import run_agent
    from marketing_ops.config import load_config
    from marketing_ops.config.settings import load_settings
    from marketing_ops.moltbook import new_run_id, open_ledger
    from marketing_ops.runlock import hold_run
    from marketing_ops.views import print_stats

    settings = load_settings(config_dir, state_dir, environ={})
    config = load_config(settings)
    run_id = new_run_id()
    with hold_run(state_dir, run_id), open_ledger(
            settings, agent="orchestrator", run_id=run_id) as ledger:
        summary = run_agent("orchestrator", settings, config, ledger,
                            dry_run=False)
        lines = summary.lines()
        if not kept:
            # The throwaway folder, report included, is gone after the demo.
            lines = [line for line in lines if not line.startswith("Report:")]
        print("\n".join(lines))
        print()
        print(f"The sandbox recorded {len(sandbox.posts)} post(s):")
        for post in sandbox.posts:
            print(f"  {post['platform']:<9} {post.get('permalink') or ''}")
        print()
        print_stats(ledger.stats())

    print()
    print("Every decision above is an event in the ledger. To look around, "
          "keep the demo's files:")
    print("  marketing-ops demo --keep /tmp/mo-demo")
    print("  marketing-ops --config-dir /tmp/mo-demo/config events")
    print("  marketing-ops --config-dir /tmp/mo-demo/config plan")
    return summary.exit_code


def command_sandbox(args) -> int:
    """``marketing-ops sandbox serve``: the sandbox in the foreground."""
    from marketing_ops.sandbox.server import serve

    serve(args.host, args.port, latency=args.latency)
    return 0
