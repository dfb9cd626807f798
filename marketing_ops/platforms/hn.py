"""Hacker News: no write API exists, so nothing is posted and preflight
always fails with UNSUPPORTED_AUTH.  The platform is listed so that reports
say so plainly instead of leaving it out."""

from __future__ import annotations

from marketing_ops.platforms.base import (UNSUPPORTED_AUTH, Connector,
                                          PreflightResult, Unsupported)


class HackerNewsConnector(Connector):
    name = "hn"
    credential_names = ()

    def preflight(self) -> PreflightResult:
        return self.result(False, UNSUPPORTED_AUTH, "No API")

    def render(self, draft, *, kind="post", marker=None):
        raise Unsupported("hn: Hacker News has no API to post with")

    def publish(self, rendered):
        raise Unsupported("hn: Hacker News has no API to post with")

    def read_mentions(self, cursor):
        raise Unsupported("hn: reading comments is not implemented")


CONNECTOR = HackerNewsConnector
