"""A local stand-in for the platform APIs the publisher talks to.

`SandboxServer` serves GitHub, Telegram, X, Reddit and Discord on one local
port in their documented wire formats, records every accepted post and
reply, and injects faults on request. It shares no code with the connectors
in marketing_ops.platforms: both follow the documented contracts, so a
misreading in one shows up as a failure against the other.
"""

from .server import SandboxServer, serve

__all__ = ["SandboxServer", "serve"]
