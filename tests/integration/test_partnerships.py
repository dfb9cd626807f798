"""The partnerships agent against the sandbox's GitHub repository search
over real HTTP: filters, score, the weekly reports, no duplicate leads
across weeks and re-runs, and GitHub's search rate limit."""

from __future__ import annotations

import csv
import io
import math
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from marketing_ops.agents.partnerships import iso_week, run_partnerships
from marketing_ops.config import load_config
from marketing_ops.config.settings import load_settings
from marketing_ops.errors import ConfigErrors
from marketing_ops.moltbook import Moltbook, new_run_id, open_ledger
from marketing_ops.runlock import hold_run

NOW = datetime.now(timezone.utc)

LEADS = {
    "search": {"topics": ["release-automation", "changelog"],
               "keywords": ["announcement bot"],
               "results_per_query": 50},
    "filters": {"min_stars": 50, "pushed_within_days": 90,
                "languages": ["Python", "Go"],
                "licenses": ["mit", "apache-2.0"],
                "exclude": ["known/partner"]},
    "score": {"stars": 1.0, "recency": 2.0, "topics": 1.5,
              "recency_half_life_days": 30},
    "max_leads": 25,
}


def days_ago(days: int) -> str:
    return (NOW - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def seed_week_one(sandbox):
    good = dict(language="Python", license="MIT", pushed_at=days_ago(3))
    sandbox.seed_repo("acme/shipit", topics=["release-automation",
                                             "changelog"], stars=2000,
                      **good)
    sandbox.seed_repo("acme/notes", topics=["changelog"], stars=120,
                      pushed_at=days_ago(40), language="Go",
                      license="Apache-2.0")
    sandbox.seed_repo("bots/herald", description="An announcement bot",
                      topics=[], stars=300, **good)
    # Each of these fails exactly one filter.
    sandbox.seed_repo("small/tool", topics=["changelog"], stars=10, **good)
    sandbox.seed_repo("old/tool", topics=["changelog"], stars=500,
                      language="Python", license="MIT",
                      pushed_at=days_ago(400))
    sandbox.seed_repo("js/tool", topics=["changelog"], stars=500,
                      language="JavaScript", license="MIT",
                      pushed_at=days_ago(3))
    sandbox.seed_repo("gpl/tool", topics=["changelog"], stars=500,
                      language="Python", license="GPL-3.0",
                      pushed_at=days_ago(3))
    sandbox.seed_repo("fork/tool", topics=["changelog"], stars=500,
                      fork=True, **good)
    sandbox.seed_repo("archived/tool", topics=["changelog"], stars=500,
                      archived=True, **good)
    sandbox.seed_repo("known/partner", topics=["changelog"], stars=900,
                      **good)


@pytest.fixture
def leads(tmp_path, sandbox):
    """A factory: ``leads(config=...)`` -> (settings, config)."""
    from marketing_ops.demo import write_demo_config

    def build(config=None, **env):
        config_dir = write_demo_config(tmp_path, sandbox, drafts={},
                                       env_overrides=env)
        (config_dir / "partnerships.yaml").write_text(
            yaml.safe_dump(config or LEADS, sort_keys=False))
        settings = load_settings(config_dir, tmp_path / "state", environ={})
        return settings, load_config(settings)

    return build


def run(settings, config, now=None):
    run_id = new_run_id()
    with hold_run(settings.state_dir, run_id), open_ledger(
            settings, agent="partnerships", run_id=run_id) as ledger:
        return run_partnerships(settings, config, ledger, now=now)


def events(settings, **filters):
    with Moltbook(settings.ledger_path) as ledger:
        return ledger.query(**filters)


def test_weekly_leads_filtered_scored_and_reported(leads, sandbox):
    settings, config = leads()
    seed_week_one(sandbox)

    summary = run(settings, config)
    assert [lead.full_name for lead in summary.new_leads] == [
        "acme/shipit", "bots/herald", "acme/notes"]
    assert summary.exit_code == 0
    assert summary.searches_done == summary.searches_planned == 3

    # The documented formula, by hand, for the first lead.
    shipit = summary.new_leads[0]
    age = (NOW - datetime.fromisoformat(
        shipit.pushed_at.replace("Z", "+00:00"))).total_seconds() / 86400
    expected = (1.0 * math.log10(1 + 2000) + 2.0 * 0.5 ** (age / 30)
                + 1.5 * 2 / 2)
    assert shipit.score == pytest.approx(expected, abs=1e-3)
    assert shipit.matched_topics == ["release-automation", "changelog"]

    week = iso_week(NOW, "Europe/Berlin")
    markdown = (settings.state_dir / "reports" / f"leads-{week}.md") \
        .read_text()
    assert markdown.startswith(f"# Partnership leads {week}")
    assert "No outreach has been sent" in markdown
    assert "log10(1 + stargazers)" in markdown
    assert markdown.index("acme/shipit") < markdown.index("bots/herald")

    rows = list(csv.DictReader(io.StringIO(
        (settings.state_dir / "reports" / f"leads-{week}.csv").read_text())))
    assert [r["full_name"] for r in rows] == ["acme/shipit", "bots/herald",
                                              "acme/notes"]
    assert rows[0]["rank"] == "1" and float(rows[0]["score"]) == \
        pytest.approx(expected, abs=1e-3)

    found = events(settings, action="LEAD_FOUND")
    assert sorted(e["draft"] for e in found) == sorted(
        ["acme/shipit", "bots/herald", "acme/notes"])
    [final] = events(settings, action="RUN_SUMMARY")
    assert "3 new" in final["message"]
    # Nothing was sent anywhere.
    assert sandbox.posts == []


def test_second_week_and_reruns_list_no_lead_twice(leads, sandbox):
    settings, config = leads()
    seed_week_one(sandbox)
    first = run(settings, config)
    week_one = iso_week(NOW, "Europe/Berlin")

    # The same week again: nothing new, and the report still lists the
    # week's leads instead of being emptied.
    again = run(settings, config)
    assert again.new_leads == []
    assert again.already_listed == 3
    report = (settings.state_dir / "reports" / f"leads-{week_one}.md") \
        .read_text()
    assert all(lead.full_name in report for lead in first.new_leads)

    # A week later, one new project appeared.
    sandbox.seed_repo("new/kid", topics=["release-automation"], stars=80,
                      language="Go", license="MIT", pushed_at=days_ago(1))
    next_week = NOW + timedelta(days=7)
    second = run(settings, config, now=next_week)
    assert [lead.full_name for lead in second.new_leads] == ["new/kid"]
    week_two = iso_week(next_week, "Europe/Berlin")
    rows = list(csv.DictReader(io.StringIO(
        (settings.state_dir / "reports" / f"leads-{week_two}.csv")
        .read_text())))
    assert [r["full_name"] for r in rows] == ["new/kid"]

    found = [e["draft"] for e in events(settings, action="LEAD_FOUND")]
    assert len(found) == len(set(found)) == 4


def test_max_leads_keeps_the_best(leads, sandbox):
    settings, config = leads({**LEADS, "max_leads": 1})
    seed_week_one(sandbox)
    summary = run(settings, config)
    assert [lead.full_name for lead in summary.new_leads] == ["acme/shipit"]
    # The others were not recorded, so next week may list them.
    assert len(events(settings, action="LEAD_FOUND")) == 1


def test_search_stops_when_the_rate_limit_budget_is_spent(leads, sandbox):
    """GitHub allows 30 searches a minute.  With 28 used elsewhere, a run
    planning five searches makes two, sees the budget at zero in the
    headers, and stops without another request."""
    many = {**LEADS, "search": {"topics": ["a1", "a2", "a3", "a4", "a5"]}}
    settings, config = leads(many)
    from marketing_ops.platforms.base import get_connector

    other = get_connector("github", settings, config.platforms)
    for _ in range(28):
        other.search_repositories("anything")

    summary = run(settings, config)
    assert summary.searches_done == 2
    assert "rate limit" in summary.stopped
    assert summary.exit_code == 1
    window = sandbox._platforms["github"].search_authenticated
    assert window.used == 30          # no request beyond the budget
    [stop] = [e for e in events(settings, action="LEADS_SEARCH")
              if e["reason_code"] == "RATE_LIMITED"]
    assert stop["status"] == "blocked"
    report = next((settings.state_dir / "reports").glob("leads-*.md"))
    assert "stopped early: GitHub search rate limit" in report.read_text()


def test_a_rate_limit_answer_stops_at_once_without_retrying(leads, sandbox):
    settings, config = leads()
    seed_week_one(sandbox)
    # One 403 with a short retry hint: a client that waited and retried
    # would get through on the second attempt.
    sandbox.inject("github", "search", "rate_limit", times=1,
                   status=403, retry_after=1)

    summary = run(settings, config)
    assert summary.searches_done == 0
    assert summary.new_leads == []
    assert "rate limit" in summary.stopped
    assert sandbox.faults() == []     # the one fault was met, once


def test_github_disabled_searches_nothing(leads, sandbox):
    settings, config = leads(ENABLE_GITHUB="false")
    seed_week_one(sandbox)
    summary = run(settings, config)
    assert summary.skipped == "ENABLE_GITHUB is false"
    assert summary.exit_code == 0
    assert events(settings, action="LEAD_FOUND") == []


@pytest.mark.parametrize("text, expected", [
    ("search:\n  topics: [a]\nfilter:\n  min_stars: 3\n",
     "partnerships.yaml:3:1: filter: unknown key; did you mean 'filters'?"),
    ("search:\n  topics: [a]\nfilters:\n  min_stars: lots\n",
     "partnerships.yaml:4:14: filters.min_stars: 'lots' is not of type "
     "'integer'"),
    ("search:\n  topics: [a]\nmax_leads: 0\n",
     "partnerships.yaml:3:12: max_leads: 0 is less than the minimum of 1"),
])
def test_partnerships_yaml_errors_are_located_single_lines(tmp_path, text,
                                                           expected):
    from marketing_ops.config.yamlfile import load_yaml

    path = tmp_path / "partnerships.yaml"
    path.write_text(text)
    with pytest.raises(ConfigErrors) as caught:
        load_yaml(path, "partnerships")
    messages = [str(e) for e in caught.value.errors]
    assert any(expected in m for m in messages), messages
    assert all("\n" not in m for m in messages)


def test_the_shipped_partnerships_yaml_is_valid():
    from marketing_ops.config.yamlfile import load_yaml
    from marketing_ops.resources import example_config_dir

    data = load_yaml(example_config_dir() / "partnerships.yaml",
                     "partnerships")
    assert data["search"]["topics"]
