"""The draft queue: Markdown files with YAML front matter in
``<config>/drafts/``, and each draft's state per platform, read from the
ledger.

A draft looks like this::

    ---
    id: release-1-4-0
    title: Release 1.4.0
    platforms: [github, x, telegram]
    overrides:
      x:
        text: "1.4.0 is out: faster sync. https://example.org/1.4"
    not_before: 2026-03-02T09:00:00+01:00
    ---
    The Markdown body: what most platforms publish.

The front matter is validated against ``schemas/draft.schema.json``; every
problem is reported as one ``file:line:column: what is wrong`` line, with
lines counted in the draft file itself.  Files whose name starts with ``_``
or ``.`` are skipped, so a draft still being written can sit in the folder
as ``_next-release.md`` without being published.

The agents never rewrite a draft file: what happened to a draft lives in the
ledger only, and :func:`draft_states` reads it from there.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterable

from marketing_ops.errors import ConfigError, ConfigErrors, EXIT_BAD_INPUT

logger = logging.getLogger(__name__)

SCHEMA = "draft"
FENCE = "---"


@dataclass(frozen=True)
class Draft:
    id: str
    title: str
    body: str
    platforms: tuple[str, ...]
    # dicts are not hashable; leave them out of the generated __hash__.
    overrides: dict[str, dict] = field(default_factory=dict, hash=False)
    not_before: datetime | None = None
    expires: datetime | None = None
    tags: tuple[str, ...] = ()
    path: Path | None = None

    def override(self, platform: str) -> dict:
        """The platform's overrides, ``{}`` if it has none."""
        return dict(self.overrides.get(platform) or {})

    def is_due(self, now: datetime) -> bool:
        """Inside its publishing window at ``now`` (an aware datetime)."""
        if self.not_before is not None and now < self.not_before:
            return False
        return self.expires is None or now < self.expires

    def is_expired(self, now: datetime) -> bool:
        return self.expires is not None and now >= self.expires


# -- reading drafts -------------------------------------------------------

def drafts_dir(settings) -> Path:
    return Path(settings.config_dir) / "drafts"


def draft_files(folder: Path) -> list[Path]:
    """The draft files in ``folder``, by name; a missing folder has none."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.md")
                  if p.is_file() and not p.name.startswith(("_", ".")))


def load_drafts(settings) -> list[Draft]:
    """Every draft in the settings' drafts folder.  Raises
    :class:`ConfigErrors` listing every problem of every file if any draft
    is invalid."""
    drafts, errors = load_drafts_lenient(settings)
    if errors:
        raise ConfigErrors(errors)
    return drafts


def load_drafts_lenient(settings) -> tuple[list[Draft], list[ConfigError]]:
    """The valid drafts and the problems of the others, so one bad file
    does not hold back the rest.  A draft whose id clashes with an earlier
    file's is left out (the earlier one stays)."""
    return load_draft_folder(drafts_dir(settings))


def load_draft_folder(folder: Path) -> tuple[list[Draft], list[ConfigError]]:
    drafts: list[Draft] = []
    errors: list[ConfigError] = []
    first_seen: dict[str, Draft] = {}

    for path in draft_files(folder):
        try:
            draft = load_draft_file(path)
        except ConfigErrors as exc:
            errors.extend(exc.errors)
            continue

        # Two files with one id would share one history in the ledger, so
        # the second could never be published (or worse, be taken for the
        # first): refuse it and name both files.
        earlier = first_seen.get(draft.id)
        if earlier is not None:
            errors.append(ConfigError(
                f"id {draft.id!r} is already used by {_shown(earlier.path)}; "
                "give each draft its own id", path, _id_line(path), 1))
            continue
        first_seen[draft.id] = draft
        drafts.append(draft)

    if errors:
        logger.warning("%d problem(s) in the drafts folder %s", len(errors),
                       folder)
    return drafts, errors


def load_draft_file(path: str | Path) -> Draft:
    """Read and validate one draft file."""
    from marketing_ops.config.yamlfile import read_text

    path = Path(path)
    text = read_text(path)
    return parse_draft(text, path)


def parse_draft(text: str, path: str | Path) -> Draft:
    """A draft from the text of its file; ``path`` is used in messages."""
    front, first_line, body, body_line = split_front_matter(text, path)
    data, positions = _parse_front_matter(front, path, first_line)
    if not body.strip():
        raise ConfigErrors([ConfigError(
            "the body is empty; write the post's Markdown below the closing "
            "'---' line", path, body_line, 1)])
    return build_draft(data, body.strip("\n"), path, positions)


def split_front_matter(text: str, path) -> tuple[str, int, str, int]:
    """``(front matter, its first file line, body, its first file line)``.

    Raises a located :class:`ConfigErrors` when the fences are missing."""
    lines = text.lstrip("\ufeff").splitlines(keepends=True)
    if not lines or lines[0].rstrip() != FENCE:
        raise ConfigErrors([ConfigError(
            "missing front matter: a draft starts with a line '---', then "
            "its settings (id, title, platforms), then another '---', then "
            "the Markdown body", path, 1, 1)])

    for index in range(1, len(lines)):
        if lines[index].rstrip() == FENCE:
            front = "".join(lines[1:index])
            body = "".join(lines[index + 1:])
            return front, 2, body, index + 2

    raise ConfigErrors([ConfigError(
        "unterminated front matter: no closing '---' line after the one on "
        "line 1; add it between the settings and the body", path, 1, 1)])


def _parse_front_matter(front: str, path, first_line: int):
    from marketing_ops.config.yamlfile import parse_yaml, schema_errors

    if not front.strip():
        raise ConfigErrors([ConfigError(
            "the front matter is empty; it needs at least id, title and "
            "platforms", path, first_line, 1)])
    data, positions = parse_yaml(front, path, line_offset=first_line - 1)
    if not isinstance(data, dict):
        raise ConfigErrors([ConfigError(
            "the front matter must be 'key: value' settings (id, title, "
            "platforms...)", path, first_line, 1)])

    # YAML turns an unquoted 2026-03-02T09:00:00+01:00 into a datetime; the
    # schema speaks JSON, so hand it text and parse it ourselves below.
    data = {key: _as_text_if_time(value) for key, value in data.items()}
    errors = schema_errors(data, positions, SCHEMA, path)
    if errors:
        raise ConfigErrors(errors)
    return data, positions


def _as_text_if_time(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def build_draft(data: dict[str, Any], body: str, path,
                positions: dict | None = None) -> Draft:
    """A :class:`Draft` from front matter that passed the schema, after the
    checks a schema cannot express (times, their order)."""
    positions = positions or {}
    errors: list[ConfigError] = []
    times = {}
    for key in ("not_before", "expires"):
        if key in data:
            times[key] = _parse_time(key, data[key], path, positions, errors)

    if times.get("not_before") and times.get("expires") and \
            times["expires"] <= times["not_before"]:
        line, column = positions.get(("expires",), (None, None))
        errors.append(ConfigError(
            "expires: is not after not_before, so the draft could never be "
            "published; move one of them", path, line, column))
    if errors:
        raise ConfigErrors(errors)

    return Draft(
        id=data["id"],
        title=data["title"],
        body=body,
        platforms=tuple(data["platforms"]),
        overrides={name: dict(values) for name, values
                   in (data.get("overrides") or {}).items()},
        not_before=times.get("not_before"),
        expires=times.get("expires"),
        tags=tuple(data.get("tags") or ()),
        path=Path(path) if path is not None else None,
    )


def _parse_time(key, text, path, positions, errors) -> datetime | None:
    line, column = positions.get((key,), (None, None))
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        errors.append(ConfigError(
            f"{key}: {text!r} is not an ISO 8601 time; write e.g. "
            "2026-03-02T09:00:00+01:00", path, line, column))
        return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        errors.append(ConfigError(
            f"{key}: {text!r} has no UTC offset, so it is ambiguous; add one, "
            f"e.g. {moment.strftime('%Y-%m-%dT%H:%M:%S')}+01:00 or ...Z",
            path, line, column))
        return None
    return moment


def _id_line(path: Path) -> int | None:
    """The line of ``id:`` in a draft file, for the duplicate-id message."""
    try:
        for number, line in enumerate(path.read_text("utf-8").splitlines(),
                                      1):
            if line.startswith("id:"):
                return number
    except (OSError, UnicodeDecodeError):
        pass
    return None


def _shown(path: Path | None) -> str:
    from marketing_ops.errors import display_path

    if path is None:
        return "another draft"
    line = _id_line(path)
    return display_path(path) + (f":{line}" if line else "")


# -- state from the ledger ------------------------------------------------

QUEUED = "queued"
PUBLISHED = "published"
BLOCKED = "blocked"
FAILED = "failed"
UNKNOWN = "unknown"
DRY_RUN = "dry-run"

#: The ledger actions (with their statuses) that say where a draft stands
#: on a platform.  Every other action is ignored here.
PUBLISH_INTENT = "PUBLISH_INTENT"      # pending: about to call the API
PLATFORM_RESULT = "PLATFORM_RESULT"    # success | failed | unknown | dry_run
POLICY_VERDICT = "POLICY_VERDICT"      # blocked | success
BUDGET_CHECK = "BUDGET_CHECK"          # blocked
RECONCILED = "RECONCILED"              # success (found) | unknown | failed
RELEVANT_ACTIONS = frozenset({PUBLISH_INTENT, PLATFORM_RESULT, POLICY_VERDICT,
                              BUDGET_CHECK, RECONCILED})


@dataclass(frozen=True)
class State:
    """Where one draft stands on one platform."""

    name: str                      # queued, published, blocked, failed,
                                   # unknown or dry-run
    at: str | None = None          # UTC time of the event that decided it
    permalink: str | None = None
    detail: str = ""               # the deciding event's message or reason

    @property
    def is_settled(self) -> bool:
        """Published, or possibly published: never attempt it again.  An
        unknown outcome stays settled until reconciliation or a person
        decides, because posting again could post twice."""
        return self.name in (PUBLISHED, UNKNOWN)


def draft_states(ledger, drafts: Iterable[Draft], *, conn=None
                 ) -> dict[tuple[str, str], State]:
    """The state of every draft on every platform it targets.

    ``conn`` lets a caller read inside its own ledger transaction (e.g.
    while holding the write lock before recording a publish intent)."""
    states: dict[tuple[str, str], State] = {}
    for draft in drafts:
        events = [e for e in ledger.query(draft=draft.id, conn=conn)
                  if e["action"] in RELEVANT_ACTIONS]
        for platform in draft.platforms:
            mine = [e for e in events if e["platform"] == platform]
            states[(draft.id, platform)] = state_from_events(mine)
    return states


def state_from_events(events: list[dict]) -> State:
    """Fold one draft×platform's events, oldest first, into its state."""
    state = State(QUEUED)
    for event in events:
        state = _next_state(state, event)
    return state


def _next_state(state: State, event: dict) -> State:
    action, status = event["action"], event["status"]
    detail = event.get("reason_code") or event.get("message") or ""
    here = {"at": event["ts"], "detail": detail}

    # Once published, nothing later (a stray re-evaluation, a duplicate
    # run's budget check) can make the draft look unpublished again.
    if state.name == PUBLISHED:
        return state

    # An outcome that may have been accepted changes only when
    # reconciliation finds out (or a later result proves what happened).
    if state.name == UNKNOWN and action not in (RECONCILED, PLATFORM_RESULT):
        return state

    if action == PUBLISH_INTENT:
        # An intent with no result after it: the run is still going or it
        # crashed mid-call.  Either way the post may exist.
        return State(UNKNOWN, detail="publish intent recorded without a "
                     "result (still running, or interrupted)", at=here["at"])
    if action in (PLATFORM_RESULT, RECONCILED):
        return _result_state(status, event, here) or state
    if action == POLICY_VERDICT and status == "blocked":
        return State(BLOCKED, **here)
    if action == BUDGET_CHECK and status == "blocked":
        # Out of budget is not a verdict on the draft: it waits its turn.
        return State(QUEUED, at=here["at"],
                     detail="waiting for budget: " + here["detail"])
    return state


def _result_state(status: str, event: dict, here: dict) -> State | None:
    if status == "success":
        return State(PUBLISHED, permalink=event.get("permalink"), **here)
    if status == "failed":
        return State(FAILED, **here)
    if status == "unknown":
        return State(UNKNOWN, **here)
    if status == "dry_run":
        return State(DRY_RUN, **here)
    return None


# -- the ``drafts`` command -----------------------------------------------

def command_drafts(args) -> int:
    """``marketing-ops drafts``: each draft and its state per platform."""
    import sys
    from datetime import timezone

    from marketing_ops.config.settings import load_settings
    from marketing_ops.moltbook import open_ledger

    settings = load_settings(args.config_dir, args.state_dir)
    drafts, errors = load_drafts_lenient(settings)
    for error in errors:
        print(error, file=sys.stderr)

    if not drafts:
        print(f"No drafts in {drafts_dir(settings)}.")
        return EXIT_BAD_INPUT if errors else 0

    # Reading must not create a ledger as a side effect.
    states: dict[tuple[str, str], State] = {}
    if settings.ledger_path.exists():
        with open_ledger(settings) as ledger:
            states = draft_states(ledger, drafts)

    now = datetime.now(timezone.utc)
    for draft in drafts:
        print(format_draft(draft, states, now))
    if errors:
        print(f"{len(errors)} problem(s) in drafts; those drafts are left "
              "out until fixed.", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0


def format_draft(draft: Draft, states: dict, now: datetime) -> str:
    header = f"{draft.id}  {draft.title!r}"
    if draft.not_before and now < draft.not_before:
        header += f"  (not before {draft.not_before.isoformat()})"
    if draft.is_expired(now):
        header += f"  (expired {draft.expires.isoformat()}; not published)"
    lines = [header]
    for platform in draft.platforms:
        state = states.get((draft.id, platform), State(QUEUED))
        parts = [f"  {platform:<9}", f"{state.name:<10}"]
        if state.at:
            parts.append(state.at[:16].replace("T", " ") + "Z")
        if state.permalink:
            parts.append(state.permalink)
        elif state.detail:
            parts.append(state.detail)
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)
