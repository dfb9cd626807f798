"""The agents: what ``marketing-ops run AGENT`` starts.

orchestrator  daily: collect drafts (and a release announcement), publish,
              report
distribution  the publishing part of the orchestrator alone
community     every 2 h: read mentions, reply within budget and policy
partnerships  weekly: the leads report
"""

from __future__ import annotations

import sys


def command_run(args) -> int:
    from marketing_ops.config import load_config
    from marketing_ops.config.settings import load_settings
    from marketing_ops.moltbook import new_run_id, open_ledger
    from marketing_ops.runlock import agent_lock, hold_run

    from marketing_ops.errors import ConfigErrors

    settings = load_settings(args.config_dir, args.state_dir)
    try:
        config = load_config(settings)
    except ConfigErrors as exc:
        # A timer run with a broken configuration leaves its reason in the
        # ledger too, where "why did nothing go out?" is asked.
        with open_ledger(settings, agent=args.agent) as ledger:
            ledger.record(action="CONFIG_INVALID", status="error",
                          event_type="ERROR", message=str(exc)[:2000])
        raise
    dry_run = args.dry_run or settings.dry_run
    run_id = new_run_id()

    with agent_lock(settings.state_dir, args.agent), \
            hold_run(settings.state_dir, run_id), \
            open_ledger(settings, agent=args.agent, run_id=run_id) as ledger:
        summary = run_agent(args.agent, settings, config, ledger, dry_run)
    for line in summary.lines():
        print(line)
    sys.stdout.flush()
    return summary.exit_code


def run_agent(agent: str, settings, config, ledger, dry_run: bool):
    if agent in ("orchestrator", "distribution"):
        from marketing_ops.agents.orchestrator import run_orchestrator
        return run_orchestrator(settings, config, ledger, dry_run=dry_run,
                                agent=agent,
                                announce_release=agent == "orchestrator")
    if agent == "community":
        from marketing_ops.agents.community import run_community
        return run_community(settings, config, ledger, dry_run=dry_run)
    from marketing_ops.agents.partnerships import run_partnerships
    return run_partnerships(settings, config, ledger)
