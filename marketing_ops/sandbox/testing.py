"""Helpers for tests that talk to the sandbox.

* `sandbox_server()` - a started in-process `SandboxServer`, stopped after.
* `sandbox` - the same as a pytest fixture (`from marketing_ops.sandbox.testing
  import sandbox` in a conftest or test module).
* `SandboxClient(url)` - the control API over HTTP, with the same method
  names as `SandboxServer`, for a sandbox running in another process.
* `sandbox_process()` - runs `python -m marketing_ops.sandbox --port 0` as a
  subprocess and yields a `SandboxClient` for it (crash tests kill the
  publisher, not the sandbox, so records survive).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import urllib.request
from typing import Any, Iterator

from .server import SandboxServer


@contextlib.contextmanager
def sandbox_server(host: str = "127.0.0.1",
                   port: int = 0) -> Iterator[SandboxServer]:
    server = SandboxServer(host, port).start()
    try:
        yield server
    finally:
        server.stop()


try:
    import pytest
except ImportError:  # the fixture is only for test runs
    pytest = None

if pytest is not None:
    @pytest.fixture
    def sandbox() -> Iterator[SandboxServer]:
        """A fresh sandbox per test, on a free local port."""
        with sandbox_server() as server:
            yield server


class SandboxClient:
    """The sandbox's control API (/_sandbox/...) over HTTP.

    Uses urllib so that a test can drive the sandbox without the HTTP
    library under test sitting in between.
    """

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str,
              payload: dict[str, Any] | None = None) -> Any:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(
            f"{self.url}/_sandbox{path}", data=data, method=method,
            headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as rsp:
                return json.loads(rsp.read() or b"null")
        except urllib.error.HTTPError as exc:
            detail = json.loads(exc.read() or b"{}").get("error", exc.reason)
            raise ValueError(f"sandbox control API: {detail}") from None

    @property
    def posts(self) -> list[dict[str, Any]]:
        return self._call("GET", "/posts")["posts"]

    def posts_for(self, platform: str) -> list[dict[str, Any]]:
        return self._call("GET", f"/posts?platform={platform}")["posts"]

    def env(self) -> dict[str, str]:
        return self._call("GET", "/env")["env"]

    def platform_urls(self) -> dict[str, dict[str, str]]:
        return self._call("GET", "/env")["urls"]

    def inject(self, platform: str, endpoint: str, fault: str, *,
               times: int | None = 1, **params: Any) -> dict[str, Any]:
        return self._call("POST", "/faults", {
            "platform": platform, "endpoint": endpoint, "fault": fault,
            "times": times, "params": params})["fault"]

    def faults(self) -> list[dict[str, Any]]:
        return self._call("GET", "/faults")["faults"]

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def set_latency(self, seconds: float) -> None:
        self._call("POST", "/latency", {"seconds": seconds})

    def revoke(self, platform: str, **params: Any) -> None:
        self._call("POST", "/revoke", {"platform": platform,
                                       "params": params})

    def reset(self) -> None:
        self._call("POST", "/reset", {})

    def seed_mention(self, platform: str, text: str,
                     **fields: Any) -> dict[str, Any]:
        return self._call("POST", "/seed/mention",
                          {"platform": platform, "text": text,
                           **fields})["seeded"]

    def seed_repo(self, full_name: str, **fields: Any) -> dict[str, Any]:
        return self._call("POST", "/seed/repo",
                          {"full_name": full_name, **fields})["seeded"]

    def seed_release(self, tag_name: str, **fields: Any) -> dict[str, Any]:
        return self._call("POST", "/seed/release",
                          {"tag_name": tag_name, **fields})["seeded"]


@contextlib.contextmanager
def sandbox_process(host: str = "127.0.0.1",
                    timeout: float = 15.0) -> Iterator[SandboxClient]:
    """A sandbox in its own process, stopped (SIGTERM) on exit."""
    process = subprocess.Popen(
        [sys.executable, "-m", "marketing_ops.sandbox", "--host", host,
         "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        first_line = process.stdout.readline()
        marker = "listening on "
        if marker not in first_line:
            process.kill()
            raise RuntimeError("the sandbox did not start: "
                               + (first_line + process.stderr.read()).strip())
        yield SandboxClient(first_line.split(marker, 1)[1].strip(), timeout)
    finally:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()
