"""Runs of the installed services against the sandbox, started inside the
container on loopback: a DRY_RUN run works, and a pause stops publishing."""

import json
import os
import time
import urllib.request

import pytest

from conftest import CLI, INSTALL_DIR, STATE_DIR

SANDBOX_PORT = int(os.environ.get("MARKETING_OPS_MOLECULE_SANDBOX_PORT",
                                  "18765"))
# The container shares the host's network, so the controller reaches the
# sandbox that runs inside it at the same loopback address.
SANDBOX_URL = f"http://127.0.0.1:{SANDBOX_PORT}"
SANDBOX_UNIT = "marketing-ops-test-sandbox"
SERVICE = "marketing-orchestrator.service"
LIVE_DROPIN_DIR = f"/run/systemd/system/{SERVICE}.d"
LIVE_ENV = "/run/marketing-ops-live.env"


def sandbox_posts() -> list:
    with urllib.request.urlopen(f"{SANDBOX_URL}/_sandbox/posts",
                                timeout=5) as response:
        return json.loads(response.read())["posts"]


@pytest.fixture(scope="module")
def sandbox(host):
    host.run(f"systemctl stop {SANDBOX_UNIT}")
    host.check_output(
        f"systemd-run --unit={SANDBOX_UNIT} --collect "
        f"{CLI} sandbox serve --host 127.0.0.1 --port {SANDBOX_PORT}")
    for _ in range(100):
        try:
            sandbox_posts()
            break
        except OSError:
            time.sleep(0.1)
    else:
        pytest.fail("the sandbox did not start: " + host.run(
            f"journalctl -u {SANDBOX_UNIT} -o cat").stdout[-2000:])
    yield SANDBOX_URL
    host.run(f"systemctl stop {SANDBOX_UNIT}")


def start_service(host) -> None:
    # `systemctl start` of a oneshot returns when the run has finished.
    host.run(f"systemctl reset-failed {SERVICE}")
    host.run(f"systemctl start {SERVICE}")


def last_run(host) -> tuple[str, str]:
    result = host.check_output(f"systemctl show {SERVICE} -p Result --value")
    status = host.check_output(
        f"systemctl show {SERVICE} -p ExecMainStatus --value")
    return result.strip(), status.strip()


def journal(host) -> str:
    return host.run(f"journalctl -u {SERVICE} -o cat --no-pager").stdout


def events(host, action: str) -> list[dict]:
    output = host.check_output(
        f"MARKETING_OPS_CONFIG_DIR={INSTALL_DIR}/config "
        f"MARKETING_OPS_STATE_DIR={STATE_DIR} {CLI} events --json "
        f"--action {action}")
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_dry_run_of_the_service_succeeds_and_posts_nothing(host, sandbox,
                                                           secret_values):
    start_service(host)

    assert last_run(host) == ("success", "0"), journal(host)[-3000:]
    assert sandbox_posts() == []
    output = journal(host)
    assert "run" in output.lower()
    for secret in secret_values:
        assert secret not in output


@pytest.fixture
def live_publishing(host):
    """The orchestrator with DRY_RUN off, for this test only: a runtime
    drop-in adds a second EnvironmentFile=, which overrides the first."""
    host.check_output(
        f"install -d {LIVE_DROPIN_DIR} && "
        f"printf 'DRY_RUN=\"false\"\\nPUBLISH_ENABLED=\"true\"\\n' > {LIVE_ENV}"
        f" && printf '[Service]\\nEnvironmentFile={LIVE_ENV}\\n' "
        f"> {LIVE_DROPIN_DIR}/live.conf && systemctl daemon-reload")
    yield
    host.run(f"rm -rf {LIVE_DROPIN_DIR} {LIVE_ENV} && systemctl daemon-reload")
    host.run(f"{INSTALL_DIR}/bin/resume-publishing.sh")


def test_after_pause_publishing_the_next_run_publishes_nothing(
        host, sandbox, live_publishing):
    paused = host.run(f"{INSTALL_DIR}/bin/pause-publishing.sh 'infra test'")
    assert paused.rc == 0, paused.stderr
    assert host.file(f"{INSTALL_DIR}/config/STOP_ALL").exists

    start_service(host)

    assert sandbox_posts() == []
    assert last_run(host)[0] == "success", journal(host)[-3000:]
    assert events(host, "PUBLISHING_PAUSED")

    # The same run after resuming does publish, so the pause is what
    # stopped it above (and the ledger stayed writable for the service
    # after root's pause wrote to it).
    resumed = host.run(f"{INSTALL_DIR}/bin/resume-publishing.sh")
    assert resumed.rc == 0, resumed.stderr
    start_service(host)

    assert last_run(host)[0] == "success", journal(host)[-3000:]
    assert sandbox_posts() != []
    assert events(host, "PUBLISHING_RESUMED")


def test_operator_scripts_refuse_without_the_rights_they_need(host):
    for script in ("pause-publishing.sh 'x'", "resume-publishing.sh",
                   "enable-schedule.sh", "disable-schedule.sh"):
        result = host.run(f"runuser -u nobody -- {INSTALL_DIR}/bin/{script}")
        assert result.rc != 0
        assert ("run as root" in result.stderr
                or "cannot write" in result.stderr), result.stderr
