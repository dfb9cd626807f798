"""What every platform connector offers, and the values it hands back.

A connector turns a draft into exactly what a platform will receive
(:class:`Rendered`), checks its credentials (:class:`PreflightResult`),
publishes and replies (:class:`Outcome`) and reads what people said to us
(:class:`Mention`).  The publish path never raises for a transport failure:
every failure comes back as an Outcome with a reason code, so one platform's
bad day never ends a run.  What a platform cannot do raises
:class:`Unsupported`; it is never faked.

Reason codes (``Outcome.reason_code``, ``PreflightResult.reason_code``):

``UNSUPPORTED_AUTH``   no credentials, platform disabled, or no API at all.
                       Operator: add credentials or leave it off.
``AUTH_FAILED``        the platform rejected the credentials (or they are
                       malformed).  Operator: replace them.
``RATE_LIMITED``       the platform asked us to slow down; ``retry_after``
                       says for how long when it told us.  Operator: wait.
``NETWORK_ERROR``      no answer (DNS, refused, timeout, connection cut).
                       Operator: check connectivity.
``PERMISSION_DENIED``  the credentials work but cannot write to the
                       configured target (missing rights, or the target does
                       not exist — platforms often answer both the same way,
                       e.g. GitHub's 404 for private repositories).
                       Operator: grant rights or fix the target in config,
                       not new credentials.
``PLATFORM_ERROR``     the platform failed (5xx) or answered something we
                       cannot read.  Operator: nothing to fix locally; wait.
``INVALID_CONTENT``    the platform refused this post's content (too long,
                       bad markup).  Operator: fix the draft, not the
                       platform; no breaker is opened for it.
``DUPLICATE``          the platform says this content was posted already
                       (X's duplicate-content 403, Reddit's ALREADY_SUB).
                       Always an "unknown" outcome: a human checks.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from marketing_ops.errors import MarketingOpsError

logger = logging.getLogger(__name__)

UNSUPPORTED_AUTH = "UNSUPPORTED_AUTH"
AUTH_FAILED = "AUTH_FAILED"
RATE_LIMITED = "RATE_LIMITED"
NETWORK_ERROR = "NETWORK_ERROR"
PERMISSION_DENIED = "PERMISSION_DENIED"
PLATFORM_ERROR = "PLATFORM_ERROR"
INVALID_CONTENT = "INVALID_CONTENT"
DUPLICATE = "DUPLICATE"

REASON_CODES = (UNSUPPORTED_AUTH, AUTH_FAILED, RATE_LIMITED, NETWORK_ERROR,
                PERMISSION_DENIED, PLATFORM_ERROR, INVALID_CONTENT,
                DUPLICATE)

#: Reason codes that say something about the platform or the credentials
#: (and so open a circuit breaker when the distribution agent meets them);
#: the others concern one post only.
BREAKER_REASONS = frozenset({UNSUPPORTED_AUTH, AUTH_FAILED, RATE_LIMITED,
                             NETWORK_ERROR, PERMISSION_DENIED,
                             PLATFORM_ERROR})

#: The marker's HTML-comment form, hidden where Markdown allows it.
MARKER_TEMPLATE = "<!-- marketing-ops:{marker} -->"


class Unsupported(MarketingOpsError):
    """The platform (or this kind of credential) cannot do that at all."""


class ReadFailed(MarketingOpsError):
    """Reading mentions failed; the cursor stays where it was, so nothing
    is skipped.  Carries the reason code like an Outcome."""

    def __init__(self, platform: str, reason_code: str | None, detail: str,
                 retry_after: float | None = None):
        self.platform = platform
        self.reason_code = reason_code
        self.detail = detail
        self.retry_after = retry_after
        super().__init__(f"{platform}: {reason_code} - {detail}")


@dataclass
class PreflightResult:
    platform: str
    ok: bool
    reason_code: str | None
    detail: str                 # one line, no secrets
    identity: str | None = None
    seconds: float = 0.0
    # True when preflight did not call the platform because its circuit
    # breaker is open and cooling down with unchanged credentials.
    skipped: bool = False

    def line(self) -> str:
        """``github: UNSUPPORTED_AUTH - No credentials`` or
        ``github: OK - sandbox-bot``."""
        code = "OK" if self.ok else (self.reason_code or "FAILED")
        return f"{self.platform}: {code} - {self.detail}"

    def as_dict(self) -> dict[str, Any]:
        return {"platform": self.platform, "ok": self.ok,
                "reason_code": self.reason_code, "detail": self.detail,
                "identity": self.identity,
                "seconds": round(self.seconds, 3), "skipped": self.skipped}


@dataclass(frozen=True)
class Rendered:
    platform: str
    kind: str                   # "post" or "reply"
    text: str                   # exactly what is sent, after escaping
    plain_text: str             # before escaping: what the policy reads
    title: str | None = None
    # field -> (length, platform limit, unit)
    measures: Mapping[str, tuple[int, int, str]] = field(default_factory=dict)
    fields: Mapping[str, Any] = field(default_factory=dict)
    marker: str | None = None

    def over_limit(self) -> list[str]:
        """Fields longer than the platform allows, as readable phrases."""
        return [f"{name} is {length} {unit}, limit {limit}"
                for name, (length, limit, unit) in self.measures.items()
                if length > limit]


@dataclass
class Outcome:
    status: str                 # "published" | "failed" | "unknown"
    permalink: str | None = None
    remote_id: str | None = None
    reason_code: str | None = None
    detail: str = ""
    retry_after: float | None = None

    @classmethod
    def published(cls, permalink: str | None, remote_id: str | None,
                  detail: str = "") -> "Outcome":
        return cls("published", permalink, remote_id, None, detail)

    @classmethod
    def failed(cls, reason_code: str, detail: str,
               retry_after: float | None = None) -> "Outcome":
        return cls("failed", None, None, reason_code, detail, retry_after)

    @classmethod
    def unknown(cls, reason_code: str, detail: str) -> "Outcome":
        return cls("unknown", None, None, reason_code, detail)


@dataclass
class Mention:
    platform: str
    id: str                     # stable, unique per platform
    thread_id: str | None
    author: str | None
    text: str
    url: str | None
    addressed_us: bool
    created_at: datetime | None
    raw_ref: dict[str, Any] = field(default_factory=dict)


class Connector:
    """One platform.  Subclasses declare what the platform needs and allows
    as class attributes, then implement the calls it supports."""

    name = ""
    can_publish = False
    can_reply = False
    can_read_mentions = False
    can_reconcile = False
    #: Environment variables the connector needs, in the order reported.
    credential_names: tuple[str, ...] = ()

    def __init__(self, settings, platform_config: Mapping[str, Any] | None,
                 *, timeout: float = 15.0):
        self.settings = settings
        self.config = dict(platform_config or {})
        self.timeout = timeout
        self._http = None

    @property
    def http(self):
        """The connector's HTTP client, made on first use, so that building
        a connector costs nothing and loads no HTTP library."""
        if self._http is None:
            from marketing_ops.platforms.http import HttpClient

            self._http = HttpClient(
                self.name, timeout=self.timeout, secrets=self.secrets(),
                rate_limit=self.read_rate_limit, **self.http_options())
            self.prepare_session(self._http.session)
        return self._http

    def read_rate_limit(self, status, headers, payload):
        """The platform's rate-limit signal in an answer, as a
        ``platforms.http.Limit``, or None (see ``platforms.http``)."""
        return None

    def http_options(self) -> dict[str, Any]:
        """Extra HttpClient arguments (a platform-specific User-Agent)."""
        return {}

    def prepare_session(self, session) -> None:
        """Add the platform's authentication and standing headers."""

    # -- credentials --------------------------------------------------------

    def credential(self, name: str) -> str:
        return (self.settings.get(name) or "").strip()

    def missing_credentials(self) -> list[str]:
        return [n for n in self.credential_names if not self.credential(n)]

    def credential_fingerprint(self) -> str:
        """A short, slow hash of the credential values: tells whether they
        changed without revealing them.  PBKDF2 rather than one SHA-256,
        because a lock file is readable by whoever reads the state folder
        and a short password must not be guessable from it offline."""
        joined = "\0".join(f"{n}={self.credential(n)}"
                           for n in self.credential_names)
        digest = hashlib.pbkdf2_hmac(
            "sha256", joined.encode("utf-8"),
            f"marketing-ops:{self.name}".encode("utf-8"), 20_000)
        return digest.hex()[:16]

    def secrets(self) -> list[str]:
        """Values to mask in anything this connector logs."""
        return list(self.settings.secret_values())

    # -- the calls ----------------------------------------------------------

    def preflight(self) -> PreflightResult:
        raise NotImplementedError

    def render(self, draft, *, kind: str = "post",
               marker: str | None = None) -> Rendered:
        raise Unsupported(f"{self.name} cannot publish")

    def render_reply(self, mention: Mention, text: str) -> Rendered:
        raise Unsupported(f"{self.name} cannot reply")

    def publish(self, rendered: Rendered) -> Outcome:
        raise Unsupported(f"{self.name} cannot publish")

    def find_published(self, marker: str, since: datetime,
                       text: str | None = None) -> Outcome | None:
        """Find a post made after ``since`` carrying ``marker`` (or, where
        the platform has nowhere to hide one, whose text is ``text``)."""
        raise Unsupported(
            f"{self.name} cannot tell whether a post went out; check the "
            "platform by hand")

    def read_mentions(self, cursor: str | None
                      ) -> tuple[list[Mention], str | None]:
        raise Unsupported(f"{self.name} cannot read mentions")

    def reply(self, mention: Mention, rendered: Rendered) -> Outcome:
        raise Unsupported(f"{self.name} cannot reply")

    # -- helpers for subclasses ---------------------------------------------

    def result(self, ok: bool, reason_code: str | None, detail: str,
               identity: str | None = None,
               seconds: float = 0.0) -> PreflightResult:
        return PreflightResult(self.name, ok, reason_code,
                               " ".join(detail.split()), identity, seconds)


def read_failure(platform: str, outcome: Outcome) -> ReadFailed:
    """The exception a read raises for a failed Outcome."""
    return ReadFailed(platform, outcome.reason_code, outcome.detail,
                      outcome.retry_after)


def draft_text(draft, platform: str, default: str) -> str:
    """The draft's per-platform ``text`` override, else ``default``."""
    override = draft.override(platform) if hasattr(draft, "override") else {}
    text = (override or {}).get("text")
    return text if text else default


def first_link(text: str) -> str | None:
    """The first http(s) URL in ``text`` (Markdown links included)."""
    import re

    match = re.search(r"https?://[^\s<>()\[\]]+", text or "")
    if not match:
        return None
    return match.group(0).rstrip(".,;:!?'\"")


def get_connector(platform: str, settings,
                  platforms_config: Mapping[str, Any] | None,
                  *, timeout: float | None = None) -> Connector:
    """The connector for ``platform``, configured from the loaded
    ``config/platforms.yaml`` mapping."""
    import importlib

    from marketing_ops import PLATFORMS

    if platform not in PLATFORMS:
        raise Unsupported(f"unknown platform {platform!r}; known: "
                          f"{', '.join(PLATFORMS)}")
    platforms_config = platforms_config or {}
    module = importlib.import_module(f"marketing_ops.platforms.{platform}")
    section = (platforms_config.get("platforms") or {}).get(platform) or {}
    if timeout is None:
        timeout = float(platforms_config.get("request_timeout_seconds", 15))
    return module.CONNECTOR(settings, section, timeout=timeout)
