"""Sources describe themselves: every type is listed by `vigie sources types` with its French line, its
example block is a valid configuration, and config.toml documents a block for every type."""

from __future__ import annotations

import tomllib

import pytest
from click.testing import CliRunner
from pydantic import TypeAdapter

from listener.cli import main
from listener.sources import registry
from tests.conftest import REPO_ROOT


@pytest.mark.parametrize("plugin", registry.PLUGINS, ids=lambda p: p.type)
def test_each_example_block_is_a_valid_source_disabled_until_configured(plugin):
    block = tomllib.loads(plugin.example)["sources"][0]
    settings = TypeAdapter(registry.SourceSettings).validate_python(block)
    assert type(settings) is plugin.settings and settings.type == plugin.type
    if plugin.type != "replay":
        assert settings.enabled is False
    assert plugin.description[0].isupper() and len(plugin.description) < 110


def test_sources_types_lists_every_type_in_french_and_marks_configured_ones(tmp_path):
    config = tmp_path / "vigie.toml"
    config.write_text('[store]\npath = "x.db"\n[[sources]]\nname = "presse"\ntype = "rss"\nfeeds = []\n',
                      encoding="utf-8")
    result = CliRunner().invoke(main, ["sources", "types", "--config", str(config)])
    assert result.exit_code == 0, result.output
    for plugin in registry.PLUGINS:
        assert f"{plugin.type}" in result.output and plugin.description in result.output
    assert "configurées : presse" in result.output
    example = CliRunner().invoke(main, ["sources", "types", "--exemple", "rss"])
    assert example.output.strip() == registry.get("rss").example.strip()
    unknown = CliRunner().invoke(main, ["sources", "types", "--exemple", "myspace"])
    assert unknown.exit_code == 2 and "type de source inconnu : myspace" in unknown.output


def test_config_toml_has_a_disabled_block_for_every_type_with_production_urls():
    config = tomllib.loads((REPO_ROOT / "config.toml").read_text(encoding="utf-8"))
    types = {source["type"]: source for source in config["sources"]}
    assert set(registry.BY_TYPE) - {"replay"} <= set(types)
    for source in types.values():
        assert source["enabled"] is False
        for key in ("base_url", "url"):
            if key in source:
                assert source[key].startswith(("https://", "wss://")) and "127.0.0.1" not in source[key]
