"""The service user, the directories and the files, with their owners and
modes, as the role leaves them."""

import pytest

from conftest import AGENTS, CLI, CONFIG_DIR, INSTALL_DIR, SERVICE_USER, \
    STATE_DIR


def test_service_user_is_a_system_account_without_a_shell(host):
    user = host.user(SERVICE_USER)

    assert user.exists
    assert user.uid < 1000
    assert user.group == SERVICE_USER
    assert user.shell == "/usr/sbin/nologin"


@pytest.mark.parametrize("path,owner,group,mode", [
    (INSTALL_DIR, "root", "root", 0o755),
    (f"{INSTALL_DIR}/bin", "root", "root", 0o755),
    (CONFIG_DIR, "root", SERVICE_USER, 0o750),
    (f"{INSTALL_DIR}/staging", "root", "root", 0o700),
    (STATE_DIR, SERVICE_USER, SERVICE_USER, 0o750),
])
def test_directories_have_their_owner_and_mode(host, path, owner, group,
                                                mode):
    directory = host.file(path)

    assert directory.is_directory
    assert (directory.user, directory.group, directory.mode) == \
        (owner, group, mode)


def test_configuration_is_readable_by_the_service_but_owned_by_root(host):
    for name in ("schedule.yaml", "platforms.yaml"):
        config = host.file(f"{CONFIG_DIR}/{name}")
        assert (config.user, config.group, config.mode) == \
            ("root", SERVICE_USER, 0o640)


def test_venv_link_points_at_an_installed_release(host):
    link = host.file(f"{INSTALL_DIR}/venv")

    assert link.is_symlink
    assert link.linked_to.startswith(f"{INSTALL_DIR}/venvs/")
    assert host.run(f"{CLI} --version").rc == 0


@pytest.mark.parametrize("script", [
    "pause-publishing.sh", "resume-publishing.sh", "enable-schedule.sh",
    "disable-schedule.sh"])
def test_operator_scripts_are_installed_executable(host, script):
    installed = host.file(f"{INSTALL_DIR}/bin/{script}")

    assert installed.user == "root"
    assert installed.mode == 0o755


@pytest.mark.parametrize("agent", AGENTS)
def test_units_pass_systemd_analyze_verify(host, agent):
    result = host.run(f"systemd-analyze verify "
                      f"/etc/systemd/system/marketing-{agent}.service "
                      f"/etc/systemd/system/marketing-{agent}.timer")

    assert result.rc == 0, result.stderr
    assert "marketing-" not in result.stderr, result.stderr
