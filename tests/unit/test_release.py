"""Release announcements: one GitHub release becomes exactly one draft,
rendered from the templates and held to the draft schema and the
shipped policy."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from marketing_ops.config.settings import load_settings
from marketing_ops.errors import ConfigError, ConfigErrors
from marketing_ops.release import draft_from_release, release_id

REPO = Path(__file__).resolve().parents[2]
URL = "https://github.com/example-org/marketing-ops/releases/tag/v1.4.0"

RELEASE = {
    "tag_name": "v1.4.0",
    "name": "Policy tests in CI",
    "html_url": URL,
    "body": "## What's Changed\r\n"
            "* Add policy examples by @ann in "
            "https://github.com/example-org/marketing-ops/pull/12\r\n"
            "* Show draft states by @bob in "
            "https://github.com/example-org/marketing-ops/pull/13\r\n",
    "prerelease": False,
    "draft": False,
}


@pytest.fixture
def settings(tmp_path):
    return load_settings(tmp_path / "config", tmp_path / "state",
                         environ={"GITHUB_REPO": "marketing-ops"})


def test_a_release_becomes_one_draft_with_per_platform_texts(settings):
    draft = draft_from_release(RELEASE, settings)

    assert draft.id == "release-v1.4.0"
    assert draft.title == "marketing-ops 1.4.0: Policy tests in CI"
    assert draft.body.startswith("marketing-ops v1.4.0 is out.\n\n## What's")
    assert draft.body.endswith(f"pull/13\n\nRelease page: {URL}")
    assert "\r" not in draft.body and "\n\n\n" not in draft.body
    assert draft.platforms == ("github", "telegram", "x", "reddit",
                               "discord")
    assert draft.override("x") == {
        "text": f"marketing-ops v1.4.0 is out: Policy tests in CI {URL}"}
    assert draft.override("github") == {
        "title": "marketing-ops v1.4.0 released"}
    assert draft.override("reddit") == {
        "title": "marketing-ops v1.4.0 released: Policy tests in CI",
        "kind": "link", "url": URL}
    assert draft.override("telegram")["text"].endswith(
        f"\n\nRelease notes: {URL}")
    assert draft.override("discord")["text"].startswith(
        "**marketing-ops v1.4.0** is out")
    assert draft.tags == ("release",)
    assert draft.path is None


def test_the_same_release_always_gives_the_same_draft(settings):
    assert draft_from_release(RELEASE, settings) == \
        draft_from_release(dict(RELEASE), settings)


@pytest.mark.parametrize("tag,expected", [
    ("v1.4.0", "release-v1.4.0"),
    ("V2.0.0-RC.1", "release-v2.0.0-rc.1"),
    ("2026.03 spring/edition+build", "release-2026.03-spring-edition-build"),
    ("--", "release-untagged"),
])
def test_release_ids_fit_the_draft_id_pattern(tag, expected):
    import re

    assert release_id(tag) == expected
    assert re.fullmatch(r"[a-z0-9][a-z0-9._-]*", expected)


def test_a_prerelease_without_notes_or_name(settings):
    release = {"tag_name": "v2.0.0-rc.1", "html_url": URL,
               "prerelease": True, "body": None, "name": ""}

    draft = draft_from_release(release, settings, platforms=("github", "x"))

    assert draft.title == "marketing-ops 2.0.0-rc.1"
    assert draft.body == ("marketing-ops v2.0.0-rc.1 is out as a "
                          f"pre-release.\n\nRelease page: {URL}")
    assert draft.platforms == ("github", "x")
    assert set(draft.overrides) == {"github", "x"}
    assert draft.tags == ("release", "prerelease")


def test_disabled_platforms_are_left_out(tmp_path):
    settings = load_settings(tmp_path / "c", tmp_path / "s", environ={
        "ENABLE_X": "false", "ENABLE_REDDIT": "false"})

    draft = draft_from_release(RELEASE, settings)

    assert draft.platforms == ("github", "telegram", "discord")
    # Without GITHUB_REPO, the project is read from the release URL.
    assert draft.title.startswith("marketing-ops 1.4.0")


def test_a_release_without_a_tag_is_refused(settings):
    with pytest.raises(ConfigError, match="no tag_name"):
        draft_from_release({"name": "x", "html_url": URL}, settings)


def test_an_operator_template_wins(settings):
    folder = Path(settings.config_dir) / "templates" / "posts" / \
        "release-announcement"
    folder.mkdir(parents=True)
    (folder / "x.j2").write_text("New: {{ project }} {{ version }} {{ url }}")

    draft = draft_from_release(RELEASE, settings)

    assert draft.override("x") == {"text": f"New: marketing-ops 1.4.0 {URL}"}
    assert draft.title == "marketing-ops 1.4.0: Policy tests in CI"


def test_a_template_syntax_error_names_file_and_line(settings,
                                                     monkeypatch):
    folder = Path(settings.config_dir) / "templates" / "posts" / \
        "release-announcement"
    folder.mkdir(parents=True)
    (folder / "telegram.j2").write_text("line one\n{% if tag %}never closed\n")

    with pytest.raises(ConfigError) as raised:
        draft_from_release(RELEASE, settings)

    message = str(raised.value)
    assert "telegram.j2:2: template syntax error" in message.replace(
        str(folder) + "/", "")


def test_a_misspelt_variable_is_an_error_not_a_blank(settings):
    folder = Path(settings.config_dir) / "templates" / "posts" / \
        "release-announcement"
    folder.mkdir(parents=True)
    (folder / "discord.j2").write_text("{{ projcet }} is out {{ url }}")

    with pytest.raises(ConfigError, match="'projcet' is undefined"):
        draft_from_release(RELEASE, settings)


def test_a_rendered_title_that_breaks_the_schema_is_refused(settings):
    folder = Path(settings.config_dir) / "templates" / "posts" / \
        "release-announcement"
    folder.mkdir(parents=True)
    (folder / "reddit-title.j2").write_text("{{ notes * 20 }}")

    with pytest.raises(ConfigErrors) as raised:
        draft_from_release(RELEASE, settings)

    [error] = raised.value.errors
    assert str(error).startswith("release v1.4.0: overrides.reddit.title: ")
    assert "is too long" in str(error)


def test_every_rendered_platform_passes_the_shipped_policy(settings):
    """The templates and the policy are shipped together: an ordinary
    release (notes full of links and @mentions, a long name) must be
    publishable everywhere at a daytime hour, measured by the real
    connectors."""
    from marketing_ops.config.yamlfile import load_yaml
    from marketing_ops.platforms.base import get_connector
    from marketing_ops.safety.policy import (
        PolicyContext, evaluate, load_policy)

    release = dict(RELEASE, name="A much longer release name " * 12)
    draft = draft_from_release(release, settings)
    policy = load_policy(REPO / "config" / "policy.yaml")
    platforms = load_yaml(REPO / "config" / "platforms.yaml", "platforms")
    daytime = PolicyContext(now=datetime(2026, 3, 2, 9, tzinfo=timezone.utc))

    verdicts = {}
    for platform in draft.platforms:
        rendered = get_connector(platform, settings, platforms).render(draft)
        verdicts[platform] = evaluate(policy, rendered, daytime)

    assert {p: v.summary() for p, v in verdicts.items()
            if not v.allowed} == {}
