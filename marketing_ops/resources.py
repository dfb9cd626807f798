"""Where the schemas and templates live.

In a checkout they are the top-level ``schemas/`` and ``templates/`` folders
(one place to edit them); an installed wheel carries copies under
``marketing_ops/_data/``.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _find(name: str) -> Path:
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"the package's {name}/ folder is missing; reinstall marketing-ops")


def schemas_dir() -> Path:
    return _find("schemas")


def templates_dir() -> Path:
    return _find("templates")


def schema_path(name: str) -> Path:
    """The JSON Schema for one kind of YAML file, e.g. ``policy``."""
    return schemas_dir() / f"{name}.schema.json"


def example_config_dir() -> Path:
    """The example configuration shipped with the repository."""
    return _find("config")
