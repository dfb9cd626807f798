"""Fixtures for tests that run the real package against the sandbox over
real HTTP on a loopback port."""

from __future__ import annotations

import pytest

from marketing_ops.sandbox.server import SandboxServer


@pytest.fixture
def sandbox():
    with SandboxServer() as server:
        yield server


@pytest.fixture
def workspace(tmp_path, sandbox):
    """A factory: ``workspace(drafts=..., **env)`` writes a configuration
    pointed at the sandbox and returns ``(settings, config)``."""
    from marketing_ops.config import load_config
    from marketing_ops.config.settings import load_settings
    from marketing_ops.demo import write_demo_config

    def build(drafts=None, **env):
        config_dir = write_demo_config(tmp_path, sandbox, drafts=drafts,
                                       env_overrides=env)
        settings = load_settings(config_dir, tmp_path / "state", environ={})
        return settings, load_config(settings)

    return build
