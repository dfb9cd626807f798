"""Moltbook, the append-only event ledger.

Every decision the agents take is one row here, so ``marketing-ops events``
answers "why did (or didn't) this post go out?" without reading logs.

SQLite in WAL mode, so readers never block the writer and several processes
(three agents, an operator script) can write at once: each write waits on
the busy timeout instead of failing.  Triggers make the database itself
refuse UPDATE and DELETE.  Every text written passes through the redactor,
so a secret that slipped into a message is masked before it is stored.

The interface (record, query, immediate) is deliberately narrow, so a shared
server database could stand behind it later.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator

from marketing_ops.errors import StateError
from marketing_ops.redact import redact

SCHEMA_VERSION = 2
BUSY_TIMEOUT_MS = 60_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    ts          TEXT NOT NULL,          -- UTC, ISO 8601 with microseconds
    run_id      TEXT,
    agent       TEXT NOT NULL,
    event_type  TEXT NOT NULL,          -- AGENT_ACTION, ERROR, ...
    action      TEXT NOT NULL,          -- PLATFORM_RESULT, PUBLISHING_PAUSED, ...
    status      TEXT NOT NULL,          -- success, blocked, failed, error, ...
    platform    TEXT,
    draft       TEXT,
    reason_code TEXT,
    message     TEXT NOT NULL DEFAULT '',
    details     TEXT,                   -- JSON object
    permalink   TEXT,
    dedupe_key  TEXT                    -- unique when set: one claim, one row
);
CREATE UNIQUE INDEX IF NOT EXISTS events_dedupe
    ON events(dedupe_key) WHERE dedupe_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_ts ON events(ts);
CREATE INDEX IF NOT EXISTS events_platform_action
    ON events(platform, action, ts);
-- Failed results per platform in a window, for the budget check.
CREATE INDEX IF NOT EXISTS events_platform_action_status
    ON events(platform, action, status, ts);
CREATE INDEX IF NOT EXISTS events_draft ON events(draft, platform);
CREATE INDEX IF NOT EXISTS events_action ON events(action);
CREATE INDEX IF NOT EXISTS events_type ON events(event_type);
CREATE INDEX IF NOT EXISTS events_status ON events(status);
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'Moltbook is append-only: events cannot be changed');
END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'Moltbook is append-only: events cannot be deleted');
END;
"""

COLUMNS = ("id", "ts", "run_id", "agent", "event_type", "action", "status",
           "platform", "draft", "reason_code", "message", "details",
           "permalink", "dedupe_key")


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ-") + \
        uuid.uuid4().hex[:8]


class Moltbook:
    """The ledger at ``path``.  ``redact`` lists values never to store."""

    def __init__(self, path: str | Path, redact: Iterable[str] = (),
                 run_id: str | None = None, agent: str = "cli",
                 readonly: bool = False):
        self.path = Path(path)
        self.readonly = readonly
        self.secrets = [s for s in redact if s]
        self.run_id = run_id
        self.agent = agent
        self._conn: sqlite3.Connection | None = None

    # -- connection -------------------------------------------------------

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = self._connect()
        return self._conn

    def _connect(self) -> sqlite3.Connection:
        if self.readonly:
            return self._connect_readonly()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000,
                                   isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StateError(f"{self.path}: cannot open the event ledger "
                             f"({exc}); check the state directory's owner "
                             "and mode") from None
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self._prepare(conn)
        return conn

    def _connect_readonly(self) -> sqlite3.Connection:
        """A connection that cannot write, for views that must change
        nothing (``plan``).  A ledger that does not exist yet reads as an
        empty one, without creating a file."""
        if self.path.exists():
            uri = f"file:{self.path}?mode=ro"
        else:
            uri = "file:empty-ledger?mode=memory&cache=private"
        conn = sqlite3.connect(uri, uri=True, isolation_level=None,
                               timeout=BUSY_TIMEOUT_MS / 1000)
        conn.row_factory = sqlite3.Row
        if not self.path.exists():
            for statement in _split_sql(_SCHEMA):
                conn.execute(statement)
        return conn

    def _prepare(self, conn: sqlite3.Connection) -> None:
        """Create the schema once; cheap when it exists already."""
        if conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
            return
        # Several processes may open a new ledger at the same moment; the
        # write lock of BEGIN IMMEDIATE lets one create, the others wait.
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _split_sql(_SCHEMA):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> "Moltbook":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- writing ----------------------------------------------------------

    def record(self, *, action: str, status: str,
               event_type: str = "AGENT_ACTION", agent: str | None = None,
               platform: str | None = None, draft: str | None = None,
               reason_code: str | None = None, message: str = "",
               details: dict[str, Any] | None = None,
               permalink: str | None = None, run_id: str | None = None,
               dedupe_key: str | None = None,
               conn: sqlite3.Connection | None = None) -> int:
        """Append one event and return its id.  Pass ``conn`` to write
        inside a transaction opened with :meth:`immediate`."""
        row = (
            utc_now(),
            run_id or self.run_id,
            agent or self.agent,
            event_type,
            action,
            status,
            platform,
            draft,
            reason_code,
            self._clean(message or ""),
            self._clean(json.dumps(details, sort_keys=True, default=str))
            if details else None,
            self._clean(permalink) if permalink else None,
            dedupe_key,
        )
        cursor = (conn or self.conn).execute(
            "INSERT INTO events (ts, run_id, agent, event_type, action, "
            "status, platform, draft, reason_code, message, details, "
            "permalink, dedupe_key) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", row)
        return cursor.lastrowid

    def _clean(self, text: str) -> str:
        return redact(text, self.secrets)

    @contextmanager
    def immediate(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that holds the database's write lock from
        its first statement, so a check (say, budget left) and the write it
        allows (the publish intent) cannot interleave with another
        process's.  Commits on success, rolls back on error."""
        conn = self.conn
        _retry_busy(lambda: conn.execute("BEGIN IMMEDIATE"))
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    # -- reading ----------------------------------------------------------

    def query(self, *, since: str | None = None, until: str | None = None,
              agent: str | None = None, platform: str | None = None,
              event_type: str | None = None, status: str | None = None,
              action: str | None = None, draft: str | None = None,
              limit: int | None = None, newest_first: bool = False,
              conn: sqlite3.Connection | None = None) -> list[dict[str, Any]]:
        """Events matching every given filter, oldest first by default."""
        clauses, params = [], []
        for column, value in (("agent", agent), ("platform", platform),
                              ("event_type", event_type), ("status", status),
                              ("action", action), ("draft", draft)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if since:
            clauses.append("ts >= ?")
            params.append(since)
        if until:
            clauses.append("ts < ?")
            params.append(until)
        sql = "SELECT * FROM events"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY id " + ("DESC" if newest_first else "ASC")
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        rows = (conn or self.conn).execute(sql, params).fetchall()
        return [_row_dict(row) for row in rows]

    def stats(self) -> dict[str, Any]:
        """Totals by event type and by status, largest first (ties in the
        order they first happened)."""
        conn = self.conn
        total = conn.execute("SELECT count(*) FROM events").fetchone()[0]
        by_type = conn.execute(
            "SELECT event_type, count(*) FROM events GROUP BY event_type "
            "ORDER BY count(*) DESC, min(id)").fetchall()
        by_status = conn.execute(
            "SELECT status, count(*) FROM events GROUP BY status "
            "ORDER BY count(*) DESC, min(id)").fetchall()
        return {"total": total,
                "by_event_type": {k: v for k, v in by_type},
                "by_status": {k: v for k, v in by_status}}


def _row_dict(row: sqlite3.Row) -> dict[str, Any]:
    event = dict(row)
    if event.get("details"):
        try:
            event["details"] = json.loads(event["details"])
        except ValueError:
            pass
    return event


def _split_sql(script: str) -> list[str]:
    """The schema's statements, one by one (triggers contain ';')."""
    statements, current = [], []
    for line in script.strip().splitlines():
        current.append(line)
        joined = "\n".join(current).strip()
        inside_trigger = joined.upper().startswith("CREATE TRIGGER")
        if joined.endswith(";") and (not inside_trigger
                                     or joined.upper().endswith("END;")):
            statements.append(joined)
            current = []
    return statements


def _retry_busy(action, attempts: int = 20):
    """Run ``action``, retrying while SQLite reports the database busy.

    The busy timeout covers most waits; this covers the cases SQLite does
    not route through the busy handler (e.g. a WAL recovery in progress)."""
    for attempt in range(attempts):
        try:
            return action()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if attempt == attempts - 1:
                raise StateError(f"the event ledger stayed busy: {exc}") \
                    from None
            time.sleep(0.05 * (attempt + 1))


def open_ledger(settings, *, agent: str = "cli",
                run_id: str | None = None) -> Moltbook:
    """The ledger in the settings' state directory, redacting every secret
    the settings know."""
    return Moltbook(settings.ledger_path, redact=settings.secret_values(),
                    run_id=run_id, agent=agent)


def operator_name() -> str:
    """Who is at the keyboard: the sudo caller if any, then the login."""
    import getpass
    import socket

    user = os.environ.get("SUDO_USER") or getpass.getuser()
    return f"{user}@{socket.gethostname()}"
