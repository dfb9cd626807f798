"""What systemd says about the agents' timers, where systemd is running.

Only read here: ``marketing-ops status`` shows each timer's next run.  The
units themselves are rendered by ``marketing_ops.render`` and installed by
the Ansible role or ``bin/enable-schedule.sh``.
"""

from __future__ import annotations

import os
import shutil
import subprocess

AGENTS = ("orchestrator", "community", "partnerships")


def systemd_is_running() -> bool:
    """True when PID 1 is systemd (the documented check)."""
    return os.path.isdir("/run/systemd/system") and bool(
        shutil.which("systemctl"))


def next_runs() -> dict[str, str]:
    """Timer -> next elapse time as systemd prints it ("n/a" when the
    timer is not active)."""
    timers = [f"marketing-{agent}.timer" for agent in AGENTS]
    result = subprocess.run(
        ["systemctl", "show", "--property=Id,ActiveState,NextElapseUSecRealtime",
         *timers], capture_output=True, text=True, timeout=10, check=False)
    found: dict[str, str] = {}
    for block in result.stdout.strip().split("\n\n"):
        fields = dict(line.split("=", 1) for line in block.splitlines()
                      if "=" in line)
        if not fields.get("Id"):
            continue
        active = fields.get("ActiveState") == "active"
        found[fields["Id"]] = (fields.get("NextElapseUSecRealtime") or "n/a"
                               if active else "not active")
    return found


def print_status(settings) -> None:
    print("Timers:")
    if not systemd_is_running():
        print("  systemd is not running here; see the server's status")
        return
    try:
        runs = next_runs()
    except (OSError, subprocess.SubprocessError) as exc:
        print(f"  could not ask systemd: {exc}")
        return
    for agent in AGENTS:
        timer = f"marketing-{agent}.timer"
        print(f"  {timer:<31} next: {runs.get(timer, 'not installed')}")
