"""The policy engine: declarative rules in ``config/policy.yaml`` decide
whether one rendered post or reply may go out.

A rule has an ``id``, a ``kind`` from the fixed vocabulary below, the
``platforms`` it covers (a list or ``all``) and what it ``applies_to``
(``post``, ``reply`` or ``both``), plus the settings of its kind:

``max_length``      ``limit: platform`` (every measured field within the
                    platform's own limit, in the platform's own units, e.g.
                    X's weighted characters) or a number; optional ``field``.
``forbidden``       ``terms`` (whole words or phrases) and/or ``patterns``
                    (regular expressions); ``case_sensitive`` (default false).
``required``        like ``forbidden``, but every term and pattern must
                    appear (a disclosure, a link).
``max_links``, ``max_hashtags``, ``max_mentions``   ``max``.
``allowed_link_domains``  ``domains``: every link must point to one of
                    them or a subdomain.
``quiet_hours``     ``start``, ``end`` (local HH:MM; may wrap midnight) and
                    ``timezone`` (IANA name).
``no_repeat``       ``days``: the same text on the same platform within
                    that many days is refused.
``min_interval``    ``minutes`` between two posts on one platform.
``replies_only_when_addressed``   a reply needs someone to have addressed
                    us, and (``one_per_thread``, default true) at most one
                    reply per thread.

Rules read what a person reads: the title, the plain text before platform
escaping, and a link post's URL.  A verdict denies when any rule fails and
names every failing rule; an allow names every rule that was checked.  The
engine fails closed: a rule it cannot evaluate denies.

``marketing-ops policy test`` runs the examples in ``config/policy-tests.yaml``
so a policy change is tested like code; ``marketing-ops policy check DRAFT``
shows the verdict for each platform a draft targets.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from marketing_ops.errors import EXIT_FAILURES, ConfigError, ConfigErrors

logger = logging.getLogger(__name__)

POLICY_FILE = "policy.yaml"
TESTS_FILE = "policy-tests.yaml"

History = Sequence[tuple[datetime, str]]


# -- verdicts and context -------------------------------------------------

@dataclass(frozen=True)
class Verdict:
    allowed: bool
    decided_by: list[str]          # deny: the failing rules; allow: all
                                   # rules checked
    reasons: list[str] = field(default_factory=list)   # one per failure
    checked: list[str] = field(default_factory=list)

    @property
    def word(self) -> str:
        return "allow" if self.allowed else "deny"

    def as_dict(self) -> dict[str, Any]:
        """For the ledger's details of a POLICY_VERDICT event."""
        return {"verdict": self.word, "decided_by": list(self.decided_by),
                "reasons": list(self.reasons), "checked": list(self.checked)}

    def summary(self) -> str:
        """One line: ``deny by no-repeat, quiet-hours: ...``."""
        if self.allowed:
            rules = ", ".join(self.decided_by) or "no rules apply"
            return f"allow (checked: {rules})"
        return f"deny by {', '.join(self.decided_by)}: " + \
            "; ".join(self.reasons)


@dataclass(frozen=True)
class PolicyContext:
    """What the rules need to know beyond the post itself."""

    now: datetime                  # aware
    # platform -> earlier posts (aware time, plain text), newest or oldest
    # first; read lazily, so rules that do not need history cost nothing.
    history: Callable[[str], History] | None = None
    addressed_us: bool = False
    already_replied_in_thread: bool = False

    def recent(self, platform: str) -> list[tuple[datetime, str]]:
        return list(self.history(platform)) if self.history else []

    @classmethod
    def with_posts(cls, now: datetime,
                   posts: Mapping[str, History] | None = None,
                   **flags) -> "PolicyContext":
        """A context from posts at hand (tests, policy examples)."""
        posts = dict(posts or {})
        return cls(now=now, history=lambda p: posts.get(p, ()), **flags)

    @classmethod
    def from_ledger(cls, ledger, now: datetime, *, kind: str = "post",
                    lookback: timedelta = timedelta(days=90),
                    **flags) -> "PolicyContext":
        """A context whose history is read from the ledger.

        Earlier posts are the ``PLATFORM_RESULT`` events with status
        ``success`` or ``unknown`` (a post that may have gone out counts,
        so an unclear outcome cannot lead to a repeat).  The compared text
        is ``details["plain_text"]`` and the kind ``details["kind"]``
        (default ``post``); whoever records a result records both."""
        cache: dict[str, list] = {}

        def history(platform: str) -> History:
            if platform not in cache:
                cache[platform] = ledger_history(ledger, platform, now,
                                                 kind, lookback)
            return cache[platform]

        return cls(now=now, history=history, **flags)


def ledger_history(ledger, platform: str, now: datetime, kind: str,
                   lookback: timedelta) -> list[tuple[datetime, str]]:
    since = (now - lookback).astimezone(timezone.utc)
    since_text = since.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    # Unknown outcomes that a person has since found did not go out.
    not_posted = {(e.get("details") or {}).get("intent_id")
                  for e in ledger.query(platform=platform,
                                        action="RECONCILED", status="failed",
                                        since=since_text)
                  if isinstance(e.get("details"), dict)}
    posts = []
    for event in ledger.query(platform=platform, action="PLATFORM_RESULT",
                              since=since_text):
        if event["status"] not in ("success", "unknown"):
            continue
        details = event.get("details") or {}
        if not isinstance(details, dict):
            details = {}
        if details.get("kind", "post") != kind:
            continue
        if event["status"] == "unknown" and \
                details.get("intent_id") in not_posted:
            continue
        at = datetime.fromisoformat(event["ts"].replace("Z", "+00:00"))
        posts.append((at, str(details.get("plain_text") or "")))
    return posts


# -- evaluation -----------------------------------------------------------

def evaluate(policy: Mapping[str, Any], rendered, context: PolicyContext
             ) -> Verdict:
    """Decide one rendered post or reply.  ``policy`` is the loaded
    ``policy.yaml``; ``rendered`` a connector's :class:`Rendered`."""
    checked, failed, reasons = [], [], []
    for rule in policy.get("rules") or ():
        if not applies(rule, rendered):
            continue
        checked.append(rule["id"])

        problems = _check(rule, rendered, context)
        if problems:
            failed.append(rule["id"])
            reasons.extend(f"{rule['id']}: {p}" for p in problems)

    if failed:
        return Verdict(False, failed, reasons, checked)
    return Verdict(True, checked, [], checked)


def applies(rule: Mapping[str, Any], rendered) -> bool:
    platforms = rule.get("platforms", "all")
    if platforms != "all" and rendered.platform not in platforms:
        return False
    target = rule.get("applies_to", "both")
    return target == "both" or target == rendered.kind


def _check(rule, rendered, context) -> list[str]:
    check = CHECKS.get(rule.get("kind"))
    if check is None:
        # A policy that skipped validation: refuse rather than guess.
        return [f"unknown rule kind {rule.get('kind')!r}; the post is held "
                "until the policy is fixed"]
    try:
        return check(rule, rendered, context)
    except Exception as exc:  # fail closed: a broken rule never lets through
        logger.warning("policy rule %s could not be evaluated: %s",
                       rule.get("id"), exc)
        return [f"could not be evaluated ({exc}); the post is held"]


def checked_text(rendered) -> str:
    """What the rules read: title, plain text and a link post's URL.

    Some connectors put the title or the URL into the plain text already
    (Telegram sends the title as the first line); each is read once, or one
    hashtag in a title or one link would count twice."""
    plain = rendered.plain_text or ""
    title = rendered.title or ""
    url = str((rendered.fields or {}).get("url") or "")
    parts = [title if title not in plain else "", plain,
             url if url not in plain else ""]
    return "\n".join(p for p in parts if p)


# -- one function per rule kind -------------------------------------------

def check_max_length(rule, rendered, context) -> list[str]:
    if not rendered.measures:
        return ["the connector measured nothing, so the length cannot be "
                "checked"]
    problems = []
    for name, (length, platform_limit, unit) in rendered.measures.items():
        if rule.get("field") and name != rule["field"]:
            continue
        limit = platform_limit if rule["limit"] == "platform" \
            else rule["limit"]
        if length > limit:
            problems.append(f"{rendered.platform} {name} is {length} {unit}, "
                            f"over the limit of {limit}")
    return problems


def check_forbidden(rule, rendered, context) -> list[str]:
    text = checked_text(rendered)
    found = [label for label, regex in _matchers(rule) if regex.search(text)]
    return [f"contains forbidden {label}" for label in found]


def check_required(rule, rendered, context) -> list[str]:
    text = checked_text(rendered)
    missing = [label for label, regex in _matchers(rule)
               if not regex.search(text)]
    return [f"lacks required {label}" for label in missing]


def check_max_links(rule, rendered, context) -> list[str]:
    return _at_most(len(find_links(checked_text(rendered))), rule["max"],
                    "links")


def check_max_hashtags(rule, rendered, context) -> list[str]:
    return _at_most(len(find_hashtags(checked_text(rendered))), rule["max"],
                    "hashtags")


def check_max_mentions(rule, rendered, context) -> list[str]:
    return _at_most(len(find_mentions(checked_text(rendered))), rule["max"],
                    "mentions")


def check_allowed_link_domains(rule, rendered, context) -> list[str]:
    allowed = [d.lower() for d in rule["domains"]]
    problems = []
    for link in find_links(checked_text(rendered)):
        host = link_host(link)
        if not any(host == d or host.endswith("." + d) for d in allowed):
            problems.append(f"links to {host or link!r}, which is not an "
                            f"allowed domain ({', '.join(allowed)})")
    return problems


def check_quiet_hours(rule, rendered, context) -> list[str]:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(rule["timezone"])
    start, end = clock(rule["start"]), clock(rule["end"])
    local = context.now.astimezone(zone)
    now = local.time().replace(tzinfo=None)
    if start < end:
        quiet = start <= now < end
    else:   # the window wraps midnight, e.g. 22:00-07:00
        quiet = now >= start or now < end
    if not quiet:
        return []
    return [f"{local:%H:%M} {rule['timezone']} is within quiet hours "
            f"{start:%H:%M}-{end:%H:%M}; it can go out from {end:%H:%M}"]


def check_no_repeat(rule, rendered, context) -> list[str]:
    # Only the same text (ignoring case and spacing) counts as a repeat; a
    # reworded copy passes.  Catching near-duplicates would need a
    # similarity measure and a threshold to tune; until then the X
    # platform's own duplicate check is the backstop there.
    cutoff = context.now - timedelta(days=rule["days"])
    mine = normalized(rendered.plain_text)
    for at, text in context.recent(rendered.platform):
        if at >= cutoff and normalized(text) == mine:
            return [f"the same text went out on {rendered.platform} at "
                    f"{at.astimezone(timezone.utc):%Y-%m-%d %H:%M}Z, within "
                    f"{_number(rule['days'])} days"]
    return []


def check_min_interval(rule, rendered, context) -> list[str]:
    gap = timedelta(minutes=rule["minutes"])
    times = [at for at, _text in context.recent(rendered.platform)
             if at <= context.now]
    if not times:
        return []
    last = max(times)
    if context.now - last >= gap:
        return []
    ago = int((context.now - last).total_seconds() // 60)
    ready = (last + gap).astimezone(timezone.utc)
    return [f"the last {rendered.kind} on {rendered.platform} was {ago} "
            f"minutes ago; the next may go out at {ready:%Y-%m-%d %H:%M}Z "
            f"({_number(rule['minutes'])} minutes apart)"]


def check_replies_only_when_addressed(rule, rendered, context) -> list[str]:
    if rendered.kind != "reply":
        return []
    problems = []
    if not context.addressed_us:
        problems.append("nobody addressed us, so we do not reply")
    if rule.get("one_per_thread", True) and context.already_replied_in_thread:
        problems.append("we already replied in this thread")
    return problems


CHECKS: dict[str, Callable[..., list[str]]] = {
    "max_length": check_max_length,
    "forbidden": check_forbidden,
    "required": check_required,
    "max_links": check_max_links,
    "max_hashtags": check_max_hashtags,
    "max_mentions": check_max_mentions,
    "allowed_link_domains": check_allowed_link_domains,
    "quiet_hours": check_quiet_hours,
    "no_repeat": check_no_repeat,
    "min_interval": check_min_interval,
    "replies_only_when_addressed": check_replies_only_when_addressed,
}

#: The fixed vocabulary of rule kinds.
RULE_KINDS = tuple(CHECKS)


# -- reading text ---------------------------------------------------------

# Links with a scheme or starting with www.  A bare domain ("example.org")
# is not counted: telling it from a file name or a version ("setup.py",
# "v1.4") needs the public-suffix list.  Meanwhile max_links and
# allowed_link_domains see only links written with http(s):// or www. —
# which is how the connectors' link previews recognise them too.
_LINK = re.compile(r"(?i)\b(?:https?://|www\.)[^\s<>()\[\]{}\"']+")
# A hashtag needs one letter (so "#1" is not one) and no word character
# before it (so URL fragments and "C#" are not either).
_HASHTAG = re.compile(r"(?<![\w&#/])#(?=\w*[^\W\d_])\w+")
# A mention has no word character or dot before it, so e-mail addresses
# do not count.
_MENTION = re.compile(r"(?<![\w.@/])@\w{1,50}")


def find_links(text: str) -> list[str]:
    return [m.group(0).rstrip(".,;:!?") for m in _LINK.finditer(text or "")]


def find_hashtags(text: str) -> list[str]:
    return _HASHTAG.findall(text or "")


def find_mentions(text: str) -> list[str]:
    return _MENTION.findall(text or "")


def link_host(link: str) -> str:
    from urllib.parse import urlsplit

    if not re.match(r"(?i)https?://", link):
        link = "http://" + link
    return (urlsplit(link).hostname or "").lower().rstrip(".")


def normalized(text: str) -> str:
    """Text compared for repeats: case and spacing do not make it new."""
    return " ".join((text or "").casefold().split())


def clock(value) -> time:
    """``"22:00"``, or the number YAML makes of an unquoted ``22:00``
    (it reads it in base 60: 22*60 = 1320)."""
    if isinstance(value, int):
        return time(value // 60, value % 60)
    hours, minutes = str(value).split(":")
    return time(int(hours), int(minutes))


def _matchers(rule) -> list[tuple[str, re.Pattern]]:
    flags = 0 if rule.get("case_sensitive") else re.IGNORECASE
    found = [(f"term {t!r}", _term_regex(t, flags))
             for t in rule.get("terms") or ()]
    found += [(f"pattern {p!r}", _compiled(p, flags))
              for p in rule.get("patterns") or ()]
    return found


@lru_cache(maxsize=512)
def _term_regex(term: str, flags: int) -> re.Pattern:
    # Whole words: "ad" must not match "add".  Any run of spaces matches
    # any run of whitespace, so a line break inside a phrase still counts.
    words = [re.escape(w) for w in term.split()]
    body = r"\s+".join(words)
    head = r"(?<!\w)" if term[:1].isalnum() or term[:1] == "_" else ""
    tail = r"(?!\w)" if term[-1:].isalnum() or term[-1:] == "_" else ""
    return re.compile(head + body + tail, flags)


@lru_cache(maxsize=512)
def _compiled(pattern: str, flags: int) -> re.Pattern:
    return re.compile(pattern, flags)


def _at_most(count: int, limit: int, what: str) -> list[str]:
    if count <= limit:
        return []
    return [f"has {count} {what}, more than {limit}"]


def _number(value) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


# -- loading the policy and its examples ----------------------------------

def load_policy(path: str | Path) -> dict[str, Any]:
    """Read and check ``policy.yaml``: the schema, then what a schema
    cannot say (unique ids, valid patterns and time zones)."""
    data, positions = _load_checked(Path(path), "policy")
    errors = policy_problems(data, positions, path)
    if errors:
        raise ConfigErrors(errors)
    return data


def load_policy_tests(path: str | Path, policy: Mapping[str, Any]
                      ) -> list[dict[str, Any]]:
    """Read and check ``policy-tests.yaml`` against the loaded policy;
    times come back as aware datetimes."""
    data, positions = _load_checked(Path(path), "policy-tests")
    cases, errors = _checked_cases(data, positions, path, policy)
    if errors:
        raise ConfigErrors(errors)
    return cases


def validation_errors(settings) -> list[ConfigError]:
    """What ``marketing-ops validate`` adds to its schema checks: the
    problems of ``policy.yaml`` and ``policy-tests.yaml`` a schema cannot
    see (duplicate ids, broken patterns, unknown time zones, examples
    naming rules that do not exist).  Schema problems are left out here;
    the schema check reports them already."""
    folder = Path(settings.config_dir)
    try:
        policy, positions = _load_checked(folder / POLICY_FILE, "policy")
    except ConfigErrors:
        return []
    errors = policy_problems(policy, positions, folder / POLICY_FILE)

    try:
        tests, positions = _load_checked(folder / TESTS_FILE,
                                         "policy-tests")
    except ConfigErrors:
        return errors
    return errors + _checked_cases(tests, positions, folder / TESTS_FILE,
                                   policy)[1]


def _checked_cases(data, positions, path, policy):
    errors: list[ConfigError] = []
    cases = [_checked_case(index, case, positions, path, policy, errors)
             for index, case in enumerate(data["cases"])]
    return cases, errors


def _load_checked(path: Path, schema: str):
    from marketing_ops.config.yamlfile import (
        parse_yaml, read_text, schema_errors)

    data, positions = parse_yaml(read_text(path), path)
    errors = schema_errors(data, positions, schema, path)
    if errors:
        raise ConfigErrors(errors)
    return data, positions


def policy_problems(data, positions, path) -> list[ConfigError]:
    """Problems of a schema-valid policy that the schema cannot see."""
    errors: list[ConfigError] = []
    first_index: dict[str, int] = {}
    for index, rule in enumerate(data.get("rules") or ()):
        here = ("rules", index)

        earlier = first_index.setdefault(rule["id"], index)
        if earlier != index:
            line = positions.get(("rules", earlier, "id"), (None,))[0]
            errors.append(_located(
                f"rules[{index}].id: {rule['id']!r} is already the id of "
                f"rules[{earlier}] (line {line}); give each rule its own id",
                positions, here + ("id",), path))

        for key in ("terms", "patterns"):
            for number, text in enumerate(rule.get(key) or ()):
                problem = _regex_problem(text) if key == "patterns" else None
                if problem:
                    errors.append(_located(
                        f"rules[{index}].patterns[{number}]: {text!r} is not "
                        f"a valid regular expression ({problem})",
                        positions, here + (key, number), path))

        if rule["kind"] == "quiet_hours":
            errors.extend(_quiet_hours_problems(rule, index, positions,
                                                path))
    return errors


def _quiet_hours_problems(rule, index, positions, path) -> list[ConfigError]:
    errors = []
    zone_problem = _zone_problem(rule["timezone"])
    if zone_problem:
        errors.append(_located(f"rules[{index}].timezone: {zone_problem}",
                               positions, ("rules", index, "timezone"),
                               path))
    if clock(rule["start"]) == clock(rule["end"]):
        errors.append(_located(
            f"rules[{index}]: start and end are the same time, so the quiet "
            "hours would be empty; remove the rule or set a real window",
            positions, ("rules", index, "end"), path))
    return errors


def _regex_problem(pattern: str) -> str | None:
    try:
        re.compile(pattern)
    except re.error as exc:
        return str(exc)
    return None


def _zone_problem(name: str) -> str | None:
    import difflib
    from zoneinfo import ZoneInfo, available_timezones

    try:
        ZoneInfo(name)
        return None
    except (KeyError, ValueError, OSError):
        pass
    hint = difflib.get_close_matches(name, sorted(available_timezones()),
                                     n=1)
    advice = f"did you mean {hint[0]!r}?" if hint else \
        "use an IANA name such as Europe/Berlin"
    return f"{name!r} is not a known time zone; {advice}"


def _checked_case(index, case, positions, path, policy, errors) -> dict:
    here = ("cases", index)
    context = dict(case["context"])
    context["now"] = _aware(context["now"], positions,
                            here + ("context", "now"), path, errors)
    recent = []
    for number, post in enumerate(context.get("recent") or ()):
        at = _aware(post["at"], positions,
                    here + ("context", "recent", number, "at"), path, errors)
        recent.append((at, post["text"]))
    context["recent"] = recent

    known = {rule["id"] for rule in policy.get("rules") or ()}
    for number, rule_id in enumerate(case.get("expect_rules") or ()):
        if rule_id not in known:
            import difflib
            hint = difflib.get_close_matches(rule_id, sorted(known), n=1)
            advice = f"did you mean {hint[0]!r}?" if hint else \
                "rule ids: " + ", ".join(sorted(known))
            errors.append(_located(
                f"cases[{index}].expect_rules[{number}]: {rule_id!r} is not "
                f"a rule in {POLICY_FILE}; {advice}",
                positions, here + ("expect_rules", number), path))
    return {**case, "kind": case.get("kind", "post"), "context": context}


def _aware(value, positions, keypath, path, errors) -> datetime | None:
    from marketing_ops.config.yamlfile import format_keypath

    text = value.isoformat() if isinstance(value, (datetime, date)) \
        else str(value)
    problem = None
    try:
        moment = datetime.fromisoformat(text)
        if moment.utcoffset() is None:
            problem = (f"{text!r} has no UTC offset; add one, e.g. "
                       "2026-03-02T10:00:00+01:00")
    except ValueError:
        problem = (f"{text!r} is not an ISO 8601 time; write e.g. "
                   "2026-03-02T10:00:00+01:00")
    if problem:
        errors.append(_located(f"{format_keypath(keypath)}: {problem}",
                               positions, keypath, path))
        return None
    return moment


def _located(message, positions, keypath, path) -> ConfigError:
    while keypath and keypath not in positions:
        keypath = keypath[:-1]
    line, column = positions.get(keypath, (None, None))
    return ConfigError(message, path, line, column)


# -- rendering for checks and examples ------------------------------------

def render_example(platform: str, text: str, *, title: str | None = None,
                   kind: str = "post", url: str | None = None,
                   connector=None):
    """A :class:`Rendered` for a policy example, measured the way the
    platform measures: by the platform's connector where there is one,
    else by :func:`fallback_rendered`."""
    from dataclasses import replace

    rendered = None
    if connector is not None:
        rendered = _connector_rendered(connector, platform, text, title,
                                       kind, url)
    if rendered is None:
        rendered = fallback_rendered(platform, text, title=title, kind=kind,
                                     url=url)
    if url and rendered.fields.get("url") != url:
        rendered = replace(rendered, fields={**rendered.fields, "url": url})
    return rendered


def _connector_rendered(connector, platform, text, title, kind, url):
    """The connector's own rendering of an example: its ``render_text``
    where offered, else a one-off draft (or mention, for a reply) holding
    the example's text.  None when the connector cannot render at all
    (Hacker News)."""
    from marketing_ops.drafts import Draft
    from marketing_ops.errors import MarketingOpsError
    from marketing_ops.platforms.base import Mention

    try:
        render_text = getattr(connector, "render_text", None)
        if render_text is not None:
            return render_text(text, title=title, kind=kind)
        if kind == "reply":
            mention = Mention(platform=platform, id="policy-example",
                              thread_id=None, author=None, text="", url=None,
                              addressed_us=True, created_at=None)
            return connector.render_reply(mention, text)
        override = {"text": text}
        if platform == "reddit" and url:
            override = {"kind": "link", "url": url}
        draft = Draft(id="policy-example", title=title or "", body=text,
                      platforms=(platform,), overrides={platform: override})
        return connector.render(draft, kind=kind)
    except MarketingOpsError as exc:
        logger.debug("%s cannot render the example (%s); measuring it "
                     "with the fallback", platform, exc)
        return None


# The limits each platform documents, in its own units.  Measuring is the
# connectors' job (they know the exact escaping and counting); this table
# stands in only where no connector can render an example (Hacker News, or
# a platform module that cannot be imported), so the examples still run.
# It knows nothing of escaping, and field names must be kept equal to the
# connectors' by hand; a rule with 'field:' set that names a field the
# connector does not measure is silently skipped.
_FALLBACK_LIMITS: dict[str, dict[str, tuple[int, str]]] = {
    "github": {"body": (65536, "chars")},
    "telegram": {"text": (4096, "utf16")},
    "x": {"text": (280, "weighted")},
    "reddit": {"title": (300, "chars"), "body": (40000, "chars")},
    "discord": {"content": (2000, "chars")},
    "hn": {"title": (80, "chars")},
}


def fallback_rendered(platform: str, text: str, *, title: str | None = None,
                      kind: str = "post", url: str | None = None):
    from marketing_ops.platforms.base import Rendered

    measures = {}
    for name, (limit, unit) in _FALLBACK_LIMITS[platform].items():
        value = title or "" if name == "title" else text
        length = _length(value, unit)
        measures[name] = (length, limit, unit)
    return Rendered(platform=platform, kind=kind, text=text,
                    plain_text=text, title=title, measures=measures,
                    fields={"url": url} if url else {})


def _length(text: str, unit: str) -> int:
    if unit == "weighted":
        from twitter_text import parse_tweet
        return parse_tweet(text).weightedLength
    if unit == "utf16":
        return len(text.encode("utf-16-le")) // 2
    return len(text)


# -- the ``policy`` command -----------------------------------------------

def command(args) -> int:
    """``marketing-ops policy check DRAFT`` or ``marketing-ops policy test``."""
    from marketing_ops.config.settings import load_settings

    settings = load_settings(args.config_dir, args.state_dir)
    policy = load_policy(Path(settings.config_dir) / POLICY_FILE)
    if args.action == "test":
        if args.draft:
            raise ConfigError("'policy test' takes no draft; it runs the "
                              f"examples in {TESTS_FILE}")
        return run_policy_tests(settings, policy)
    if not args.draft:
        raise ConfigError("'policy check' needs a draft: its id or its file, "
                          "e.g. marketing-ops policy check release-1.4.0")
    return check_draft(settings, policy, args.draft)


def run_policy_tests(settings, policy, out=None) -> int:
    """Run every example; print one line per case; 0 when all pass."""
    import sys

    out = out or sys.stdout
    cases = load_policy_tests(Path(settings.config_dir) / TESTS_FILE, policy)
    connectors = _ConnectorCache(settings)

    failures = 0
    for case in cases:
        verdict = evaluate(policy, _case_rendered(case, connectors),
                           _case_context(case))
        problem = case_mismatch(case, verdict)
        if problem:
            failures += 1
            print(f"FAIL  {case['name']}: {problem}", file=out)
        else:
            print(f"pass  {case['name']}: {verdict.word}"
                  + (f" by {', '.join(verdict.decided_by)}"
                     if not verdict.allowed else ""), file=out)

    print(f"{len(cases) - failures} of {len(cases)} policy examples pass.",
          file=out)
    return EXIT_FAILURES if failures else 0


def case_mismatch(case, verdict: Verdict) -> str | None:
    """Why ``verdict`` is not what the example expects, or None."""
    expected = case["expect"]
    wanted = case.get("expect_rules")
    if verdict.word != expected:
        return f"expected {expected}, got {verdict.summary()}"
    if wanted and not verdict.allowed and \
            set(wanted) != set(verdict.decided_by):
        return (f"denied as expected, but by {', '.join(verdict.decided_by)} "
                f"instead of {', '.join(wanted)} ({'; '.join(verdict.reasons)})")
    if wanted and verdict.allowed:
        unchecked = [r for r in wanted if r not in verdict.checked]
        if unchecked:
            return (f"allowed, but {', '.join(unchecked)} did not apply "
                    "(check its platforms and applies_to)")
    return None


def _case_rendered(case, connectors):
    return render_example(case["platform"], case["text"],
                          title=case.get("title"), kind=case["kind"],
                          url=case.get("url"),
                          connector=connectors.get(case["platform"]))


def _case_context(case) -> PolicyContext:
    context = case["context"]
    return PolicyContext.with_posts(
        context["now"], {case["platform"]: context["recent"]},
        addressed_us=bool(context.get("addressed_us")),
        already_replied_in_thread=bool(
            context.get("already_replied_in_thread")))


class _ConnectorCache:
    """Connectors built once per platform, or None where none can be
    built (the platform module is not there yet): the examples then use
    the fallback measurement."""

    def __init__(self, settings):
        self.settings = settings
        self.built: dict[str, Any] = {}
        self.why_not: dict[str, str] = {}
        self._platforms_config = None

    def get(self, platform: str):
        if platform not in self.built:
            self.built[platform] = self._build(platform)
        return self.built[platform]

    def _build(self, platform: str):
        from marketing_ops.errors import MarketingOpsError

        try:
            from marketing_ops.platforms.base import get_connector
            return get_connector(platform, self.settings,
                                 self.platforms_config())
        except ConfigErrors:
            raise       # a broken platforms.yaml is the operator's to fix
        except (ImportError, MarketingOpsError) as exc:
            logger.debug("no connector for %s (%s); using the fallback "
                         "measurement", platform, exc)
            self.why_not[platform] = str(exc)
            return None

    def platforms_config(self):
        if self._platforms_config is None:
            from marketing_ops.config.yamlfile import load_yaml

            path = Path(self.settings.config_dir) / "platforms.yaml"
            self._platforms_config = load_yaml(path, "platforms") \
                if path.exists() else {}
        return self._platforms_config


def check_draft(settings, policy, which: str, out=None) -> int:
    """Render the draft for each platform it targets and print each
    verdict.  Exit 0 when every platform allows it, 1 otherwise."""
    import sys

    from marketing_ops.moltbook import open_ledger

    out = out or sys.stdout
    draft = find_draft(settings, which)
    connectors = _ConnectorCache(settings)
    now = datetime.now(timezone.utc)

    ledger = open_ledger(settings) if settings.ledger_path.exists() else None
    try:
        context = PolicyContext.from_ledger(ledger, now) if ledger \
            else PolicyContext(now=now)
        denied = 0
        for platform in draft.platforms:
            line, allowed = _check_on(platform, draft, policy, context,
                                      connectors)
            denied += not allowed
            print(line, file=out)
    finally:
        if ledger is not None:
            ledger.close()
    return EXIT_FAILURES if denied else 0


def _check_on(platform, draft, policy, context, connectors):
    from marketing_ops.errors import MarketingOpsError

    connector = connectors.get(platform)
    if connector is None:
        why = connectors.why_not.get(platform, "no connector")
        return f"{platform:<9} cannot render: {why}", False
    try:
        rendered = connector.render(draft)
    except MarketingOpsError as exc:
        return f"{platform:<9} cannot render: {exc}", False
    verdict = evaluate(policy, rendered, context)
    sizes = ", ".join(f"{name} {length}/{limit} {unit}" for name,
                      (length, limit, unit) in rendered.measures.items())
    return f"{platform:<9} {verdict.summary()} [{sizes}]", verdict.allowed


def find_draft(settings, which: str):
    """A draft by file path or by id."""
    from marketing_ops.drafts import load_draft_file, load_drafts_lenient

    path = Path(which)
    if path.suffix == ".md" and path.exists():
        return load_draft_file(path)
    drafts, errors = load_drafts_lenient(settings)
    for draft in drafts:
        if draft.id == which:
            return draft
    bad = [e for e in errors if which in str(e.path or "")]
    if bad:
        raise ConfigErrors(bad)
    known = ", ".join(d.id for d in drafts) or "none"
    raise ConfigError(f"no draft with id {which!r} (drafts: {known}); "
                      "give a draft id or the path of a .md file")
