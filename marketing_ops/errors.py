"""The package's exceptions: one base, one subclass per thing an operator
must handle differently.  Each carries the exit code the CLI returns for it,
and its ``str()`` is the single line the operator sees."""

from __future__ import annotations

from pathlib import Path

#: Exit codes, documented in the README.
EXIT_OK = 0
EXIT_FAILURES = 1      # the run finished but something failed or is unknown
EXIT_BAD_INPUT = 2     # configuration, draft or command line is invalid
EXIT_INTERNAL = 70     # a bug: please report it


class MarketingOpsError(Exception):
    """Base for every error the package raises on purpose."""

    exit_code = EXIT_FAILURES


class ConfigError(MarketingOpsError):
    """Bad input in a file the operator edits (or in the command line).

    ``str(error)`` is ``path:line:column: message`` with whatever parts are
    known, so editors and terminals can jump to the spot.
    """

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, path: str | Path | None = None,
                 line: int | None = None, column: int | None = None):
        self.message = message
        self.path = None if path is None else display_path(path)
        self.line = line
        self.column = column
        super().__init__(str(self))

    def __str__(self) -> str:
        location = [str(part) for part in (self.path, self.line, self.column)
                    if part is not None]
        if not location:
            return self.message
        return ":".join(location) + ": " + self.message


class ConfigErrors(MarketingOpsError):
    """Several located problems found in one pass, reported together."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, errors: list[ConfigError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


class StateError(MarketingOpsError):
    """The state directory or the ledger cannot be used."""


def display_path(path: str | Path) -> str:
    """A path as the operator would type it: relative to the working
    directory when it lies below it, absolute otherwise."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)
