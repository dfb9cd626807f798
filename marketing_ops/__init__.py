"""marketing-ops: an unattended publisher that is careful before every post."""

__version__ = "0.1.0"

#: Every platform the system knows, in the order reports list them.
PLATFORMS = ("github", "telegram", "x", "reddit", "discord", "hn")
