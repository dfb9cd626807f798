"""Where the community monitor stopped reading, per platform.

Each platform's cursor is one small JSON file, ``cursors/<platform>.json``
in the state directory, holding the connector's opaque cursor string (a
Telegram update offset, an X ``since_id``, GitHub's last comment time...)
and when it was saved.

A cursor is an optimisation, not a guarantee: it saves reading the same
mentions again.  The guarantees live in the ledger (a mention is recorded
once, answered at most once).  So the rules here are about never *skipping*
a mention:

* a cursor is saved only after the mentions it moves past are recorded;
* it is written atomically (temporary file, fsync, rename), so a crash
  leaves the old cursor or the new one, never half of one;
* a file that cannot be read is reported and treated as "no cursor": the
  monitor reads from the start again, and the ledger drops what it has
  seen already.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

logger = logging.getLogger(__name__)

FOLDER = "cursors"


@dataclass(frozen=True)
class StoredCursor:
    platform: str
    cursor: str | None
    saved_at: str | None
    problem: str | None = None      # why the file was ignored, if it was


class CursorStore:
    """The cursors of one state directory."""

    def __init__(self, state_dir: str | Path):
        self.folder = Path(state_dir) / FOLDER

    def path(self, platform: str) -> Path:
        return self.folder / f"{platform}.json"

    def load(self, platform: str) -> StoredCursor:
        """The saved cursor, or an empty one (with ``problem`` set when a
        file was there but unusable)."""
        path = self.path(platform)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return StoredCursor(platform, None, None)
        except OSError as exc:
            return self._unusable(platform, path, exc.strerror or str(exc))

        try:
            data = json.loads(text)
        except ValueError:
            return self._unusable(platform, path, "not valid JSON")
        if not isinstance(data, dict) or not (
                data.get("cursor") is None
                or isinstance(data.get("cursor"), str)):
            return self._unusable(platform, path,
                                  "has no string 'cursor' field")
        return StoredCursor(platform, data.get("cursor"),
                            data.get("saved_at"))

    def save(self, platform: str, cursor: str | None) -> Path:
        """Replace the platform's cursor atomically."""
        path = self.path(platform)
        self.folder.mkdir(parents=True, exist_ok=True)
        payload = {"platform": platform, "cursor": cursor,
                   "saved_at": datetime.now(timezone.utc).strftime(
                       "%Y-%m-%dT%H:%M:%SZ")}
        # A name of its own per writer: two runs (or threads) saving at
        # once must not rename each other's half-written file.
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                                    dir=self.folder)
        temporary = Path(name)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, sort_keys=True)
            handle.write("\n")
            handle.flush()
            # The rename must not reach the disk before the data does, or a
            # power cut could leave an empty cursor file behind.
            os.fsync(handle.fileno())
        os.replace(temporary, path)
        _fsync_folder(self.folder)
        return path

    def _unusable(self, platform: str, path: Path,
                  why: str) -> StoredCursor:
        problem = (f"{path}: {why}; reading {platform} from the start "
                   "(mentions seen before are recognised and not answered "
                   "again)")
        logger.warning("%s", problem)
        return StoredCursor(platform, None, None, problem)


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
