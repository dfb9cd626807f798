"""Configuration: the ``.env`` (flags and credentials) and the YAML files
(platforms, policy, schedules, reply rules, leads), each validated against
its JSON Schema in ``schemas/``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marketing_ops.errors import ConfigError, ConfigErrors, MarketingOpsError

#: Every YAML file in the configuration folder: attribute -> (file, schema).
YAML_FILES: dict[str, tuple[str, str]] = {
    "platforms": ("platforms.yaml", "platforms"),
    "policy": ("policy.yaml", "policy"),
    "policy_tests": ("policy-tests.yaml", "policy-tests"),
    "schedule": ("schedule.yaml", "schedule"),
    "community": ("community.yaml", "community"),
    "partnerships": ("partnerships.yaml", "partnerships"),
}


@dataclass(frozen=True)
class Config:
    platforms: dict[str, Any]
    policy: dict[str, Any]
    policy_tests: dict[str, Any]
    schedule: dict[str, Any]
    community: dict[str, Any]
    partnerships: dict[str, Any]


def load_config(settings) -> Config:
    """Load and validate every YAML file; raise :class:`ConfigErrors` with
    all problems of all files at once."""
    from marketing_ops.config.yamlfile import load_yaml

    loaded, errors = {}, []
    for attribute, (filename, schema) in YAML_FILES.items():
        try:
            loaded[attribute] = load_yaml(settings.config_dir / filename,
                                          schema)
        except ConfigErrors as exc:
            errors.extend(exc.errors)
    if errors:
        raise ConfigErrors(errors)
    return Config(**loaded)


def validate_everything(config_dir: Path | None = None,
                        state_dir: Path | None = None) -> list[ConfigError]:
    """Every problem in the whole configuration: the ``.env``, each YAML
    file and each draft.  An empty list means it is all valid."""
    from marketing_ops.config.settings import load_settings

    errors: list[ConfigError] = []
    try:
        settings = load_settings(config_dir, state_dir, require_env_file=False)
    except ConfigError as exc:
        return [exc]

    try:
        load_config(settings)
    except ConfigErrors as exc:
        errors.extend(exc.errors)

    from marketing_ops.drafts import load_drafts
    try:
        load_drafts(settings)
    except ConfigErrors as exc:
        errors.extend(exc.errors)
    except ConfigError as exc:
        errors.append(exc)

    # What the policy's schema cannot check: unique rule ids, valid
    # patterns and time zones, examples that name existing rules.
    from marketing_ops.safety.policy import validation_errors
    errors.extend(validation_errors(settings))
    return errors


def command_validate(args) -> int:
    """``marketing-ops validate``: exit 0, or 2 listing every problem."""
    import sys

    errors = validate_everything(args.config_dir, args.state_dir)
    for error in errors:
        print(error, file=sys.stderr)
    if errors:
        print(f"{len(errors)} problem(s) found; nothing was changed.",
              file=sys.stderr)
        return 2
    print("Configuration is valid.")
    return 0


__all__ = ["Config", "load_config", "validate_everything", "YAML_FILES",
           "MarketingOpsError"]
