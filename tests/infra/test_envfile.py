"""The .env: private, readable by the service, and read identically by
systemd (EnvironmentFile=) and by the package."""

import json
import shlex

from conftest import CONFIG_DIR, INSTALL_DIR, SERVICE_USER, env_string

ENV_FILE = f"{CONFIG_DIR}/.env"
PYTHON = f"{INSTALL_DIR}/venv/bin/python"
PRINT_ENVIRONMENT = "import json, os; print(json.dumps(dict(os.environ)))"
PACKAGE_READS = (
    "import json, sys; "
    "from marketing_ops.config.envfile import parse_env_file; "
    "print(json.dumps(parse_env_file(sys.argv[1])))")


def test_env_file_is_private_to_the_service_user(host):
    env_file = host.file(ENV_FILE)

    assert env_file.mode == 0o600
    assert (env_file.user, env_file.group) == (SERVICE_USER, SERVICE_USER)


def test_service_user_can_read_the_env_file(host):
    result = host.run(f"runuser -u {SERVICE_USER} -- head -c1 {ENV_FILE}")

    assert result.rc == 0, result.stderr


def test_other_users_cannot_read_the_env_file(host):
    result = host.run(f"runuser -u nobody -- head -c1 {ENV_FILE}")

    assert result.rc != 0
    assert "Permission denied" in result.stderr


def systemd_reading(host) -> dict:
    # A transient unit with the services' EnvironmentFile= and user: the
    # environment its process gets is what systemd read from the file.
    command = ("systemd-run --quiet --wait --pipe --collect "
               f"-p User={SERVICE_USER} -p EnvironmentFile={ENV_FILE} "
               f"/usr/bin/python3 -c {shlex.quote(PRINT_ENVIRONMENT)}")
    return json.loads(host.check_output(command))


def package_reading(host) -> dict:
    command = (f"runuser -u {SERVICE_USER} -- {PYTHON} -c "
               f"{shlex.quote(PACKAGE_READS)} {ENV_FILE}")
    return json.loads(host.check_output(command))


def test_systemd_and_the_package_read_the_same_values(host, scenario_env):
    by_systemd = systemd_reading(host)
    by_package = package_reading(host)

    assert set(by_package) == set(scenario_env)
    for name, value in scenario_env.items():
        expected = env_string(value)
        assert by_package[name] == expected, name
        assert by_systemd.get(name) == expected, name


def test_canaries_cover_the_characters_that_need_quoting(scenario_env):
    # Guards the test above against a scenario that lost its hard cases.
    canaries = "".join(v for k, v in scenario_env.items()
                       if k.startswith("CANARY_"))

    for character in (" ", "\t", '"', "'", "#", "$", "\\", "`", ";"):
        assert character in canaries, repr(character)
