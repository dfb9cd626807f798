"""A release announcement: one draft rendered from a GitHub release with
the Jinja templates in ``templates/posts/release-announcement/``.

The draft's id is ``release-<tag>``, so one release gives exactly one draft
and the ledger's history of that id keeps it from being announced twice.
An operator changes the wording by putting a template of the same name in
``<config>/templates/posts/release-announcement/``; that copy wins.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from marketing_ops import PLATFORMS
from marketing_ops.drafts import Draft, build_draft
from marketing_ops.errors import ConfigError, ConfigErrors

logger = logging.getLogger(__name__)

TEMPLATE_DIR = "release-announcement"

#: Per-platform templates: platform -> {override key: template name}.
#: Each is optional; a platform without one uses the draft's title and body.
OVERRIDE_TEMPLATES: dict[str, dict[str, str]] = {
    "github": {"title": "github-title.j2"},
    "x": {"text": "x.j2"},
    "telegram": {"text": "telegram.j2"},
    "discord": {"text": "discord.j2"},
    "reddit": {"title": "reddit-title.j2"},
}


def draft_from_release(release: dict[str, Any], settings, *,
                       platforms: tuple[str, ...] | None = None) -> Draft:
    """The announcement draft for ``release`` (a release object as the
    GitHub REST API returns it: tag_name, name, body, html_url,
    prerelease).  ``platforms`` defaults to every enabled platform that can
    publish (all but Hacker News)."""
    values = release_values(release, settings)
    environment = template_environment(settings)

    title = _render(environment, "title.j2", values, required=True)
    body = _render(environment, "body.md.j2", values, required=True)
    targets = platforms or default_platforms(settings)
    front_matter = {
        "id": release_id(values["tag"]),
        "title": _one_line(title),
        "platforms": list(targets),
        "overrides": _overrides(environment, values, targets),
        "tags": ["release"] + (["prerelease"] if values["prerelease"]
                               else []),
    }
    return _validated(front_matter, body.strip("\n"), values["tag"])


def release_values(release: dict[str, Any], settings) -> dict[str, Any]:
    """The variables the templates see."""
    tag = str(release.get("tag_name") or "").strip()
    if not tag:
        raise ConfigError("the release has no tag_name, so it cannot be "
                          "announced; check the release on GitHub")
    url = str(release.get("html_url") or "")
    return {
        "release": release,
        "tag": tag,
        "version": tag[1:] if re.match(r"[vV]\d", tag) else tag,
        "name": str(release.get("name") or "").strip() or tag,
        "url": url,
        "notes": str(release.get("body") or "").strip().replace("\r\n",
                                                               "\n"),
        "prerelease": bool(release.get("prerelease")),
        "project": settings.get("GITHUB_REPO") or _repository_of(url)
        or "the project",
    }


def release_id(tag: str) -> str:
    """``release-<tag>`` in the characters a draft id allows."""
    cleaned = re.sub(r"[^a-z0-9._-]+", "-", tag.lower()).strip("-._")
    return f"release-{cleaned or 'untagged'}"[:100]


def default_platforms(settings) -> tuple[str, ...]:
    return tuple(p for p in PLATFORMS
                 if p != "hn" and settings.enabled.get(p, True))


def template_environment(settings):
    """Templates from the configuration folder first, then the package's."""
    import jinja2

    from marketing_ops.resources import templates_dir

    folders = [Path(settings.config_dir) / "templates" / "posts",
               templates_dir() / "posts"]
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(f) for f in folders]),
        undefined=jinja2.StrictUndefined,   # a typo fails, not a blank
        autoescape=False,                   # plain text; connectors escape
        keep_trailing_newline=False,
    )


def _overrides(environment, values, targets) -> dict[str, dict]:
    overrides: dict[str, dict] = {}
    for platform in targets:
        for key, name in OVERRIDE_TEMPLATES.get(platform, {}).items():
            text = _render(environment, name, values, required=False)
            if text and text.strip():
                overrides.setdefault(platform, {})[key] = (
                    _one_line(text) if key == "title" else text.strip())
    # A link post points at the release page; its text is the title only.
    if "reddit" in targets and values["url"]:
        overrides.setdefault("reddit", {}).update(kind="link",
                                                  url=values["url"])
    return overrides


def _render(environment, name, values, *, required: bool) -> str | None:
    import jinja2

    path = f"{TEMPLATE_DIR}/{name}"
    try:
        return environment.get_template(path).render(**values)
    except jinja2.TemplateNotFound:
        if required:
            raise ConfigError(f"template {path} is missing; restore it from "
                              "the package's templates/posts/") from None
        return None
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(f"template syntax error: {exc.message}",
                          exc.filename or path, exc.lineno) from None
    except jinja2.UndefinedError as exc:
        raise ConfigError(f"{path}: {exc.message}; the templates can use "
                          "project, tag, version, name, url, notes, "
                          "prerelease and release") from None


def _validated(front_matter: dict, body: str, tag: str) -> Draft:
    """Hold a rendered draft to the same schema as a draft file."""
    from marketing_ops.config.yamlfile import schema_errors

    where = f"release {tag}"
    # No file lines to point at: name the release instead.
    errors = [ConfigError(e.message, where)
              for e in schema_errors(front_matter, {}, "draft", where)]
    if not body.strip():
        errors.append(ConfigError("the rendered body is empty; check "
                                  f"{TEMPLATE_DIR}/body.md.j2", where))
    if errors:
        raise ConfigErrors(errors)
    return build_draft(front_matter, body, None)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _repository_of(url: str) -> str | None:
    match = re.match(r"https?://[^/]+/[^/]+/([^/]+)/releases/", url)
    return match.group(1) if match else None
