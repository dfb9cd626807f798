"""What every platform module of the sandbox provides to the server."""

from __future__ import annotations

import itertools
import time
from typing import Any

from .state import PostRecord, SandboxState
from .wire import Request, Response, Route


class PlatformSandbox:
    """One platform's stand-in. Subclasses fill in the routes and faults."""

    name = ""
    # Endpoint names where the real platform reports errors inside HTTP 200.
    error_in_200_endpoints: frozenset[str] = frozenset()
    # Every endpoint name a fault can be injected under (for validation).
    endpoint_names: frozenset[str] = frozenset()

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self._ids = itertools.count(1)

    def route(self, request: Request) -> Route | None:
        raise NotImplementedError

    def not_found(self, request: Request) -> Response:
        raise NotImplementedError

    def fault_response(self, kind: str, params: dict[str, Any],
                       request: Request, route: Route) -> Response:
        """The answer for an injected rate_limit, server_error or error_in_200."""
        raise NotImplementedError

    def revoked(self) -> dict[str, Any] | None:
        return self.state.revoked(self.name)

    def next_id(self) -> int:
        return next(self._ids)

    def record(self, **fields: Any) -> PostRecord:
        return self.state.record(PostRecord(platform=self.name, **fields))


class FixedWindow:
    """A rate-limit window that resets at fixed times, like most platforms'."""

    def __init__(self, limit: int, seconds: int) -> None:
        self.limit = limit
        self.seconds = seconds
        self.start = time.time()
        self.used = 0

    def _roll(self) -> None:
        now = time.time()
        if now >= self.start + self.seconds:
            self.start = now
            self.used = 0

    def take(self) -> bool:
        """Count one request; False when the window is already exhausted."""
        self._roll()
        if self.used >= self.limit:
            return False
        self.used += 1
        return True

    @property
    def remaining(self) -> int:
        self._roll()
        return max(self.limit - self.used, 0)

    @property
    def reset_epoch(self) -> float:
        return self.start + self.seconds

    @property
    def reset_after(self) -> float:
        return max(self.reset_epoch - time.time(), 0.0)
