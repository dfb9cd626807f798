"""The policy engine: every rule kind both ways, verdicts naming their
rules, located errors for a bad policy, and ``policy test``/``policy
check`` exit codes."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from marketing_ops.cli import main
from marketing_ops.errors import ConfigErrors
from marketing_ops.moltbook import Moltbook
from marketing_ops.platforms.base import Rendered
from marketing_ops.safety.policy import (
    RULE_KINDS, PolicyContext, evaluate, fallback_rendered, find_hashtags,
    find_links, find_mentions, load_policy, load_policy_tests)

REPO = Path(__file__).resolve().parents[2]
# A Monday, 10:00 in Berlin.
NOON = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def rendered(text="hello https://example.org", *, platform="x",
             kind="post", title=None, measures=None, fields=None):
    if measures is None:
        measures = {"text": (len(text), 280, "weighted")}
    return Rendered(platform=platform, kind=kind, text=text,
                    plain_text=text, title=title, measures=measures,
                    fields=fields or {})


def rule(kind, **settings):
    return {"id": f"{kind}-rule", "kind": kind, "platforms": "all",
            "applies_to": "both", **settings}


def at(minutes_ago):
    return NOON - timedelta(minutes=minutes_ago)


# (name, rule, rendered, context keyword arguments, allowed?)
CASES = [
    ("length within the platform limit", rule("max_length", limit="platform"),
     rendered(measures={"text": (280, 280, "weighted")}), {}, True),
    ("length over the platform limit", rule("max_length", limit="platform"),
     rendered(measures={"text": (281, 280, "weighted")}), {}, False),
    ("explicit limit on one field",
     rule("max_length", limit=100, field="title"),
     rendered(platform="reddit", measures={"title": (120, 300, "chars"),
                                           "body": (5000, 40000, "chars")}),
     {}, False),
    ("explicit limit ignores other fields",
     rule("max_length", limit=100, field="title"),
     rendered(platform="reddit", measures={"title": (99, 300, "chars"),
                                           "body": (5000, 40000, "chars")}),
     {}, True),
    ("no measures fails closed", rule("max_length", limit="platform"),
     rendered(measures={}), {}, False),

    ("forbidden term absent", rule("forbidden", terms=["airdrop"]),
     rendered("we shipped https://e.org"), {}, True),
    ("forbidden term in any case", rule("forbidden", terms=["airdrop"]),
     rendered("Big AIRDROP now"), {}, False),
    ("forbidden term is a whole word", rule("forbidden", terms=["ad"]),
     rendered("we add a feature"), {}, True),
    ("forbidden phrase across a line break",
     rule("forbidden", terms=["guaranteed returns"]),
     rendered("guaranteed\nreturns"), {}, False),
    ("forbidden term in the title", rule("forbidden", terms=["airdrop"]),
     rendered("fine", title="Airdrop!"), {}, False),
    ("case-sensitive term", rule("forbidden", terms=["AI"],
                                 case_sensitive=True),
     rendered("ai and ml"), {}, True),
    ("forbidden pattern", rule("forbidden", patterns=[r"\d+x gains"]),
     rendered("100x gains"), {}, False),
    ("escaped text is not what is read",
     rule("forbidden", terms=["amp"]),
     Rendered(platform="telegram", kind="post", text="a &amp; b",
              plain_text="a & b", measures={"text": (5, 4096, "chars")}),
     {}, True),

    ("required link present", rule("required", patterns=[r"https?://"]),
     rendered("see https://e.org"), {}, True),
    ("required link missing", rule("required", patterns=[r"https?://"]),
     rendered("see our site"), {}, False),
    ("every required term", rule("required", terms=["#ad", "sponsored"]),
     rendered("#ad only"), {}, False),

    ("links at the maximum", rule("max_links", max=2),
     rendered("https://a.org and www.b.org/x."), {}, True),
    ("links over the maximum", rule("max_links", max=1),
     rendered("[docs](https://a.org/d) and https://b.org"), {}, False),
    ("a link post's URL counts", rule("max_links", max=0),
     rendered("no links here", fields={"url": "https://e.org"}), {}, False),

    ("hashtags at the maximum", rule("max_hashtags", max=2),
     rendered("#one #two, PR #3, https://e.org/p#frag, C#"), {}, True),
    ("hashtags over the maximum", rule("max_hashtags", max=2),
     rendered("#one #two #three"), {}, False),

    ("mentions at the maximum", rule("max_mentions", max=1),
     rendered("thanks @ann, mail me@example.org"), {}, True),
    ("mentions over the maximum", rule("max_mentions", max=1),
     rendered("thanks @ann and @bob"), {}, False),

    ("links to allowed domains and subdomains",
     rule("allowed_link_domains", domains=["example.org"]),
     rendered("https://example.org/a https://docs.example.org/b"), {}, True),
    ("a link elsewhere",
     rule("allowed_link_domains", domains=["example.org"]),
     rendered("https://example.org.evil.com/a"), {}, False),
    ("a bare www link elsewhere",
     rule("allowed_link_domains", domains=["example.org"]),
     rendered("www.other.net"), {}, False),

    ("daytime is not quiet",
     rule("quiet_hours", start="22:00", end="07:00",
          timezone="Europe/Berlin"), rendered(), {"now": NOON}, True),
    ("late evening is quiet",
     rule("quiet_hours", start="22:00", end="07:00",
          timezone="Europe/Berlin"), rendered(),
     {"now": datetime(2026, 3, 2, 21, 0, tzinfo=timezone.utc)}, False),
    ("unquoted YAML clock values are understood",
     rule("quiet_hours", start=1320, end="07:00", timezone="Europe/Berlin"),
     rendered(), {"now": datetime(2026, 3, 2, 21, 0, tzinfo=timezone.utc)},
     False),
    ("a window inside one day",
     rule("quiet_hours", start="12:00", end="13:00", timezone="UTC"),
     rendered(), {"now": datetime(2026, 3, 2, 12, 30, tzinfo=timezone.utc)},
     False),
    ("the end of the window is not quiet",
     rule("quiet_hours", start="12:00", end="13:00", timezone="UTC"),
     rendered(), {"now": datetime(2026, 3, 2, 13, 0, tzinfo=timezone.utc)},
     True),

    ("new text", rule("no_repeat", days=14), rendered("new words"),
     {"posts": [(at(60 * 24), "old words")]}, True),
    ("same text within the window", rule("no_repeat", days=14),
     rendered("Same  words"), {"posts": [(at(60 * 24), "same words")]},
     False),
    ("same text before the window", rule("no_repeat", days=14),
     rendered("same words"), {"posts": [(at(60 * 24 * 15), "same words")]},
     True),

    ("no earlier post", rule("min_interval", minutes=60), rendered(), {},
     True),
    ("earlier post long enough ago", rule("min_interval", minutes=60),
     rendered(), {"posts": [(at(61), "x"), (at(300), "y")]}, True),
    ("earlier post too recent", rule("min_interval", minutes=60),
     rendered(), {"posts": [(at(300), "y"), (at(59), "x")]}, False),

    ("reply when addressed", rule("replies_only_when_addressed"),
     rendered(kind="reply"), {"addressed_us": True}, True),
    ("reply when not addressed", rule("replies_only_when_addressed"),
     rendered(kind="reply"), {"addressed_us": False}, False),
    ("second reply in a thread", rule("replies_only_when_addressed"),
     rendered(kind="reply"),
     {"addressed_us": True, "already_replied_in_thread": True}, False),
    ("second reply allowed when one_per_thread is off",
     rule("replies_only_when_addressed", one_per_thread=False),
     rendered(kind="reply"),
     {"addressed_us": True, "already_replied_in_thread": True}, True),
    ("posts are not replies", rule("replies_only_when_addressed"),
     rendered(kind="post"), {"addressed_us": False}, True),
]


@pytest.mark.parametrize("the_rule,the_post,context,allowed",
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_rule_kind(the_rule, the_post, context, allowed):
    context = dict(context)
    posts = context.pop("posts", [])
    now = context.pop("now", NOON)
    ctx = PolicyContext.with_posts(now, {the_post.platform: posts},
                                   **context)

    verdict = evaluate({"rules": [the_rule]}, the_post, ctx)

    assert verdict.allowed is allowed, verdict.summary()
    assert verdict.decided_by == [the_rule["id"]]
    assert bool(verdict.reasons) is not allowed


def test_every_rule_kind_is_covered_both_ways():
    kinds = {}
    for _name, the_rule, _post, _ctx, allowed in CASES:
        kinds.setdefault(the_rule["kind"], set()).add(allowed)
    assert kinds == {kind: {True, False} for kind in RULE_KINDS}


def test_deny_names_every_failing_rule_and_allow_every_checked_rule():
    policy = {"rules": [
        rule("max_links", max=0) | {"id": "links"},
        rule("max_hashtags", max=0) | {"id": "tags"},
        rule("max_mentions", max=5) | {"id": "mentions"},
        rule("max_mentions", max=5, platforms=["reddit"]) | {"id": "other"},
        rule("max_mentions", max=0, applies_to="reply") | {"id": "replies"},
    ]}
    ctx = PolicyContext(now=NOON)

    denied = evaluate(policy, rendered("https://a.org #tag @ann"), ctx)
    allowed = evaluate(policy, rendered("plain words"), ctx)

    assert not denied.allowed
    assert denied.decided_by == ["links", "tags"]
    assert denied.checked == ["links", "tags", "mentions"]
    assert [r.split(":")[0] for r in denied.reasons] == ["links", "tags"]
    assert "deny by links, tags" in denied.summary()
    assert denied.as_dict() == {
        "verdict": "deny", "decided_by": ["links", "tags"],
        "reasons": denied.reasons, "checked": ["links", "tags", "mentions"]}
    assert allowed.allowed and allowed.decided_by == ["links", "tags",
                                                      "mentions"]


def test_unknown_kind_fails_closed():
    verdict = evaluate({"rules": [rule("vibes")]}, rendered(),
                       PolicyContext(now=NOON))
    assert not verdict.allowed and "unknown rule kind" in verdict.reasons[0]


def test_a_rule_that_cannot_be_evaluated_fails_closed():
    verdict = evaluate({"rules": [rule("forbidden", patterns=["("])]},
                       rendered(), PolicyContext(now=NOON))
    assert not verdict.allowed and "could not be evaluated" in \
        verdict.reasons[0]


@pytest.mark.parametrize("text,links,tags,mentions", [
    ("see https://e.org/a.", ["https://e.org/a"], [], []),
    ("[t](https://e.org/x) www.f.org", ["https://e.org/x", "www.f.org"], [],
     []),
    ("#release #2 #v1", [], ["#release", "#v1"], []),
    ("a@b.org @ann (@bob)", [], [], ["@ann", "@bob"]),
])
def test_text_readers(text, links, tags, mentions):
    assert find_links(text) == links
    assert find_hashtags(text) == tags
    assert find_mentions(text) == mentions


def test_fallback_measures_x_in_weighted_characters():
    # A link counts 23 and a CJK character 2 on X, whatever their length.
    text = "日本 https://example.org/" + "a" * 100
    measured = fallback_rendered("x", text).measures["text"]
    assert measured == (2 * 2 + 1 + 23, 280, "weighted")
    reddit = fallback_rendered("reddit", "body", title="Title").measures
    assert reddit == {"title": (5, 300, "chars"), "body": (4, 40000, "chars")}


# -- the ledger as history --------------------------------------------------

def test_context_from_a_real_ledger(tmp_path):
    with Moltbook(tmp_path / "moltbook.db") as ledger:
        ledger.record(action="PLATFORM_RESULT", status="success",
                      platform="x", draft="a", permalink="https://x/1",
                      details={"plain_text": "Hello world", "kind": "post"})
        ledger.record(action="PLATFORM_RESULT", status="unknown",
                      platform="x", draft="b",
                      details={"plain_text": "maybe sent"})
        ledger.record(action="PLATFORM_RESULT", status="failed",
                      platform="x", draft="c",
                      details={"plain_text": "never sent"})
        ledger.record(action="PLATFORM_RESULT", status="dry_run",
                      platform="x", draft="d",
                      details={"plain_text": "rehearsal"})
        ledger.record(action="PLATFORM_RESULT", status="success",
                      platform="x", details={"plain_text": "a reply",
                                             "kind": "reply"})
        ledger.record(action="PLATFORM_RESULT", status="success",
                      platform="telegram", details={"plain_text": "tg"})

        now = datetime.now(timezone.utc)
        ctx = PolicyContext.from_ledger(ledger, now)
        texts = sorted(text for _at, text in ctx.recent("x"))
        policy = {"rules": [rule("no_repeat", days=14),
                            rule("min_interval", minutes=60)]}
        verdict = evaluate(policy, rendered("hello   WORLD"), ctx)

    assert texts == ["Hello world", "maybe sent"]
    assert not verdict.allowed
    assert verdict.decided_by == ["no_repeat-rule", "min_interval-rule"]


# -- the shipped policy and its examples ------------------------------------

def test_shipped_policy_and_examples_load():
    policy = load_policy(REPO / "config" / "policy.yaml")
    cases = load_policy_tests(REPO / "config" / "policy-tests.yaml", policy)
    assert len(cases) >= 12
    kinds = {r["kind"] for r in policy["rules"]}
    assert kinds == set(RULE_KINDS) - {"allowed_link_domains"}


# -- a bad policy: one located line each ------------------------------------

GOOD_RULE = """\
rules:
  - id: links
    kind: max_links
    platforms: all
    applies_to: both
    max: 3
"""

BAD_POLICIES = [
    ("unknown rule kind", GOOD_RULE.replace("max_links", "max_linkz"),
     "policy.yaml:3:11: rules[0].kind: 'max_linkz' is not one of"),
    ("negative max", GOOD_RULE.replace("max: 3", "max: -1"),
     "policy.yaml:6:10: rules[0].max: -1 is less than the minimum of 0"),
    ("unknown key with did-you-mean", GOOD_RULE.replace("max: 3", "maxx: 3"),
     "policy.yaml:6:5: rules[0].maxx: unknown key; did you mean 'max'?"),
    ("key of another kind", GOOD_RULE + "    days: 3\n",
     "policy.yaml:7:5: rules[0].days: unknown key"),
    ("missing setting of the kind", GOOD_RULE.replace("    max: 3\n", ""),
     "policy.yaml:2:5: rules[0]: 'max' is required here but missing"),
    ("unknown platform", GOOD_RULE.replace("platforms: all",
                                           "platforms: [x, myspace]"),
     "policy.yaml:4:16: rules[0].platforms"),
    ("bad applies_to", GOOD_RULE.replace("applies_to: both",
                                         "applies_to: posts"),
     "policy.yaml:5:17: rules[0].applies_to: 'posts' is not one of"),
    ("duplicate rule id", GOOD_RULE + GOOD_RULE[len("rules:\n"):],
     "policy.yaml:7:9: rules[1].id: 'links' is already the id of rules[0] "
     "(line 2)"),
    ("bad regular expression",
     "rules:\n  - id: f\n    kind: forbidden\n    platforms: all\n"
     "    applies_to: both\n    patterns: ['(unclosed']\n",
     "policy.yaml:6:16: rules[0].patterns[0]: '(unclosed' is not a valid "
     "regular expression"),
    ("forbidden without terms or patterns",
     "rules:\n  - id: f\n    kind: forbidden\n    platforms: all\n"
     "    applies_to: both\n",
     "policy.yaml:2:5: rules[0]: 'terms' is required here but missing"),
    ("unknown time zone",
     "rules:\n  - id: q\n    kind: quiet_hours\n    platforms: all\n"
     "    applies_to: both\n    start: '22:00'\n    end: '07:00'\n"
     "    timezone: Europe/Berln\n",
     "policy.yaml:8:15: rules[0].timezone: 'Europe/Berln' is not a known "
     "time zone; did you mean 'Europe/Berlin'?"),
    ("bad clock",
     "rules:\n  - id: q\n    kind: quiet_hours\n    platforms: all\n"
     "    applies_to: both\n    start: '25:00'\n    end: '07:00'\n"
     "    timezone: UTC\n",
     "policy.yaml:6:12: rules[0].start: '25:00' does not match"),
    ("empty quiet window",
     "rules:\n  - id: q\n    kind: quiet_hours\n    platforms: all\n"
     "    applies_to: both\n    start: '07:00'\n    end: '07:00'\n"
     "    timezone: UTC\n",
     "policy.yaml:7:10: rules[0]: start and end are the same time"),
    ("top-level typo", "rulez: []\n",
     "policy.yaml:1:1: rulez: unknown key; did you mean 'rules'?"),
]


@pytest.mark.parametrize("text,expected", [c[1:] for c in BAD_POLICIES],
                         ids=[c[0] for c in BAD_POLICIES])
def test_a_bad_policy_gives_located_lines(tmp_path, monkeypatch, text,
                                          expected):
    monkeypatch.chdir(tmp_path)
    Path("policy.yaml").write_text(text)

    with pytest.raises(ConfigErrors) as raised:
        load_policy("policy.yaml")

    lines = [str(e) for e in raised.value.errors]
    assert any(line.startswith(expected) for line in lines), lines
    assert all("\n" not in line for line in lines)


def test_policy_examples_naming_unknown_rules_are_located(tmp_path,
                                                          monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("policy.yaml").write_text(GOOD_RULE)
    Path("tests.yaml").write_text(
        "cases:\n  - name: n\n    platform: x\n    text: t\n"
        "    context: {now: 2026-03-02T10:00:00}\n    expect: deny\n"
        "    expect_rules: [linkz]\n")

    with pytest.raises(ConfigErrors) as raised:
        load_policy_tests("tests.yaml", load_policy("policy.yaml"))

    assert [str(e) for e in raised.value.errors] == [
        "tests.yaml:5:20: cases[0].context.now: '2026-03-02T10:00:00' has no "
        "UTC offset; add one, e.g. 2026-03-02T10:00:00+01:00",
        "tests.yaml:7:20: cases[0].expect_rules[0]: 'linkz' is not a rule in "
        "policy.yaml; did you mean 'links'?",
    ]


# -- the commands -----------------------------------------------------------

@pytest.fixture
def config_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("MARKETING_OPS_CONFIG_DIR", raising=False)
    monkeypatch.delenv("MARKETING_OPS_STATE_DIR", raising=False)
    target = tmp_path / "config"
    target.mkdir()
    for name in ("policy.yaml", "policy-tests.yaml", "platforms.yaml"):
        shutil.copy(REPO / "config" / name, target / name)
    return target


def run_cli(config_dir, *words):
    return main(["--config-dir", str(config_dir), "--state-dir",
                 str(config_dir.parent / "state"), "policy", *words])


def test_policy_test_passes_on_the_shipped_examples(config_dir, capsys):
    code = run_cli(config_dir, "test")
    out = capsys.readouterr().out
    assert code == 0, out
    assert "FAIL" not in out and "policy examples pass." in out


def test_policy_test_exits_1_when_an_example_is_decided_otherwise(
        config_dir, capsys):
    # Loosen the policy without updating the examples: CI must notice.
    policy = config_dir / "policy.yaml"
    policy.write_text(policy.read_text().replace("max: 2", "max: 5"))

    code = run_cli(config_dir, "test")

    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL  three hashtags are too many on X: expected deny" in out


def test_policy_test_exits_2_on_a_bad_policy(config_dir, capsys):
    policy = config_dir / "policy.yaml"
    policy.write_text(policy.read_text().replace("kind: no_repeat",
                                                 "kind: no_repeats"))

    code = run_cli(config_dir, "test")

    err = capsys.readouterr().err
    assert code == 2
    assert "policy.yaml:" in err and "'no_repeats' is not one of" in err
    assert "Traceback" not in err


def test_policy_check_without_a_draft_says_how(config_dir, capsys):
    assert run_cli(config_dir, "check") == 2
    assert "'policy check' needs a draft" in capsys.readouterr().err


def test_policy_check_of_an_unknown_draft(config_dir, capsys):
    assert run_cli(config_dir, "check", "nope") == 2
    assert "no draft with id 'nope'" in capsys.readouterr().err


def test_policy_check_shows_each_platform_and_exits_1_on_a_deny(
        config_dir, capsys):
    drafts = config_dir / "drafts"
    drafts.mkdir()
    (drafts / "bad.md").write_text(
        "---\nid: bad\ntitle: Our airdrop\nplatforms: [x, github]\n---\n"
        "Join our airdrop! https://example.org\n")

    code = run_cli(config_dir, "check", "bad")

    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert out[0].startswith("x         deny by no-financial-promises: ")
    assert "contains forbidden term 'airdrop'" in out[0]
    assert out[0].endswith("weighted]")
    assert out[1].startswith("github    deny by no-financial-promises")


def test_policy_check_accepts_a_file_and_exits_0_when_allowed(
        config_dir, capsys):
    from marketing_ops.safety import policy as module

    draft = REPO / "config" / "drafts" / "release-1.4.0.md"
    shutil.copytree(REPO / "config" / "drafts", config_dir / "drafts")
    # The shipped quiet hours would deny a check run at night.
    policy = load_policy(config_dir / "policy.yaml")
    policy["rules"] = [r for r in policy["rules"]
                       if r["kind"] != "quiet_hours"]
    from marketing_ops.config.settings import load_settings
    settings = load_settings(config_dir, config_dir.parent / "state",
                             environ={})

    code = module.check_draft(settings, policy, str(draft))

    out = capsys.readouterr().out
    assert code == 0, out
    assert [line.split()[0] for line in out.splitlines()] == \
        ["github", "telegram", "x", "discord"]


def test_examples_are_measured_by_the_connectors_like_the_fallback():
    """The fallback table must name the same fields in the same units as
    the connectors, or a 'field:' rule would mean different things in
    examples and in real runs."""
    from marketing_ops.config.settings import load_settings
    from marketing_ops.safety.policy import _ConnectorCache, render_example

    settings = load_settings(REPO / "config", "/nonexistent", environ={})
    connectors = _ConnectorCache(settings)
    text = "Hello 日本 https://example.org/a"
    for platform in ("github", "telegram", "x", "reddit", "discord"):
        connector = connectors.get(platform)
        assert connector is not None, connectors.why_not
        real = render_example(platform, text, title="T",
                              connector=connector)
        fallback = fallback_rendered(platform, text, title="T")
        assert {n: (lim, unit) for n, (_len, lim, unit)
                in real.measures.items()} == \
            {n: (lim, unit) for n, (_len, lim, unit)
             in fallback.measures.items()}, platform
        assert real.measures == fallback.measures or platform in (
            "telegram", "reddit"), platform


def test_render_text_is_preferred_when_a_connector_offers_it():
    from marketing_ops.safety.policy import render_example

    class Measuring:
        def render_text(self, text, *, title=None, kind="post"):
            return rendered(text, platform="x", kind=kind,
                            measures={"text": (999, 280, "weighted")})

    made = render_example("x", "hi", connector=Measuring(),
                          url="https://e.org")
    assert made.measures["text"] == (999, 280, "weighted")
    assert made.fields["url"] == "https://e.org"


def test_a_title_repeated_in_the_plain_text_is_read_once():
    post = Rendered(platform="telegram", kind="post",
                    text="<b>#launch</b>\n\nbody", plain_text="#launch\n\nbody",
                    title="#launch", measures={"text": (14, 4096, "utf16")},
                    fields={})
    verdict = evaluate({"rules": [rule("max_hashtags", max=1)]}, post,
                       PolicyContext(now=NOON))
    assert verdict.allowed, verdict.summary()


def test_validate_reports_what_the_policy_schema_cannot_see(config_dir):
    from marketing_ops.config import validate_everything
    from marketing_ops.safety.policy import validation_errors
    from marketing_ops.config.settings import load_settings

    policy = config_dir / "policy.yaml"
    policy.write_text(policy.read_text()
                      .replace("'\\bto the moon\\b'", "'(to the moon'")
                      .replace("id: min-interval", "id: no-repeat"))
    settings = load_settings(config_dir, config_dir.parent / "state",
                             environ={})

    found = [str(e) for e in validation_errors(settings)]
    everything = [str(e) for e in validate_everything(
        config_dir, config_dir.parent / "state")]

    assert [line.split(": ", 1)[1].split(":")[0] for line in found] == \
        ["rules[1].patterns[1]", "rules[8].id", "cases[17].expect_rules[0]",
         "cases[18].expect_rules[0]"]
    assert "'(to the moon' is not a valid regular expression" in found[0]
    assert "'min-interval' is not a rule in policy.yaml" in found[2]
    assert set(found) <= set(everything)
