"""Keep secrets out of everything the package writes or prints.

Two layers: connectors mask the secret parts of URLs they log (Telegram's
token sits in the path, Discord's in the webhook URL), and every text that
reaches the ledger, a report or the terminal passes through
:func:`redact`, which replaces any known secret value wherever it appears.
"""

from __future__ import annotations

import re
from typing import Iterable

MASK = "***"

# /bot<token>/ in Telegram URLs and /webhooks/<id>/<token> in Discord URLs.
_URL_SECRETS = (
    (re.compile(r"/bot[^/\s]+"), "/bot" + MASK),
    (re.compile(r"(/webhooks/[^/\s]+/)[^/?\s]+"), r"\1" + MASK),
    (re.compile(r"(://)[^/@\s:]+:[^/@\s]+@"), r"\1" + MASK + "@"),
)


def mask_url(url: str) -> str:
    """A URL with its embedded credentials replaced, safe to log."""
    for pattern, replacement in _URL_SECRETS:
        url = pattern.sub(replacement, url)
    return url


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of every secret replaced."""
    if not text:
        return text
    # Longest first, so a secret that contains another is masked whole.
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


# Secrets the process has loaded, so that any text on its way out (a log
# line, an error message) can be cleaned even where no settings are at hand.
_KNOWN: set[str] = set()


def register_secrets(values: Iterable[str]) -> None:
    _KNOWN.update(v for v in values if v and len(v) >= 4)


def redact_known(text: str) -> str:
    return mask_url(redact(text, _KNOWN))


class RedactingFilter:
    """A logging filter that masks every registered secret and the secret
    parts of URLs in each record, whatever logger it came from."""

    def filter(self, record) -> bool:
        message = record.getMessage()
        cleaned = redact_known(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
