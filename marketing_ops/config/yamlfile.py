"""Load a YAML file and validate it against its JSON Schema, reporting every
problem as one located line: ``path:line:column: key.path: what is wrong``.

PyYAML alone is too forgiving for files an operator edits by hand: it keeps
the last of two duplicate keys without a word, and its errors for tabs or bad
encodings are hard to read.  This module reads the node tree (which has line
and column for every key and value), refuses duplicates, and maps each schema
violation back to the spot in the file.
"""

from __future__ import annotations

import difflib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from marketing_ops.errors import ConfigError, ConfigErrors

Position = tuple[int, int]   # 1-based line and column


def load_yaml(path: str | Path, schema_name: str) -> Any:
    """Read ``path``, validate it against ``schemas/<schema_name>``, return
    the data.  Raises :class:`ConfigErrors` listing every problem."""
    path = Path(path)
    text = read_text(path)
    return load_yaml_text(text, schema_name, path)


def load_yaml_text(text: str, schema_name: str, path: str | Path,
                   line_offset: int = 0) -> Any:
    """Like :func:`load_yaml` for text already read (a draft's front matter,
    for instance, whose lines start ``line_offset`` lines into the file)."""
    data, positions = parse_yaml(text, path, line_offset)
    errors = schema_errors(data, positions, schema_name, path)
    if errors:
        raise ConfigErrors(errors)
    return data


def read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigErrors([ConfigError(
            "file not found; copy the example from the repository's config/ "
            "folder", path)]) from None
    except IsADirectoryError:
        raise ConfigErrors([ConfigError(
            "is a directory, not a file", path)]) from None
    except OSError as exc:
        raise ConfigErrors([ConfigError(
            f"cannot read ({exc.strerror}); check the file's owner and mode",
            path)]) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigErrors([ConfigError(
            f"byte 0x{raw[exc.start]:02x} is not valid UTF-8; save the file "
            "as UTF-8", path, line, column)]) from None


def parse_yaml(text: str, path, line_offset: int = 0
               ) -> tuple[Any, dict[tuple, Position]]:
    """Parse YAML into plain data plus the position of every key path."""
    import yaml

    for number, line in enumerate(text.splitlines(), 1):
        indent = line[:len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent:
            raise ConfigErrors([ConfigError(
                "tab character in indentation; YAML indents with spaces, "
                "so replace the tab with spaces",
                path, number + line_offset, indent.index("\t") + 1)])

    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as exc:
        # The reader refuses control characters before any parsing, with a
        # character offset instead of a line: turn it into a located error.
        raise ConfigErrors([_unprintable(text, exc, path, line_offset)]) \
            from None
    try:
        node = loader.get_single_node()
        positions: dict[tuple, Position] = {}
        duplicates: list[ConfigError] = []
        if node is not None:
            _walk(node, (), positions, duplicates, path, line_offset)
        if duplicates:
            raise ConfigErrors(duplicates)
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "cannot parse"
        line = mark.line + 1 + line_offset if mark else None
        column = mark.column + 1 if mark else None
        raise ConfigErrors([ConfigError(
            f"YAML syntax error: {problem}; check quoting and indentation "
            "around here", path, line, column)]) from None
    except yaml.YAMLError as exc:
        raise ConfigErrors([ConfigError(
            f"YAML error: {exc}", path)]) from None
    finally:
        loader.dispose()
    return data, positions


def _unprintable(text: str, exc, path, line_offset: int) -> ConfigError:
    at = min(max(exc.position, 0), len(text))
    line = text.count("\n", 0, at) + 1 + line_offset
    column = at - (text.rfind("\n", 0, at) + 1) + 1
    return ConfigError(f"control character U+{exc.character:04X} is not "
                       "allowed in YAML; remove it", path, line, column)


def _walk(node, keypath, positions, duplicates, path, line_offset):
    import yaml

    positions[keypath] = (node.start_mark.line + 1 + line_offset,
                          node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1 + line_offset
            if key in seen:
                duplicates.append(ConfigError(
                    f"{format_keypath(keypath + (key,))}: duplicate key (first "
                    f"defined on line {seen[key]}); keep only one",
                    path, line, key_node.start_mark.column + 1))
                continue
            seen[key] = line
            # A key's own position, for "unknown key" messages.
            positions[keypath + (key, "<key>")] = (
                line, key_node.start_mark.column + 1)
            _walk(value_node, keypath + (key,), positions, duplicates, path,
                  line_offset)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, keypath + (index,), positions, duplicates, path,
                  line_offset)


def format_keypath(keypath) -> str:
    """``('rules', 2, 'max_length')`` -> ``rules[2].max_length``."""
    out = ""
    for part in keypath:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            # A key holding a line break would split the one-line message,
            # and a blank one would be invisible: such keys are shown
            # quoted, with escapes.
            text = str(part)
            if not text.isprintable() or not text.strip() or \
                    text != text.strip():
                text = repr(text)
            out += ("." if out else "") + text
    return out or "(top level)"


@lru_cache(maxsize=None)
def _validator(schema_name: str):
    import jsonschema

    from marketing_ops.resources import schema_path

    schema = json.loads(schema_path(schema_name).read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def schema_errors(data, positions, schema_name, path) -> list[ConfigError]:
    """Every schema violation as a located :class:`ConfigError`."""
    validator = _validator(schema_name)
    found = []
    for error in validator.iter_errors(data):
        found.extend(_locate(error, positions, path))
    found.sort(key=lambda e: (e.line or 0, e.column or 0, e.message))
    unique, seen = [], set()
    for error in found:
        if str(error) not in seen:
            seen.add(str(error))
            unique.append(error)
    return unique


def _locate(error, positions, path) -> list[ConfigError]:
    keypath = tuple(error.absolute_path)

    if error.validator == "additionalProperties" and isinstance(
            error.instance, dict):
        return _unknown_keys(error, keypath, positions, path)

    if data_is_empty(error, keypath):
        return [ConfigError("the file is empty; it needs the settings shown "
                            "in the example", path, 1, 1)]

    line, column = _nearest(positions, keypath)
    message = error.message
    if error.validator == "pattern" and isinstance(error.schema, dict) \
            and error.schema.get("x-pattern-message"):
        # A regular expression tells an operator nothing; the schema may
        # say in words what the value must look like.
        message = f"{error.instance!r}: {error.schema['x-pattern-message']}"
    if error.validator == "required":
        message = message.replace("is a required property",
                                  "is required here but missing")
    return [ConfigError(f"{format_keypath(keypath)}: {message}",
                        path, line, column)]


def data_is_empty(error, keypath) -> bool:
    return not keypath and error.instance is None


def _unknown_keys(error, keypath, positions, path) -> list[ConfigError]:
    schema = error.schema
    known = list(schema.get("properties", {}))
    patterns = list(schema.get("patternProperties", {}))
    import re

    errors = []
    for key in error.instance:
        if key in known or any(re.search(p, str(key)) for p in patterns):
            continue
        line, column = positions.get(keypath + (key, "<key>"),
                                     _nearest(positions, keypath))
        hint = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
        advice = (f"did you mean {hint[0]!r}?" if hint else
                  "allowed keys: " + ", ".join(known) if known else
                  "no keys are allowed here")
        errors.append(ConfigError(
            f"{format_keypath(keypath + (key,))}: unknown key; {advice}",
            path, line, column))
    return errors


def _nearest(positions, keypath) -> Position:
    while keypath not in positions and keypath:
        keypath = keypath[:-1]
    return positions.get(keypath, (1, 1))
