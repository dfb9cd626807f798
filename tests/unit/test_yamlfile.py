"""Every problem in a YAML file is one line: file, line, column, key path,
what is wrong and what to do."""

import pytest

from marketing_ops.config.yamlfile import load_yaml
from marketing_ops.errors import ConfigErrors

GOOD = """\
platforms:
  github:
    api_url: https://api.github.com
    discussion_category: Announcements
"""


def load(tmp_path, text, name="platforms.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_yaml(path, "platforms")


def messages(tmp_path, text):
    with pytest.raises(ConfigErrors) as caught:
        load(tmp_path, text)
    return [str(e) for e in caught.value.errors]


def test_valid_file_loads(tmp_path):
    assert load(tmp_path, GOOD)["platforms"]["github"]["discussion_category"] \
        == "Announcements"


def test_type_error_is_located_at_the_value(tmp_path):
    text = GOOD + "request_timeout_seconds: -3\n"
    [message] = messages(tmp_path, text)
    assert message.endswith(
        "platforms.yaml:5:26: request_timeout_seconds: -3 is less than or "
        "equal to the minimum of 0")


def test_unknown_key_suggests_the_close_one(tmp_path):
    text = GOOD.replace("discussion_category", "discusion_category")
    [message] = messages(tmp_path, text)
    assert ":4:5: platforms.github.discusion_category: unknown key; did you " \
           "mean 'discussion_category'?" in message


def test_duplicate_key_is_an_error_not_the_last_one_silently(tmp_path):
    text = GOOD + "  github:\n    api_url: https://example.org\n"
    [message] = messages(tmp_path, text)
    assert ":5:3: platforms.github: duplicate key (first defined on line 2)" \
        in message


def test_every_problem_is_listed(tmp_path):
    text = GOOD + "request_timeout_seconds: x\nbogus: 1\n"
    found = messages(tmp_path, text)
    assert len(found) == 2
    assert any("bogus: unknown key" in m for m in found)
    assert any("request_timeout_seconds: 'x' is not of type" in m
               for m in found)


def test_tab_indentation_names_line_and_column(tmp_path):
    [message] = messages(tmp_path, "platforms:\n\tgithub: {}\n")
    assert ":2:1: tab character in indentation" in message


def test_bad_utf8_names_line_and_column(tmp_path):
    path = tmp_path / "platforms.yaml"
    path.write_bytes(b"platforms:\n  github: {}\n# caf\xe9\n")
    with pytest.raises(ConfigErrors) as caught:
        load_yaml(path, "platforms")
    assert ":3:6: byte 0xe9 is not valid UTF-8" in str(caught.value)


def test_syntax_error_is_one_located_line(tmp_path):
    [message] = messages(tmp_path, "platforms: [unclosed\n")
    assert "YAML syntax error" in message and "platforms.yaml:2:1:" in message


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(ConfigErrors) as caught:
        load_yaml(tmp_path / "nope.yaml", "platforms")
    assert "file not found" in str(caught.value)

    directory = tmp_path / "dir.yaml"
    directory.mkdir()
    with pytest.raises(ConfigErrors) as caught:
        load_yaml(directory, "platforms")
    assert "is a directory" in str(caught.value)


def test_empty_file_says_it_is_empty(tmp_path):
    [message] = messages(tmp_path, "# nothing here\n")
    assert "the file is empty" in message


def test_missing_required_key(tmp_path):
    [message] = messages(tmp_path, "request_timeout_seconds: 3\n")
    assert "'platforms' is required here but missing" in message
