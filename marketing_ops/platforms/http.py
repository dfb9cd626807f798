"""The HTTP client every connector shares.

It does four things the connectors must not each get slightly wrong:

* every call has a timeout;
* every URL it logs is masked (Telegram's token sits in the path, Discord's
  in the webhook URL) and every known secret is redacted from the line;
* it tells apart a request that never left (safe to send again) from one
  that may have reached the platform (a timeout or a cut connection after
  sending: the platform may have accepted it);
* it reads each platform's rate-limit signal through a function the
  connector hands in, and waits and retries only where that is safe.

Retry rules.  A *write* (publish, reply) is sent again only when the
platform provably did not take it: the connection was never made, or the
platform answered with its rate-limit signal and a wait no longer than
``max_wait``.  A 5xx on a write is NOT retried: a gateway can answer 502 or
504 after the service behind it accepted the post, so a 5xx does not prove
the post was refused, and a second attempt could post twice.  The caller
reports such a write as "unknown".  Reads (preflight, mentions) are
idempotent and are retried on connection errors and 5xx as well.  At most
``max_retries`` (2) further attempts are made either way.

``requests`` is imported here at module level; this module is imported only
by connectors, never by the CLI's fast paths.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Mapping

import requests

from marketing_ops import __version__
from marketing_ops.redact import (RedactingFilter, mask_url, redact,
                                  register_secrets)

logger = logging.getLogger(__name__)

DEFAULT_USER_AGENT = (f"marketing-ops/{__version__} "
                      "(+self-hosted announcement publisher)")

MAX_RETRIES = 2
MAX_WAIT_SECONDS = 30.0

#: How the request ended when no usable HTTP answer came back.
NOT_SENT = "not_sent"        # never reached the platform: safe to resend
MAYBE_SENT = "maybe_sent"    # may have reached it: never resend a write


def _quiet_third_party_loggers() -> None:
    """urllib3 logs each request line (with the URL path, where Telegram's
    token lives) at DEBUG; mask those lines at the source, because the
    handler that finally prints them may be anyone's.  oauthlib and
    requests-oauthlib log signature material and the OAuth header at DEBUG;
    nothing in it helps an operator, so those loggers stay at WARNING."""
    redacting = RedactingFilter()
    for name in ("urllib3.connectionpool", "urllib3.connection"):
        target = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in target.filters):
            target.addFilter(redacting)
    for name in ("oauthlib", "requests_oauthlib"):
        logging.getLogger(name).setLevel(logging.WARNING)


_quiet_third_party_loggers()


@dataclass
class Limit:
    """A rate-limit answer; ``wait`` is None when the platform gave no
    usable hint."""

    wait: float | None


@dataclass
class Reply:
    """What came back from one logical request (after any retries)."""

    status: int | None              # None: no HTTP answer at all
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    transport: str | None = None    # NOT_SENT / MAYBE_SENT when status None
    error: str = ""                 # short description, no URL, no secret
    limited: Limit | None = None    # set when the answer is a rate limit
    seconds: float = 0.0
    attempts: int = 1

    @property
    def answered(self) -> bool:
        return self.status is not None

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


RateLimitReader = Callable[[int, Mapping[str, str], Any], "Limit | None"]


def never_limited(status, headers, payload) -> Limit | None:
    return None


class HttpClient:
    """One connector's HTTP session."""

    def __init__(self, platform: str, *, timeout: float,
                 secrets: list[str] | tuple[str, ...] = (),
                 rate_limit: RateLimitReader = never_limited,
                 user_agent: str = DEFAULT_USER_AGENT,
                 max_retries: int = MAX_RETRIES,
                 max_wait: float = MAX_WAIT_SECONDS,
                 sleep: Callable[[float], None] = time.sleep):
        self.platform = platform
        self.timeout = timeout
        self.secrets = [s for s in secrets if s]
        self.rate_limit = rate_limit
        self.max_retries = max_retries
        self.max_wait = max_wait
        self.sleep = sleep
        self.session = requests.Session()
        self.session.headers["User-Agent"] = user_agent
        # A URL logged by urllib3 or an error text from requests may carry
        # a secret in a form mask_url does not know (a Reddit password in a
        # form body echoed back, say): make the process-wide filter know
        # this connector's values too.
        register_secrets(self.secrets)

    def close(self) -> None:
        self.session.close()

    # -- the one entry point ------------------------------------------------

    def request(self, method: str, url: str, *, write: bool = False,
                max_wait: float | None = None, **kwargs: Any) -> Reply:
        """Send one request, retrying where the rules above allow.  Never
        raises for a transport failure.  ``max_wait`` lowers the longest
        rate-limit wait for this call (0: never wait, report at once)."""
        kwargs.setdefault("timeout", self.timeout)
        wait_cap = self.max_wait if max_wait is None else min(max_wait,
                                                              self.max_wait)
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            reply = self._once(method, url, **kwargs)
            reply.attempts = attempt
            wait = self._retry_wait(reply, write, attempt, wait_cap)
            if wait is None:
                reply.seconds = time.monotonic() - started
                return reply

            logger.debug("%s: %s %s: %s; retrying in %.1f s",
                         self.platform, method, self.safe(url),
                         self.describe(reply), wait)
            self.sleep(wait)

    def _once(self, method: str, url: str, **kwargs: Any) -> Reply:
        started = time.monotonic()
        try:
            response = self.session.request(method, url, **kwargs)
            body = response.content
        except requests.RequestException as exc:
            transport, error = classify(exc)
            logger.debug("%s: %s %s -> %s (%s) after %.2f s", self.platform,
                         method, self.safe(url), error, type(exc).__name__,
                         time.monotonic() - started)
            return Reply(None, transport=transport, error=error,
                         seconds=time.monotonic() - started)

        reply = Reply(response.status_code, response.headers, body,
                      seconds=time.monotonic() - started)
        reply.limited = self.rate_limit(reply.status, reply.headers,
                                        reply.json())
        logger.debug("%s: %s %s -> %s in %.2f s", self.platform, method,
                     self.safe(url), reply.status, reply.seconds)
        return reply

    def _retry_wait(self, reply: Reply, write: bool, attempt: int,
                    wait_cap: float) -> float | None:
        """Seconds to wait before trying again, or None to stop here."""
        if attempt > self.max_retries:
            return None

        if reply.transport == NOT_SENT:
            return backoff(attempt)
        if reply.transport == MAYBE_SENT:
            return None if write else backoff(attempt)

        if reply.limited is not None:
            wait = reply.limited.wait
            if wait is None or wait > wait_cap or wait_cap <= 0:
                return None
            return max(wait, 0.0)

        if reply.status is not None and reply.status >= 500 and not write:
            return backoff(attempt)
        return None

    # -- words for logs -------------------------------------------------------

    def safe(self, text: str) -> str:
        """``text`` with URL credentials masked and known secrets removed."""
        return redact(mask_url(text), self.secrets)

    def describe(self, reply: Reply) -> str:
        if reply.status is None:
            return reply.error
        if reply.limited is not None:
            wait = reply.limited.wait
            hint = f", retry after {wait:.0f} s" if wait is not None else ""
            return f"rate limited (HTTP {reply.status}{hint})"
        return f"HTTP {reply.status}"


def classify(exc: Exception) -> tuple[str, str]:
    """(NOT_SENT or MAYBE_SENT, a short description) for a requests error.

    Only failures that happen before a connection exists prove the request
    never left; everything after that point may have been received."""
    if isinstance(exc, requests.ConnectTimeout):
        return NOT_SENT, "connection timed out"
    if isinstance(exc, requests.ReadTimeout):
        return MAYBE_SENT, "timed out waiting for the answer"
    if isinstance(exc, (requests.exceptions.InvalidURL,
                        requests.exceptions.MissingSchema,
                        requests.exceptions.InvalidSchema)):
        return NOT_SENT, "invalid URL in configuration"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return MAYBE_SENT, "connection cut while reading the answer"
    if isinstance(exc, requests.ConnectionError):
        reason = _root_cause(exc)
        name = type(reason).__name__
        if name in ("NewConnectionError", "NameResolutionError",
                    "ConnectionRefusedError", "gaierror"):
            return NOT_SENT, "could not connect"
        return MAYBE_SENT, "connection cut before the answer"
    return MAYBE_SENT, f"request failed ({type(exc).__name__})"


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost reason urllib3/requests wrapped."""
    seen = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        inner = getattr(exc, "reason", None)
        if inner is None and exc.args and isinstance(exc.args[0],
                                                     BaseException):
            inner = exc.args[0]
        if not isinstance(inner, BaseException):
            break
        exc = inner
    return exc


def backoff(attempt: int) -> float:
    """Short waits for transient failures: 0.5 s, then 1 s."""
    return 0.5 * (2 ** (attempt - 1))


# -- rate-limit signal helpers, combined per platform by the connectors ----

def retry_after_header(headers: Mapping[str, str]) -> float | None:
    """``Retry-After``: seconds, or an HTTP date."""
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(moment.timestamp() - time.time(), 0.0)


def epoch_header(headers: Mapping[str, str], name: str) -> float | None:
    """Seconds from now until the epoch time in header ``name``."""
    value = headers.get(name)
    try:
        return max(float(value) - time.time(), 0.0) if value else None
    except ValueError:
        return None


def seconds_header(headers: Mapping[str, str], name: str) -> float | None:
    """A header that holds seconds-until-reset directly."""
    value = headers.get(name)
    try:
        return max(float(value), 0.0) if value else None
    except ValueError:
        return None


def first_known(*values: float | None) -> float | None:
    for value in values:
        if value is not None:
            return value
    return None


# -- turning a Reply into an Outcome: the parts every platform shares ------

def common_failure(reply: Reply, what: str, *, write: bool = False,
                   where: str = "the platform"):
    """The Outcome for the failures that read the same on every platform
    (no answer, rate limit, 5xx), or None when the connector must look at
    the answer itself.

    For a write, a missing answer after the request may have left, and a
    5xx, are "unknown": the platform may hold the post (see the module
    docstring).  For a read they are plain failures."""
    from marketing_ops.platforms.base import (NETWORK_ERROR, PLATFORM_ERROR,
                                              RATE_LIMITED, Outcome)

    if reply.status is None:
        if write and reply.transport != NOT_SENT:
            return Outcome.unknown(
                NETWORK_ERROR, f"{what}: {reply.error}; it may have been "
                f"posted, check {where}")
        return Outcome.failed(NETWORK_ERROR, f"{what}: {reply.error}")

    if reply.limited is not None:
        wait = reply.limited.wait
        hint = f"; retry after {wait:.0f} s" if wait is not None else ""
        return Outcome.failed(RATE_LIMITED, f"{what}: rate limited "
                              f"(HTTP {reply.status}){hint}", wait)

    if reply.status >= 500:
        if write:
            return Outcome.unknown(
                PLATFORM_ERROR, f"{what}: HTTP {reply.status}; it may have "
                f"been accepted, check {where}")
        return Outcome.failed(PLATFORM_ERROR, f"{what}: HTTP {reply.status}")
    return None


def unreadable(what: str, *, write: bool, where: str = "the platform"):
    """The Outcome for a success status whose body cannot be read.  For a
    write the post was probably accepted but its id is lost: unknown."""
    from marketing_ops.platforms.base import PLATFORM_ERROR, Outcome

    if write:
        return Outcome.unknown(PLATFORM_ERROR, f"{what}: the answer could "
                               f"not be read; check {where}")
    return Outcome.failed(PLATFORM_ERROR, f"{what}: the answer could not "
                          "be read")
