"""Telegram's text formatting rules, checked the way the Bot API checks them.

`plain_text(text, parse_mode)` returns the message text after entity
parsing, or raises `EntityError` with the description Telegram would send
("can't parse entities: ..."). The length limit applies to that result.
"""

from __future__ import annotations

import re

MARKDOWN_V2_RESERVED = set("_*[]()~`>#+-=|{}.!\\")


class EntityError(ValueError):
    """The text does not parse; str() is Telegram's description tail."""


def plain_text(text: str, parse_mode: str | None) -> str:
    mode = (parse_mode or "").strip()
    if not mode:
        return text
    if mode.lower() == "markdownv2":
        return _MarkdownV2(text).parse()
    if mode.lower() == "html":
        return _Html(text).parse()
    if mode.lower() == "markdown":
        return _LegacyMarkdown(text).parse()
    raise EntityError("unsupported parse_mode")


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


class _MarkdownV2:
    """Bold *x*, italic _x_, underline __x__, strike ~x~, spoiler ||x||,
    code `x`, pre ```x```, links [x](url), custom emoji ![x](url) and
    block quotes (> at a line start). Any other reserved character must be
    escaped with a backslash."""

    NAMES = {"*": "Bold", "_": "Italic", "__": "Underline",
             "~": "Strikethrough", "||": "Spoiler", "[": "TextUrl",
             "![": "CustomEmoji"}

    def __init__(self, text: str) -> None:
        self.text = text
        self.out: list[str] = []
        self.stack: list[tuple[str, int]] = []  # (marker, start index)

    def parse(self) -> str:
        text, i = self.text, 0
        at_line_start = True
        while i < len(text):
            char = text[i]
            if char == "\\":
                i = self._escape(i)
            elif char == "`":
                i = self._code(i)
            elif char == ">" and at_line_start:
                i += 1  # a block quote line; the marker is not text
            elif char in MARKDOWN_V2_RESERVED:
                i = self._entity(i)
            else:
                self.out.append(char)
                i += 1
            at_line_start = text[i - 1:i] == "\n" if i else True
        if self.stack:
            marker, start = self.stack[-1]
            raise EntityError(
                f"Can't find end of {self.NAMES[marker]} entity at byte "
                f"offset {_byte_offset(text, start)}")
        return "".join(self.out)

    def _escape(self, i: int) -> int:
        following = self.text[i + 1:i + 2]
        if following and 1 <= ord(following) <= 126:
            self.out.append(following)
            return i + 2
        # A backslash before anything else (or at the end) is itself
        # unescaped and therefore reserved.
        raise _reserved("\\")

    def _code(self, i: int) -> int:
        text = self.text
        fence = "```" if text.startswith("```", i) else "`"
        j = i + len(fence)
        body: list[str] = []
        while j < len(text):
            if text[j] == "\\" and j + 1 < len(text) and \
                    text[j + 1] in "`\\":
                body.append(text[j + 1])
                j += 2
                continue
            if text.startswith(fence, j):
                content = "".join(body)
                if fence == "```" and "\n" in content:
                    # The first line of a pre block may name its language.
                    first, rest = content.split("\n", 1)
                    if first and " " not in first:
                        content = rest
                self.out.append(content)
                return j + len(fence)
            body.append(text[j])
            j += 1
        kind = "Pre" if fence == "```" else "Code"
        raise EntityError(f"Can't find end of {kind} entity at byte offset "
                          f"{_byte_offset(text, i)}")

    def _entity(self, i: int) -> int:
        text, char = self.text, self.text[i]
        top = self.stack[-1][0] if self.stack else None
        if char == "_":
            if top == "__" and text.startswith("__", i):
                return self._close(i, 2)
            if top == "_":
                return self._close(i, 1)
            marker = "__" if text.startswith("__", i) else "_"
            return self._open(marker, i)
        if char in "*~":
            return self._close(i, 1) if top == char else self._open(char, i)
        if char == "|":
            if not text.startswith("||", i):
                raise _reserved("|")
            return self._close(i, 2) if top == "||" else self._open("||", i)
        if char == "[":
            return self._open("[", i)
        if char == "!" and text.startswith("![", i):
            return self._open("![", i, width=2)
        if char == "]" and top in ("[", "!["):
            return self._link_end(i)
        raise _reserved(char)

    def _open(self, marker: str, i: int, width: int | None = None) -> int:
        self.stack.append((marker, i))
        return i + (width if width is not None else len(marker))

    def _close(self, i: int, width: int) -> int:
        self.stack.pop()
        return i + width

    def _link_end(self, i: int) -> int:
        text = self.text
        marker, start = self.stack.pop()
        if not text.startswith("(", i + 1):
            if marker == "![":
                raise EntityError("Custom emoji entity must contain a URL")
            return i + 1
        j = i + 2
        url: list[str] = []
        while j < len(text):
            if text[j] == "\\" and j + 1 < len(text) and text[j + 1] in ")\\":
                url.append(text[j + 1])
                j += 2
                continue
            if text[j] == ")":
                return j + 1
            url.append(text[j])
            j += 1
        raise EntityError(f"Can't find end of a URL at byte offset "
                          f"{_byte_offset(text, i + 1)}")


def _reserved(char: str) -> EntityError:
    return EntityError(f"Character '{char}' is reserved and must be escaped "
                       "with the preceding '\\'")


class _Html:
    """The tags Telegram accepts, with their few permitted attributes."""

    TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del",
            "span", "tg-spoiler", "a", "code", "pre", "tg-emoji",
            "blockquote"}
    ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}

    def __init__(self, text: str) -> None:
        self.text = text

    def parse(self) -> str:
        text, out, open_tags, i = self.text, [], [], 0
        while i < len(text):
            char = text[i]
            if char == "&":
                i = self._entity(i, out)
            elif char == "<":
                i = self._tag(i, open_tags)
            else:
                out.append(char)
                i += 1
        if open_tags:
            raise EntityError("Can't find end tag corresponding to start "
                              f"tag \"{open_tags[-1]}\"")
        return "".join(out)

    def _entity(self, i: int, out: list[str]) -> int:
        match = re.compile(r"&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);").match(
            self.text, i)
        if match is None:
            # Telegram reads an unknown "&" as text; the sandbox is stricter
            # so that a connector that forgets to escape "&" is caught.
            raise EntityError(f"Unescaped \"&\" at byte offset "
                              f"{_byte_offset(self.text, i)}; write &amp;")
        name = match.group(1)
        if name.startswith("#x"):
            out.append(chr(int(name[2:], 16)))
        elif name.startswith("#"):
            out.append(chr(int(name[1:])))
        elif name in self.ENTITIES:
            out.append(self.ENTITIES[name])
        else:
            raise EntityError(f"Unsupported HTML entity \"&{name};\" at "
                              f"byte offset {_byte_offset(self.text, i)}")
        return match.end()

    def _tag(self, i: int, open_tags: list[str]) -> int:
        text = self.text
        end = text.find(">", i)
        if end < 0:
            raise EntityError("Unclosed start tag at byte offset "
                              f"{_byte_offset(text, i)}")
        inner = text[i + 1:end]
        offset = _byte_offset(text, i)
        if inner.startswith("/"):
            name = inner[1:].strip().lower()
            if not open_tags:
                raise EntityError(f"Unexpected end tag at byte offset "
                                  f"{offset}")
            expected = open_tags.pop()
            if name and name != expected:
                raise EntityError(
                    f"Unmatched end tag at byte offset {offset}, expected "
                    f"\"</{expected}>\", found \"</{name}>\"")
            return end + 1
        match = re.match(r"([a-zA-Z][\w-]*)", inner)
        name = match.group(1).lower() if match else ""
        if name not in self.TAGS:
            raise EntityError(f"Unsupported start tag \"{name}\" at byte "
                              f"offset {offset}")
        if name == "span" and "tg-spoiler" not in inner:
            raise EntityError(f"Tag \"span\" must have class \"tg-spoiler\" "
                              f"at byte offset {offset}")
        open_tags.append(name)
        return end + 1


class _LegacyMarkdown:
    """*bold*, _italic_, `code`, ```pre```, [text](url); no nesting."""

    PAIRS = {"*": "Bold", "_": "Italic", "`": "Code"}

    def __init__(self, text: str) -> None:
        self.text = text

    def parse(self) -> str:
        text, out, i = self.text, [], 0
        while i < len(text):
            char = text[i]
            if char == "\\" and i + 1 < len(text) and text[i + 1] in "_*`[":
                out.append(text[i + 1])
                i += 2
            elif text.startswith("```", i):
                end = text.find("```", i + 3)
                if end < 0:
                    raise self._unclosed(i)
                out.append(text[i + 3:end])
                i = end + 3
            elif char in self.PAIRS:
                end = text.find(char, i + 1)
                if end < 0:
                    raise self._unclosed(i)
                out.append(text[i + 1:end])
                i = end + 1
            elif char == "[":
                match = re.compile(r"\[([^\]]*)\]\(([^)]*)\)").match(text, i)
                if match is None:
                    raise self._unclosed(i)
                out.append(match.group(1))
                i = match.end()
            else:
                out.append(char)
                i += 1
        return "".join(out)

    def _unclosed(self, i: int) -> EntityError:
        return EntityError("Can't find end of the entity starting at byte "
                           f"offset {_byte_offset(self.text, i)}")
