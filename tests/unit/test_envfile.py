"""The .env loader reads exactly what systemd's EnvironmentFile= reads, and
refuses what systemd would read differently from what the operator meant."""

import pytest

from marketing_ops.config.envfile import parse_env_file, parse_env_text
from marketing_ops.errors import ConfigError

# (file content, expected mapping) — each row is one rule of systemd's
# grammar (src/basic/env-file.c), checked against a booted systemd in the
# infrastructure tests.
SYSTEMD_READS = [
    ("A=1\n", {"A": "1"}),
    ("  A = 1  \n", {"A": "1"}),                       # blanks around
    ("A=\n", {"A": ""}),                                # empty value
    ("# comment\n; also a comment\nA=1\n", {"A": "1"}),
    ("A=two words\n", {"A": "two words"}),              # inner blanks kept
    ("A='single # not comment'\n", {"A": "single # not comment"}),
    ("A=\"double # kept\"\n", {"A": "double # kept"}),
    ("A='back\\slash'\n", {"A": "back\\slash"}),        # literal in '...'
    ('A="q\\"uote"\n', {"A": 'q"uote'}),                # \" unescaped
    ('A="dollar \\$HOME"\n', {"A": "dollar $HOME"}),
    ('A="keep \\n as is"\n', {"A": "keep \\n as is"}),  # unknown escape kept
    ("A=un\\quoted\n", {"A": "unquoted"}),              # \x -> x unquoted
    ("A=first\\\nsecond\n", {"A": "firstsecond"}),      # continuation
    ('A="multi\\\nline"\n', {"A": "multiline"}),
    ("A=1\nA=2\n", {"A": "2"}),                         # last one wins
    ("A='x' 'y'\n", {"A": "xy"}),                       # blanks after quote
    ("A=$NOT_EXPANDED\n", {"A": "$NOT_EXPANDED"}),      # no expansion
    ("A=1\r\nB=2\r\n", {"A": "1", "B": "2"}),           # CRLF
    ("A=no-newline-at-end", {"A": "no-newline-at-end"}),
    ("A=x#y\n", {"A": "x#y"}),                          # '#' inside a word
    ("A=\"a # b\"\n", {"A": "a # b"}),
]


@pytest.mark.parametrize("text,expected", SYSTEMD_READS)
def test_reads_values_as_systemd_does(text, expected):
    assert parse_env_text(text) == expected


REFUSED = [
    ("ENABLE_HN=false  # No API\n", 1, "systemd keeps a trailing"),
    ("A=1\nB=value # note\n", 2, "move the comment to its own line"),
    ("just a line\n", 1, "has no '='"),
    ("A='never closed\n", 1, "never closed"),
    ("1A=x\n", 1, "not a valid variable name"),
    ("export A=x\n", 1, "not a valid variable name"),
    ("A=bell\x07\n", 1, "control character"),
    ("# ends with backslash \\\nA=1\n", 1, "backslash"),
]


@pytest.mark.parametrize("text,line,words", REFUSED)
def test_refuses_lines_systemd_would_misread(text, line, words):
    with pytest.raises(ConfigError) as caught:
        parse_env_text(text, "config/.env")
    message = str(caught.value)
    assert message.startswith(f"config/.env:{line}: ")
    assert words in message
    assert "\n" not in message


def test_seed_example_line_is_refused_with_the_reason_and_the_fix():
    with pytest.raises(ConfigError) as caught:
        parse_env_text("ENABLE_HN=false  # No API\n", "config/.env")
    message = str(caught.value)
    assert "'false  # No API'" in message
    assert "own line" in message


def test_bad_utf8_names_the_line(tmp_path):
    path = tmp_path / ".env"
    path.write_bytes(b"A=1\nB=caf\xe9\n")
    with pytest.raises(ConfigError) as caught:
        parse_env_file(path)
    assert ":2:" in str(caught.value) and "UTF-8" in str(caught.value)


def test_missing_file_says_what_to_do(tmp_path):
    with pytest.raises(ConfigError) as caught:
        parse_env_file(tmp_path / ".env")
    assert ".env.example" in str(caught.value)


def test_shipped_example_parses():
    from pathlib import Path
    values = parse_env_file(Path(__file__).parents[2] / "config/.env.example")
    assert values["ENABLE_HN"] == "false"
    assert values["PUBLISH_ENABLED"] == "false"
