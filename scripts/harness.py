"""Shared pieces of the reliability drivers (fault matrix, crash harness,
concurrency, kill switch under load) and the benchmarks.

A *workspace* is a throwaway configuration pointed at a sandbox (built on
``marketing_ops.demo.write_demo_config``) with N generated drafts, each
aimed at the five publishing platforms, and a copy of the policy without
the rules that depend on the clock or on earlier posts (quiet hours,
minimum interval, no-repeat): those would hold most of a large queue back,
and the point here is what happens to posts that *do* go out.

Every generated draft carries its id in its text, so a post the sandbox
recorded can be traced back to its draft: that is how duplicates are
counted, from the platform's side rather than from the ledger's.
"""

from __future__ import annotations

import collections
import os
import re
import sqlite3
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:      # run as `python scripts/x.py`
    sys.path.insert(0, str(REPO))

PUBLISHERS = ("github", "telegram", "x", "reddit", "discord")

#: Policy rules that depend on the clock or on earlier posts.
CLOCK_AND_HISTORY_RULES = ("quiet_hours", "min_interval", "no_repeat")

_DRAFT_ID = re.compile(r"\b(rq-\d{5})\b")


def draft_id(number: int) -> str:
    return f"rq-{number:05d}"


def draft_text(number: int, platforms: Iterable[str] = PUBLISHERS) -> str:
    """One draft file's text.  The id appears in the title and the body,
    so every platform's rendering of it names the draft."""
    ident = draft_id(number)
    return (f"---\nid: {ident}\ntitle: Note {ident}\n"
            f"platforms: [{', '.join(platforms)}]\n---\n"
            f"Note {ident}: what changed this week, in one line.\n"
            f"Read more: https://example.org/notes/{ident}\n")


def make_drafts(count: int, platforms: Iterable[str] = PUBLISHERS,
                start: int = 1) -> dict[str, str]:
    platforms = tuple(platforms)
    return {f"{draft_id(n)}.md": draft_text(n, platforms)
            for n in range(start, start + count)}


def write_workspace(workdir: Path, sandbox, *, drafts: dict[str, str],
                    env: dict[str, str] | None = None,
                    request_timeout: float | None = None,
                    relax_policy: bool = True) -> tuple[Path, Path]:
    """Write the configuration; returns ``(config_dir, state_dir)``.

    ``sandbox`` is a ``SandboxServer`` or a ``SandboxClient`` (both answer
    ``env()`` and ``platform_urls()``)."""
    import yaml

    from marketing_ops.demo import write_demo_config

    environment = {"MAX_LIVE_POSTS_PER_PLATFORM": "1000",
                   "ENABLE_HN": "false", **(env or {})}
    config_dir = write_demo_config(Path(workdir), sandbox, drafts=drafts,
                                   env_overrides=environment)
    if relax_policy:
        policy_path = config_dir / "policy.yaml"
        policy = yaml.safe_load(policy_path.read_text())
        policy["rules"] = [r for r in policy["rules"]
                           if r.get("kind") not in CLOCK_AND_HISTORY_RULES]
        policy_path.write_text(yaml.safe_dump(policy, sort_keys=False))
    if request_timeout is not None:
        platforms_path = config_dir / "platforms.yaml"
        platforms = yaml.safe_load(platforms_path.read_text())
        platforms["request_timeout_seconds"] = request_timeout
        platforms_path.write_text(yaml.safe_dump(platforms, sort_keys=False))
    return config_dir, Path(workdir) / "state"


def cli_env(config_dir: Path, state_dir: Path) -> dict[str, str]:
    """The environment for a ``marketing-ops`` subprocess: the harness's
    own, minus every variable the package reads (the process environment
    wins over the .env, so a stray PUBLISH_ENABLED would change the run)."""
    from marketing_ops.config.settings import load_settings

    package_names = set(load_settings(config_dir, state_dir,
                                      environ={}).env)
    env = {k: v for k, v in os.environ.items()
           if k not in package_names and not k.startswith("ENABLE_")}
    env.update(MARKETING_OPS_CONFIG_DIR=str(config_dir),
               MARKETING_OPS_STATE_DIR=str(state_dir),
               PYTHONPATH=os.pathsep.join(
                   p for p in (str(REPO), os.environ.get("PYTHONPATH"))
                   if p))
    return env


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "marketing_ops.cli", *args]


# -- reading the outcome -----------------------------------------------------

def sandbox_counts(posts: list[dict[str, Any]], kind: str = "post"
                   ) -> collections.Counter:
    """Posts the sandbox accepted, per (draft id, platform)."""
    counts: collections.Counter = collections.Counter()
    for post in posts:
        if post.get("kind", "post") != kind:
            continue
        text = f"{post.get('title') or ''}\n{post.get('text') or ''}"
        match = _DRAFT_ID.search(text)
        counts[(match.group(1) if match else "?", post["platform"])] += 1
    return counts


def ledger_states(ledger_path: Path) -> dict[tuple[str, str], str]:
    """The outcome of the newest publish intent per (draft, platform):
    ``success``, ``failed``, ``unknown``, or ``pending`` (no outcome yet).
    Read-only; the ledger is not created when missing."""
    if not Path(ledger_path).exists():
        return {}
    conn = sqlite3.connect(f"file:{ledger_path}?mode=ro", uri=True,
                           timeout=30)
    try:
        rows = conn.execute(
            "SELECT i.draft, i.platform, r.status FROM events i "
            "LEFT JOIN events r ON r.dedupe_key = 'result:' || i.id "
            "WHERE i.action = 'PUBLISH_INTENT' ORDER BY i.id").fetchall()
    finally:
        conn.close()
    return {(draft, platform): status or "pending"
            for draft, platform, status in rows}


@dataclass
class Audit:
    """What the platforms hold against what the ledger says, per
    (draft, platform) that the queue asked for."""
    expected: int = 0
    published: int = 0
    unknown: int = 0               # reported unknown (the ledger says so)
    unknown_posted: int = 0        # ... of which the sandbox holds a post
    failed_or_queued: int = 0      # will be tried again next run
    duplicates: int = 0            # extra copies on a platform
    lost: int = 0                  # neither out, reported, nor queued
    problems: list[str] = field(default_factory=list)

    def merge(self, other: "Audit") -> None:
        for name in ("expected", "published", "unknown", "unknown_posted",
                     "failed_or_queued", "duplicates", "lost"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.problems.extend(other.problems)


def audit(expected: Iterable[tuple[str, str]], posts: list[dict[str, Any]],
          ledger_path: Path, *, settled: bool) -> Audit:
    """Compare the sandbox's record with the ledger.

    ``settled``: the queue has been rerun until nothing changes, so an
    item still queued there would never go out, and counts as lost."""
    counts = sandbox_counts(posts)
    states = ledger_states(ledger_path)
    result = Audit()
    for key in sorted(set(expected)):
        result.expected += 1
        posted, state = counts.get(key, 0), states.get(key)
        if posted > 1:
            result.duplicates += posted - 1
            result.problems.append(f"{key}: {posted} copies on the platform")
        if state == "success":
            result.published += 1
            if posted == 0:
                result.lost += 1
                result.problems.append(f"{key}: ledger says published, "
                                       "the platform has no post")
        elif state == "unknown":
            result.unknown += 1
            result.unknown_posted += posted > 0
        elif state in (None, "failed") and not settled:
            result.failed_or_queued += 1
        elif posted:
            result.lost += 1      # on the platform, not known to the ledger
            result.problems.append(f"{key}: posted, but the ledger says "
                                   f"{state or 'nothing'}")
        else:
            result.lost += 1
            result.problems.append(f"{key}: not posted and not reported "
                                   f"(ledger: {state or 'nothing'})")
    stray = set(counts) - set(expected)
    for key in sorted(stray):
        result.problems.append(f"{key}: a post nobody asked for")
        result.duplicates += counts[key]
    return result


def events(ledger_path: Path, **filters: Any) -> list[dict[str, Any]]:
    from marketing_ops.moltbook import Moltbook

    with Moltbook(ledger_path) as ledger:
        return ledger.query(**filters)


def peak_rss_mb_of_children() -> float:
    """Peak resident memory of the largest child waited for so far."""
    import resource

    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return peak_kb / 1024


def machine() -> str:
    import platform
    import subprocess

    try:
        memory = subprocess.run(["free", "-h"], capture_output=True,
                                text=True, check=False).stdout.splitlines()
        total = memory[1].split()[1] if len(memory) > 1 else "?"
    except OSError:
        total = "?"
    return (f"{os.cpu_count()} CPUs, {total} RAM, Python "
            f"{platform.python_version()}, {platform.system()} "
            f"{platform.release()}")
