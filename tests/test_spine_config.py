"""Configuration: the shipped config.toml is valid and documented; mistakes are named, not tracebacks."""

from __future__ import annotations

import re
import tomllib

import pytest
from click.testing import CliRunner

from listener.cli import main
from listener.errors import ConfigError
from listener.settings import Settings, load_settings
from tests.conftest import REPO_ROOT


def test_shipped_config_is_valid():
    settings = load_settings(REPO_ROOT / "config.toml")
    assert settings.institution.timezone == "Europe/Paris"
    assert settings.store.retention_days == 90


def test_every_key_of_the_shipped_config_is_commented():
    """Each `key = value` line has a comment line right above it (multi-line values count as one)."""
    lines = (REPO_ROOT / "config.toml").read_text(encoding="utf-8").splitlines()
    undocumented = []
    open_brackets = 0
    for number, line in enumerate(lines):
        stripped = line.strip()
        if open_brackets > 0:  # inside a multi-line array
            open_brackets += stripped.count("[") - stripped.count("]")
            continue
        if re.match(r"^[A-Za-z_][\w.-]*\s*=", stripped):
            if number == 0 or not lines[number - 1].strip().startswith("#"):
                undocumented.append(f"line {number + 1}: {stripped}")
            value = stripped.split("=", 1)[1]
            open_brackets = value.count("[") - value.count("]")
    assert undocumented == []


def write(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "key", "french"),
    [
        ("[store]\nretention_jours = 30\n", "store.retention_jours", "clé inconnue"),
        ("[store]\nretention_days = \"trente\"\n", "store.retention_days", "un entier est attendu"),
        ("[web]\nport = 99999\n", "web.port", "trop grande"),
        ('[[sources]]\ntype = "replay"\npath = "x.jsonl"\n', "sources[0].name", "obligatoire"),
        ('[[sources]]\nname = "rejeu"\ntype = "replay"\npath = "x.jsonl"\nvitesse = 2\n',
         "sources[0](rejeu).vitesse", "clé inconnue"),
        ('[institution]\ntimezone = "Europe/Pariss"\n', "institution.timezone", "valeur invalide"),
    ],
)
def test_config_errors_name_the_key_and_the_file(tmp_path, text, key, french):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    assert error.value.key == key
    message = str(error.value)
    assert str(path) in message and f"« {key} »" in message and french in message


def test_bad_toml_syntax_is_reported_with_the_file(tmp_path):
    path = write(tmp_path, "[store\npath = 1\n")
    with pytest.raises(ConfigError, match="TOML invalide"):
        load_settings(path)


def test_cli_shows_a_clear_error_without_traceback(tmp_path):
    path = write(tmp_path, "[pipeline]\nbatch_size = -3\n")
    result = CliRunner().invoke(main, ["check-config", "--config", str(path)])
    assert result.exit_code == 2
    assert "pipeline.batch_size" in result.output
    assert "Traceback" not in result.output


def test_defaults_match_documented_defaults():
    shipped = tomllib.loads((REPO_ROOT / "config.toml").read_text(encoding="utf-8"))
    assert shipped["store"]["retention_days"] == Settings().store.retention_days
