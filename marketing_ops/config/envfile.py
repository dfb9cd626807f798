"""Read a ``.env`` file exactly as systemd's ``EnvironmentFile=`` does.

The same file feeds systemd (for the service) and the package (for the CLI
an operator runs by hand), so both must see the same values.  The grammar
followed here is systemd's: ``#`` or ``;`` opens a comment only at the start
of a line; a value may be unquoted, 'single-quoted' (literal) or
"double-quoted" (backslash escapes only ``"``, ``\\``, backquote and ``$``);
a backslash before a newline continues the line; unquoted values lose
trailing whitespace.

What systemd accepts silently but is almost always a mistake is refused here
with a located message: a trailing ``# comment`` on a value line (systemd keeps
it as part of the value), an unterminated quote, a line with no ``=``, an
invalid name, control characters and bad UTF-8.
"""

from __future__ import annotations

import re
from pathlib import Path

from marketing_ops.errors import ConfigError

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_WHITESPACE = " \t"
_DOUBLE_QUOTE_ESCAPABLE = '"\\`$'


def parse_env_file(path: str | Path) -> dict[str, str]:
    """Parse the file at ``path``; raise :class:`ConfigError` on bad input."""
    return {name: value for name, (value, _)
            in parse_env_file_with_lines(path).items()}


def parse_env_file_with_lines(path: str | Path) -> dict[str, tuple[str, int]]:
    """Like :func:`parse_env_file`, with the line each value was set on, so
    a value refused later (a flag that is not a boolean) can be located."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError("file not found; copy config/.env.example there "
                          "and fill it in", path) from None
    except OSError as exc:
        raise ConfigError(f"cannot read ({exc.strerror}); check the file's "
                          "owner and mode", path) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ConfigError("not valid UTF-8; save the file as UTF-8",
                          path, line) from None
    return _parse_with_lines(text, path)


def parse_env_text(text: str, path: str | Path = "<env>") -> dict[str, str]:
    """Parse ``.env`` content.  Later assignments override earlier ones,
    as in systemd."""
    return {name: value for name, (value, _)
            in _parse_with_lines(text, path).items()}


def _parse_with_lines(text: str, path) -> dict[str, tuple[str, int]]:
    # systemd counts a carriage return as a line end, so CRLF files work.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    values: dict[str, tuple[str, int]] = {}
    for line, name, value, quoted in _assignments(text, path):
        _check_assignment(line, name, value, quoted, path)
        values[name] = (value, line)
    return values


def _assignments(text, path):
    """Yield ``(line, name, value, was_quoted)`` following systemd's state
    machine, character by character."""
    line = 1
    i, n = 0, len(text)
    while i < n:
        start_line = line

        # Blank space and comment lines between assignments.
        c = text[i]
        if c in _WHITESPACE:
            i += 1
            continue
        if c == "\n":
            line += 1
            i += 1
            continue
        if c in "#;":
            end = text.find("\n", i)
            end = n if end == -1 else end
            if text[i:end].rstrip("\r").endswith("\\"):
                # systemd before v254 joined the next line to such a comment,
                # later versions do not: the two disagree, so refuse it.
                raise ConfigError(
                    "comment line ends with a backslash, which systemd "
                    "versions read differently; remove the backslash",
                    path, line)
            i = end
            continue

        # The name, up to '='.
        end_of_line = text.find("\n", i)
        end_of_line = n if end_of_line == -1 else end_of_line
        equals = text.find("=", i, end_of_line)
        if equals == -1:
            raise ConfigError(
                f"line has no '=': {text[i:end_of_line].strip()[:40]!r}; "
                "write NAME=value, or start a comment with '#'",
                path, line)
        name = text[i:equals].rstrip(_WHITESPACE)
        i = equals + 1

        # The value: a mix of unquoted, quoted and escaped runs.
        value: list[str] = []
        quoted = False
        trailing_ws_at = None
        while i < n and text[i] in _WHITESPACE:
            i += 1
        while i < n and text[i] != "\n":
            c = text[i]
            if c == "'" or c == '"':
                quoted = True
                close = _closing_quote(text, i, c)
                if close == -1:
                    raise ConfigError(
                        f"{name}: the {c} quote opened here is never closed; "
                        "close it on the same line", path, start_line)
                chunk = text[i + 1:close]
                line += chunk.count("\n")
                value.append(_unescape_double(chunk) if c == '"' else chunk)
                trailing_ws_at = None
                i = close + 1
                # After a closing quote systemd skips blanks before going on.
                while i < n and text[i] in _WHITESPACE:
                    i += 1
                continue
            if c == "\\":
                if i + 1 < n and text[i + 1] == "\n":
                    line += 1          # an escaped newline continues the value
                elif i + 1 < n:
                    value.append(text[i + 1])
                trailing_ws_at = None
                i += 2
                continue
            if c in _WHITESPACE:
                if trailing_ws_at is None:
                    trailing_ws_at = len("".join(value))
            else:
                trailing_ws_at = None
            value.append(c)
            i += 1
        joined = "".join(value)
        if trailing_ws_at is not None:
            joined = joined[:trailing_ws_at]
        yield start_line, name, joined, quoted


def _closing_quote(text: str, start: int, quote: str) -> int:
    i = start + 1
    while i < len(text):
        if quote == '"' and text[i] == "\\":
            i += 2
            continue
        if text[i] == quote:
            return i
        i += 1
    return -1


def _unescape_double(chunk: str) -> str:
    out, i = [], 0
    while i < len(chunk):
        c = chunk[i]
        if c == "\\" and i + 1 < len(chunk):
            nxt = chunk[i + 1]
            if nxt == "\n":
                pass                      # line continuation: eaten whole
            elif nxt in _DOUBLE_QUOTE_ESCAPABLE:
                out.append(nxt)
            else:
                out.append("\\" + nxt)    # kept as written, like a shell
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _check_assignment(line, name, value, quoted, path):
    if not _NAME.match(name):
        raise ConfigError(
            f"{name!r} is not a valid variable name (letters, digits and '_', "
            "not starting with a digit); systemd would ignore this line",
            path, line)
    if not quoted and re.search(r"\s#", value):
        raise ConfigError(
            f"{name}: the value {value!r} ends in what looks like a comment, "
            "but systemd keeps a trailing '# ...' as part of the value; move "
            "the comment to its own line (or quote the value if the '#' is "
            "meant)", path, line)
    if re.search(r"[\x00-\x08\x0b-\x1f\x7f]", value):
        raise ConfigError(
            f"{name}: the value contains a control character; remove it",
            path, line)
