"""The orchestrator: the daily full pipeline.

Collects the drafts (the queue folder, plus an announcement of the GitHub
repository's latest release when ``announce_releases`` is on), hands them to
the distribution agent and reports.  A release becomes a draft whose id is
``release-<tag>``, and the ledger remembers every draft per platform, so
one release is announced once, never twice.
"""

from __future__ import annotations

import logging

from marketing_ops.agents.distribution import Distribution

logger = logging.getLogger(__name__)


def run_orchestrator(settings, config, ledger, *, dry_run: bool,
                     agent: str = "orchestrator",
                     announce_release: bool = True):
    extra = []
    if announce_release:
        release_draft = collect_release_draft(settings, config, ledger)
        if release_draft is not None:
            extra.append(release_draft)
    distribution = Distribution(settings, config, ledger, agent=agent,
                                dry_run=dry_run, extra_drafts=extra)
    return distribution.run()


def collect_release_draft(settings, config, ledger):
    """The latest release as a draft, or None (off, no release, or GitHub
    unreachable — the queue still goes out)."""
    github = (config.platforms.get("platforms") or {}).get("github") or {}
    if not github.get("announce_releases"):
        return None
    if not settings.enabled.get("github") or not settings.credentials(
            "github"):
        return None

    from marketing_ops.platforms.base import get_connector
    from marketing_ops.release import draft_from_release

    connector = get_connector("github", settings, config.platforms)
    try:
        release = connector.latest_release()
    except Exception as exc:
        ledger.record(action="RELEASE_CHECK", status="failed",
                      platform="github", message=f"could not read the "
                      f"latest release: {exc}", reason_code="NETWORK_ERROR")
        return None
    if release is None:
        return None
    draft = draft_from_release(release, settings)
    ledger.record(action="RELEASE_CHECK", status="success",
                  platform="github", draft=draft.id,
                  message=f"latest release {release.get('tag_name')} "
                          f"as draft {draft.id}")
    return draft
