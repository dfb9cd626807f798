"""Just enough GraphQL reading for the sandbox's GitHub stand-in.

The sandbox does not execute GraphQL. It recognises the few operations a
publisher sends by the fields they name, then reads the arguments of those
fields (literal or `$variable`) with this small parser. Selections are not
honoured: resolvers return whole objects, which a client reading the fields
it asked for cannot tell apart from GitHub's answer.
"""

from __future__ import annotations

import re
from typing import Any


class GraphQLSyntaxError(ValueError):
    pass


def field_arguments(query: str, field: str,
                    variables: dict[str, Any]) -> dict[str, Any] | None:
    """Arguments of the first `field(...)` in the query, or None if absent.

    A field named without parentheses gives an empty dict.
    """
    match = re.search(r"(?<![\w$])" + re.escape(field) + r"\s*(\()?", query)
    if match is None:
        return None
    if match.group(1) is None:
        return {}
    parser = _ArgumentParser(query, match.end(), variables)
    return parser.arguments()


class _ArgumentParser:
    """Recursive descent over `name: value, ...)` starting after a '('."""

    def __init__(self, text: str, pos: int, variables: dict[str, Any]):
        self.text = text
        self.pos = pos
        self.variables = variables or {}

    def arguments(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        while True:
            self._skip()
            if self._peek() == ")":
                self.pos += 1
                return result
            name = self._name()
            self._expect(":")
            result[name] = self._value()

    def _value(self) -> Any:
        self._skip()
        char = self._peek()
        if char == "$":
            self.pos += 1
            return self.variables.get(self._name())
        if char == '"':
            return self._string()
        if char == "[":
            return self._list()
        if char == "{":
            return self._object()
        number = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?").match(
            self.text, self.pos)
        if number:
            self.pos = number.end()
            literal = number.group(0)
            return float(literal) if number.group(1) or number.group(2) \
                else int(literal)
        word = self._name()
        return {"true": True, "false": False, "null": None}.get(word, word)

    def _list(self) -> list[Any]:
        self.pos += 1
        items = []
        while True:
            self._skip()
            if self._peek() == "]":
                self.pos += 1
                return items
            items.append(self._value())

    def _object(self) -> dict[str, Any]:
        self.pos += 1
        fields: dict[str, Any] = {}
        while True:
            self._skip()
            if self._peek() == "}":
                self.pos += 1
                return fields
            name = self._name()
            self._expect(":")
            fields[name] = self._value()

    def _string(self) -> str:
        if self.text.startswith('"""', self.pos):
            end = self.text.find('"""', self.pos + 3)
            if end < 0:
                raise GraphQLSyntaxError("unterminated block string")
            value = self.text[self.pos + 3:end]
            self.pos = end + 3
            return value
        match = re.compile(r'"((?:[^"\\]|\\.)*)"').match(self.text, self.pos)
        if match is None:
            raise GraphQLSyntaxError("unterminated string")
        self.pos = match.end()
        escapes = {'"': '"', "\\": "\\", "/": "/", "n": "\n", "t": "\t",
                   "r": "\r", "b": "\b", "f": "\f"}
        return re.sub(
            r"\\(u[0-9a-fA-F]{4}|.)",
            lambda m: chr(int(m.group(1)[1:], 16)) if m.group(1)[0] == "u"
            and len(m.group(1)) == 5 else escapes.get(m.group(1), m.group(1)),
            match.group(1))

    def _name(self) -> str:
        self._skip()
        match = re.compile(r"[_A-Za-z][_0-9A-Za-z]*").match(self.text, self.pos)
        if match is None:
            raise GraphQLSyntaxError(
                f"expected a name at offset {self.pos}")
        self.pos = match.end()
        return match.group(0)

    def _expect(self, char: str) -> None:
        self._skip()
        if self._peek() != char:
            raise GraphQLSyntaxError(f"expected {char!r} at offset {self.pos}")
        self.pos += 1

    def _peek(self) -> str:
        if self.pos >= len(self.text):
            raise GraphQLSyntaxError("unexpected end of query")
        return self.text[self.pos]

    def _skip(self) -> None:
        # Commas are insignificant in GraphQL, like whitespace and comments.
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in " \t\r\n,":
                self.pos += 1
            elif char == "#":
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            else:
                return
