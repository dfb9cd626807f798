"""Settings: the ``.env`` file merged with the process environment.

The process environment wins, as it does under systemd when a unit sets
``Environment=`` beside ``EnvironmentFile=``.  Only this module turns the
strings into typed values, so every flag is parsed (and rejected) the same
way everywhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from marketing_ops import PLATFORMS
from marketing_ops.errors import ConfigError

DEFAULT_CONFIG_DIR = Path("/opt/marketing-ops/config")
DEFAULT_STATE_DIR = Path("/var/lib/marketing-ops")

#: Credentials per platform: what preflight needs before it calls anything.
CREDENTIALS: dict[str, tuple[str, ...]] = {
    "github": ("GITHUB_TOKEN", "GITHUB_OWNER", "GITHUB_REPO"),
    "telegram": ("TELEGRAM_BOT_TOKEN", "TELEGRAM_CHANNEL_ID"),
    "x": ("X_API_KEY", "X_API_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_SECRET"),
    "reddit": ("REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET", "REDDIT_USERNAME",
               "REDDIT_PASSWORD", "REDDIT_SUBREDDIT"),
    "discord": ("DISCORD_WEBHOOK_URL",),
    "hn": (),
}

#: The values that must never be shown anywhere (the rest are identifiers
#: such as a repository name, which reports may show).
SECRET_NAMES = frozenset({
    "GITHUB_TOKEN", "TELEGRAM_BOT_TOKEN", "X_API_KEY", "X_API_SECRET",
    "X_ACCESS_TOKEN", "X_ACCESS_SECRET", "REDDIT_CLIENT_ID",
    "REDDIT_CLIENT_SECRET", "REDDIT_PASSWORD", "DISCORD_WEBHOOK_URL",
})

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Settings:
    config_dir: Path
    state_dir: Path
    env: Mapping[str, str] = field(repr=False)
    env_file: Path | None = None

    # Typed views of the flags, filled in by load_settings.
    publish_enabled: bool = False
    dry_run: bool = False
    max_live_posts_per_platform: int = 1
    max_live_replies_per_platform: int = 2
    enabled: Mapping[str, bool] = field(default_factory=dict)

    def get(self, name: str, default: str | None = None) -> str | None:
        value = self.env.get(name)
        return default if value in (None, "") else value

    def credentials(self, platform: str) -> dict[str, str]:
        """The platform's credential variables that are set."""
        return {name: self.env[name] for name in CREDENTIALS[platform]
                if self.env.get(name)}

    def secret_values(self) -> list[str]:
        """Every secret value that is set, for redaction.  The Discord
        webhook's token part is included on its own as well, since a URL
        may be shown in pieces."""
        values = [self.env[n] for n in SECRET_NAMES if self.env.get(n)]
        webhook = self.env.get("DISCORD_WEBHOOK_URL", "")
        if webhook.count("/") >= 2:
            values.append(webhook.rstrip("/").rsplit("/", 1)[-1])
        return [v for v in values if len(v) >= 4]

    @property
    def stop_file(self) -> Path:
        return self.config_dir / "STOP_ALL"

    @property
    def ledger_path(self) -> Path:
        return self.state_dir / "moltbook.db"


def load_settings(config_dir: str | Path | None = None,
                  state_dir: str | Path | None = None,
                  environ: Mapping[str, str] | None = None,
                  *, require_env_file: bool = False) -> Settings:
    """Build the settings.  Directories come from the arguments (the CLI's
    ``--config-dir``/``--state-dir``), else the environment, else the
    server defaults."""
    from marketing_ops.config.envfile import parse_env_file_with_lines

    environ = dict(os.environ if environ is None else environ)
    config = Path(config_dir or environ.get("MARKETING_OPS_CONFIG_DIR")
                  or DEFAULT_CONFIG_DIR)
    env_file = config / ".env"
    file_lines: dict[str, tuple[str, int]] = {}
    if env_file.exists() or require_env_file:
        file_lines = parse_env_file_with_lines(env_file)
    file_values = {name: value for name, (value, _) in file_lines.items()}
    merged = {**file_values, **environ}
    state = Path(state_dir or merged.get("MARKETING_OPS_STATE_DIR")
                 or DEFAULT_STATE_DIR)

    where = _Origin(env_file if env_file.exists() else None,
                    {name: line for name, (_, line) in file_lines.items()
                     if name not in environ})
    settings = Settings(
        config_dir=config,
        state_dir=state,
        env=merged,
        env_file=where.path,
        # Publishing is off until the operator turns it on on purpose.
        publish_enabled=_flag(merged, "PUBLISH_ENABLED", False, where),
        dry_run=_flag(merged, "DRY_RUN", False, where),
        max_live_posts_per_platform=_count(
            merged, "MAX_LIVE_POSTS_PER_PLATFORM", 1, where),
        max_live_replies_per_platform=_count(
            merged, "MAX_LIVE_REPLIES_PER_PLATFORM", 2, where),
        enabled={p: _flag(merged, f"ENABLE_{p.upper()}", p != "hn", where)
                 for p in PLATFORMS},
    )
    from marketing_ops.redact import register_secrets
    register_secrets(settings.secret_values())
    return settings


@dataclass(frozen=True)
class _Origin:
    """Where each value came from, to locate a refused one: the .env and
    its line, or (for values from the process environment) nowhere."""
    path: Path | None
    lines: Mapping[str, int]

    def error(self, name: str, message: str) -> ConfigError:
        line = self.lines.get(name)
        if line is None:
            return ConfigError(f"{message} (set in the environment)")
        return ConfigError(message, self.path, line)


def _flag(env, name, default, where) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    word = raw.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    hint = ""
    if "#" in raw:
        hint = (" — systemd keeps a trailing '# ...' as part of the value, "
                "so put comments on their own line")
    raise where.error(name, f"{name}={raw!r} is not a boolean; use true "
                            f"or false{hint}")


def _count(env, name, default, where) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        value = -1
    if value < 0:
        raise where.error(name, f"{name}={raw!r} is not a whole number of "
                                "0 or more; set it to e.g. 1")
    return value
