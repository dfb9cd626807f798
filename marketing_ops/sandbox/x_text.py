"""How X counts the length of a post (twitter-text configuration v3).

Written from the published rules, independently of any twitter-text
package, so that the sandbox can disagree with a connector that uses one:

* the text is NFC-normalised;
* each code point weighs 200 units, except U+0000-U+10FF, U+2000-U+200D,
  U+2010-U+201F and U+2032-U+2037, which weigh 100;
* an emoji sequence (with skin tones, variation selectors, ZWJ joins,
  flags, keycaps) weighs 200 in total;
* every URL weighs 2300 (23 characters), whatever its length;
* a post may weigh at most 28000 units (280 "characters").
"""

from __future__ import annotations

import re
import unicodedata

SCALE = 100
MAX_WEIGHTED_LENGTH = 280
URL_WEIGHT = 23 * SCALE
LIGHT_RANGES = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F),
                (0x2032, 0x2037))

# Generic top-level domains a URL without a scheme may end in. Two-letter
# country domains are handled by a rule below. The list is short: a domain
# missing here is counted character by character, which over-counts and so
# errs towards rejecting a post that X would accept.
GENERIC_TLDS = (
    "com", "net", "org", "edu", "gov", "mil", "int", "info", "biz", "name",
    "pro", "aero", "coop", "museum", "mobi", "asia", "tel", "travel", "jobs",
    "app", "dev", "page", "io", "ai", "xyz", "tech", "site", "online",
    "blog", "news", "cloud", "store", "shop", "live", "world", "today",
    "email", "link", "click", "space", "website", "club", "design", "art",
    "social", "network", "digital", "software", "systems", "tools", "codes",
    "github", "google", "community", "foundation", "academy", "agency",
)

_EMOJI_BASE = (
    "[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\u2300-\u23FF"
    "\u2190-\u21FF\u2934\u2935\u3030\u303D\u3297\u3299]"
    "|[\u00A9\u00AE\u203C\u2049\u2122\u2139](?=\uFE0F)")
_EMOJI_UNIT = (f"(?:{_EMOJI_BASE})\uFE0F?[\U0001F3FB-\U0001F3FF]?"
               "[\U000E0020-\U000E007F]*")
EMOJI = re.compile(
    "[\U0001F1E6-\U0001F1FF]{2}"            # a flag: two regional letters
    "|[0-9#*]\uFE0F?\u20E3"                 # a keycap
    f"|{_EMOJI_UNIT}(?:\u200D{_EMOJI_UNIT})*")

_LABEL = r"[a-z0-9\u00a1-\uffff](?:[a-z0-9\u00a1-\uffff-]*[a-z0-9\u00a1-\uffff])?"
_TLD = r"(?:" + "|".join(sorted(GENERIC_TLDS, key=len, reverse=True)) + \
    r"|[a-z]{2})"
URL = re.compile(
    r"(?<![\w@.$#/-])"
    r"(?P<scheme>https?://)?"
    rf"(?P<host>(?:{_LABEL}\.)+(?P<tld>{_TLD}))"
    r"(?P<port>:\d{1,5})?"
    r"(?P<path>/[^\s]*)?"
    r"(?![\w@-])",
    re.IGNORECASE)
_TRAILING = ".,:;!?'\")]}"


def _find_urls(text: str) -> list[tuple[int, int]]:
    spans = []
    for match in URL.finditer(text):
        tld = match.group("tld").lower()
        is_country = len(tld) == 2 and tld not in GENERIC_TLDS
        # Without a scheme, a two-letter country domain counts as a URL
        # only with a path ("example.de/x"), so "file.py" stays text.
        if is_country and not match.group("scheme") and not match.group("path"):
            continue
        start, end = match.span()
        while end > start and text[end - 1] in _TRAILING:
            end -= 1
        spans.append((start, end))
    return spans


def _code_point_weight(char: str) -> int:
    point = ord(char)
    for low, high in LIGHT_RANGES:
        if low <= point <= high:
            return SCALE
    return 2 * SCALE


def weighted_length(text: str) -> int:
    """The weight of `text` in units (28000 units = 280 characters)."""
    text = unicodedata.normalize("NFC", text)
    urls = _find_urls(text)
    total, index = 0, 0
    while index < len(text):
        url = next((span for span in urls if span[0] == index), None)
        if url:
            total += URL_WEIGHT
            index = url[1]
            continue
        emoji = EMOJI.match(text, index)
        if emoji and emoji.end() > index:
            total += 2 * SCALE
            index = emoji.end()
            continue
        total += _code_point_weight(text[index])
        index += 1
    return total


def is_too_long(text: str) -> bool:
    return weighted_length(text) > MAX_WEIGHTED_LENGTH * SCALE
