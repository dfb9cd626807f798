"""State shared by the sandbox's platform modules: records, faults, clock.

One lock guards everything. The sandbox serves a handful of requests at a
time, so a single lock costs nothing and rules out a whole class of races
(two threads recording the same post id, a fault consumed twice).
"""

from __future__ import annotations

import copy
import itertools
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

SANDBOX_PLATFORMS = ("github", "telegram", "x", "reddit", "discord")

FAULT_KINDS = (
    "rate_limit",        # the platform's own 429 (or its equivalent) and retry hint
    "server_error",      # a 5xx
    "latency",           # sleep `seconds` before answering normally
    "malformed_json",    # the request is processed, the body comes back truncated
    "error_in_200",      # HTTP 200 whose body carries an error (where the platform does that)
    "revoke",            # credentials become invalid from this request on
    "cut_after_record",  # the request is processed (a post is recorded), no response at all
)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def iso_z(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z suffix, as GitHub and X write times."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Fault:
    platform: str
    endpoint: str           # an endpoint name, or "*" for every endpoint
    kind: str
    times: int | None       # None: persistent until cleared
    params: dict[str, Any] = field(default_factory=dict)
    id: int = 0

    def matches(self, platform: str, names: tuple[str, ...]) -> bool:
        if self.platform != platform:
            return False
        return self.endpoint == "*" or self.endpoint in names

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class PostRecord:
    """One accepted post or reply, as the sandbox saw it."""

    platform: str
    kind: str               # "post" or "reply"
    text: str
    remote_id: str
    permalink: str | None
    target: str             # repository, channel, subreddit, webhook channel, account
    title: str | None = None
    in_reply_to: str | None = None
    time: str = field(default_factory=lambda: utc_now().isoformat())
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class SandboxState:
    """Records, faults, revocations and latency; safe to use from threads."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        # Signalled whenever something a long poll may wait for changes.
        self.changed = threading.Condition(self.lock)
        self._fault_ids = itertools.count(1)
        self.clear()

    def clear(self) -> None:
        with self.lock:
            self._posts: list[PostRecord] = []
            self._faults: list[Fault] = []
            self._revoked: dict[str, dict[str, Any]] = {}
            self.latency = 0.0
            self.changed.notify_all()

    # -- records --------------------------------------------------------

    def record(self, record: PostRecord) -> PostRecord:
        with self.lock:
            self._posts.append(record)
            self.changed.notify_all()
        return record

    def posts(self, platform: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [copy.deepcopy(p.as_dict()) for p in self._posts
                    if platform is None or p.platform == platform]

    # -- faults ---------------------------------------------------------

    def add_fault(self, fault: Fault) -> Fault:
        with self.lock:
            fault.id = next(self._fault_ids)
            self._faults.append(fault)
        return fault

    def faults(self) -> list[dict[str, Any]]:
        with self.lock:
            return [f.as_dict() for f in self._faults]

    def clear_faults(self) -> None:
        with self.lock:
            self._faults.clear()

    def take_faults(self, platform: str,
                    names: tuple[str, ...]) -> tuple[float, Fault | None]:
        """Consume the faults that apply to one request.

        Returns the added latency (every matching latency fault counts) and
        at most one other fault, the oldest that matches.
        """
        delay = 0.0
        chosen: Fault | None = None
        with self.lock:
            for fault in list(self._faults):
                if not fault.matches(platform, names):
                    continue
                if fault.kind == "latency":
                    delay += float(fault.params.get("seconds", 1.0))
                elif chosen is None:
                    chosen = fault
                else:
                    continue
                self._use(fault)
        return delay, chosen

    def _use(self, fault: Fault) -> None:
        if fault.times is None:
            return
        fault.times -= 1
        if fault.times <= 0:
            self._faults.remove(fault)

    # -- revocation -----------------------------------------------------

    def revoke(self, platform: str, **params: Any) -> None:
        with self.lock:
            # The moment matters to Reddit, whose token-only revocation
            # spares tokens issued afterwards.
            self._revoked[platform] = {**params, "_at": time.time()}

    def revoked(self, platform: str) -> dict[str, Any] | None:
        """The revocation's parameters, or None while credentials are valid."""
        with self.lock:
            return self._revoked.get(platform)


def epoch_now() -> int:
    return int(time.time())
