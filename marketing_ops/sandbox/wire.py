"""Requests and responses as the sandbox's platform modules see them.

The HTTP server (server.py) turns each incoming request into a `Request`,
hands it to a platform module, and writes the `Response` it gets back.
Keeping this layer free of http.server lets the platform modules read like
descriptions of the APIs they imitate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import parse_qs


class BadRequestBody(ValueError):
    """The request body could not be decoded as the platform expects."""


@dataclass
class Request:
    """One request, with the platform's path prefix already removed."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    # The URL exactly as the client addressed it (scheme, Host header, full
    # path and query): OAuth 1.0a signatures are computed over it.
    url: str

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    @property
    def content_type(self) -> str:
        value = self.header("content-type", "") or ""
        return value.split(";", 1)[0].strip().lower()

    def json(self) -> Any:
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadRequestBody(str(exc)) from exc

    def form(self) -> dict[str, str]:
        """Form fields (last value wins), empty when the body is not a form."""
        if self.content_type != "application/x-www-form-urlencoded":
            return {}
        try:
            text = self.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadRequestBody(str(exc)) from exc
        fields = parse_qs(text, keep_blank_values=True)
        return {key: values[-1] for key, values in fields.items()}


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any,
             headers: dict[str, str] | None = None) -> "Response":
        body = json.dumps(payload).encode("utf-8")
        merged = {"Content-Type": "application/json; charset=utf-8"}
        merged.update(headers or {})
        return cls(status, body, merged)

    @classmethod
    def text(cls, status: int, text: str,
             content_type: str = "text/plain; charset=utf-8",
             headers: dict[str, str] | None = None) -> "Response":
        merged = {"Content-Type": content_type}
        merged.update(headers or {})
        return cls(status, text.encode("utf-8"), merged)

    @classmethod
    def empty(cls, status: int = 204,
              headers: dict[str, str] | None = None) -> "Response":
        return cls(status, b"", dict(headers or {}))


@dataclass
class Route:
    """What a platform module decided about a request.

    `names` are the endpoint names a fault can be injected under (the first
    is the canonical one); `handle` produces the normal answer.
    """

    names: tuple[str, ...]
    handle: Callable[[Request], Response]
