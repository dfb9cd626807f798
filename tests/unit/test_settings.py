import pytest

from marketing_ops.config.settings import load_settings
from marketing_ops.errors import ConfigError


def write_env(tmp_path, text):
    (tmp_path / ".env").write_text(text)
    return tmp_path


def test_process_environment_overrides_the_file(tmp_path):
    write_env(tmp_path, "DRY_RUN=false\nMAX_LIVE_POSTS_PER_PLATFORM=3\n")
    settings = load_settings(tmp_path, tmp_path / "state",
                             {"DRY_RUN": "true"})
    assert settings.dry_run is True
    assert settings.max_live_posts_per_platform == 3


def test_publishing_is_off_unless_turned_on(tmp_path):
    settings = load_settings(tmp_path, tmp_path, {})
    assert settings.publish_enabled is False
    assert settings.enabled["hn"] is False
    assert settings.enabled["github"] is True


@pytest.mark.parametrize("line,words", [
    ("DRY_RUN=maybe", "not a boolean"),
    ("MAX_LIVE_POSTS_PER_PLATFORM=-1", "whole number"),
    ("MAX_LIVE_REPLIES_PER_PLATFORM=two", "whole number"),
])
def test_bad_flag_values_are_named(tmp_path, line, words):
    write_env(tmp_path, line + "\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path, tmp_path, {})
    assert words in str(caught.value)
    assert line.split("=")[0] in str(caught.value)


def test_quoted_hash_reaches_a_boolean_as_an_error_with_the_reason(tmp_path):
    write_env(tmp_path, 'ENABLE_HN="false  # No API"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path, tmp_path, {})
    assert "own line" in str(caught.value)


def test_secret_values_include_the_webhook_token(tmp_path):
    env = {"DISCORD_WEBHOOK_URL": "https://discord.com/api/webhooks/1/tok3n"
                                  "SECRET", "GITHUB_OWNER": "someone"}
    settings = load_settings(tmp_path, tmp_path, env)
    assert "tok3nSECRET" in settings.secret_values()
    assert "someone" not in settings.secret_values()


def test_refused_value_from_the_file_names_its_line(tmp_path):
    write_env(tmp_path, "GITHUB_OWNER=me\nDRY_RUN=perhaps\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path, tmp_path, {})
    assert str(caught.value).startswith(f"{tmp_path}/.env:2: DRY_RUN=")


def test_refused_value_from_the_environment_says_so(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path, tmp_path, {"DRY_RUN": "perhaps"})
    assert "(set in the environment)" in str(caught.value)
