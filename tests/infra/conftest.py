"""Provisioning tests, run by molecule's testinfra verifier against the
booted Debian that the scenario in ansible/molecule/default converged.

Run them with `make test-infra` (or `molecule test` from ansible/); on
their own they need molecule's environment (MOLECULE_* variables) and a
converged host.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "ansible" / "molecule" / "default"
AGENTS = ("orchestrator", "community", "partnerships")
INSTALL_DIR = "/opt/marketing-ops"
CONFIG_DIR = f"{INSTALL_DIR}/config"
STATE_DIR = "/var/lib/marketing-ops"
CLI = f"{INSTALL_DIR}/venv/bin/marketing-ops"
SERVICE_USER = "marketing-ops"

# render.py imports nothing heavy at module level, so the controller's
# Ansible venv (which has jinja2) can import it from the checkout.
sys.path.insert(0, str(REPO))


def pytest_collection_modifyitems(items):
    """Run test_playbook.py last. Its playbook runs leave a changed schedule
    deployed, and restoring it would take one more full playbook run; the
    scenario destroys the host right after verify, so the other tests run
    first, on the host as converge left it. (Verifying the same host again
    by hand needs `molecule converge` first.)"""
    items.sort(key=lambda item: item.path.name == "test_playbook.py")


def ephemeral_dir() -> Path:
    value = os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY")
    if not value:
        pytest.skip("needs molecule's environment: run `make test-infra`")
    return Path(value)


@pytest.fixture(scope="session")
def deployed_schedule() -> dict:
    """The schedule.yaml the scenario deployed."""
    return yaml.safe_load((ephemeral_dir() / "config" / "schedule.yaml")
                          .read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def scenario_env() -> dict:
    """Every name and value the scenario put into the .env, as the role
    combined them (settings, then credentials)."""
    scenario_vars = yaml.safe_load((SCENARIO / "vars.yml").read_text())
    credentials = yaml.safe_load(
        (ephemeral_dir() / "credentials.yml").read_text())
    credentials = credentials["molecule_sandbox_credentials"]
    settings = {**scenario_vars["molecule_env_settings"],
                **credentials.pop("_settings")}
    return {**settings, **credentials}


@pytest.fixture(scope="session")
def secret_values(scenario_env) -> list[str]:
    names = ("GITHUB_TOKEN", "TELEGRAM_BOT_TOKEN", "X_API_KEY", "X_API_SECRET",
             "X_ACCESS_TOKEN", "X_ACCESS_SECRET", "REDDIT_CLIENT_ID",
             "REDDIT_CLIENT_SECRET", "REDDIT_PASSWORD", "DISCORD_WEBHOOK_URL")
    return [scenario_env[name] for name in names]


def env_string(value) -> str:
    """How the .env template writes a YAML value."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return ""
    return str(value)


def run_playbook(*extra_args: str, check: bool = True
                 ) -> subprocess.CompletedProcess:
    """Run the scenario's converge playbook again, as molecule does, with
    JSON output so a test can see what each task changed."""
    ephemeral = ephemeral_dir()
    inventory = os.environ.get("MOLECULE_INVENTORY_FILE",
                               str(ephemeral / "inventory"))
    env = {**os.environ,
           "ANSIBLE_ROLES_PATH": str(REPO / "ansible" / "roles"),
           "ANSIBLE_HOST_KEY_CHECKING": "False",
           "ANSIBLE_PIPELINING": "True",
           "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default",
           "ANSIBLE_CALLBACK_RESULT_FORMAT": "json",
           "ANSIBLE_FORCE_COLOR": "0",
           "ANSIBLE_NOCOLOR": "1"}
    result = subprocess.run(
        ["ansible-playbook", "-i", inventory, str(SCENARIO / "converge.yml"),
         *extra_args],
        capture_output=True, text=True, env=env, timeout=240, check=False)
    if check and result.returncode != 0:
        pytest.fail(f"ansible-playbook failed ({result.returncode}):\n"
                    f"{result.stdout[-4000:]}\n{result.stderr[-2000:]}")
    return result


TASK_HEADER = re.compile(r"^(?:TASK|RUNNING HANDLER) \[(?:[^:\]]+ : )?(.+?)\] \**$")
CHANGED_LINE = re.compile(r"^changed: \[[^\]]+\](?: => \(item=(.+?)\))?")
RECAP_LINE = re.compile(r"^\S+\s+: ok=\d+\s+changed=(\d+)")


def changed_items(result: subprocess.CompletedProcess) -> dict[str, list]:
    """Task name -> the loop items (or [None]) that reported changed, read
    from ansible-playbook's default output (ansible-core ships no JSON
    output callback)."""
    changed: dict[str, list] = {}
    task = None
    for line in result.stdout.splitlines():
        header = TASK_HEADER.match(line)
        if header:
            task = header.group(1)
            continue
        change = CHANGED_LINE.match(line)
        if change and task:
            changed.setdefault(task, []).append(change.group(1))
    return changed


def total_changed(result: subprocess.CompletedProcess) -> int:
    return sum(int(m.group(1)) for m in
               map(RECAP_LINE.match, result.stdout.splitlines()) if m)


def exposure(host, unit: str) -> float:
    """systemd-analyze security's overall exposure of ``unit``."""
    output = host.check_output(f"systemd-analyze security {unit}")
    match = re.search(r"Overall exposure level for \S+: ([0-9.]+)", output)
    assert match, output
    return float(match.group(1))
