"""The channel registry and the one recipient model: every channel describes itself, has its section
in [alerts] and its key in recipient groups; old group keys still work, with a warning."""

from __future__ import annotations

import logging
import tomllib

import pytest
from click.testing import CliRunner

from alerts import registry
from alerts.settings import AlertsSettings, DigestGroup
from listener.errors import ConfigError
from listener.settings import settings_from_dict
from rules.recipients import Recipients
from rules.settings import GroupSettings


def test_every_channel_has_settings_a_recipient_key_and_a_valid_example():
    assert {"console", "slack", "email", "webhook"} <= set(registry.BY_NAME)
    for plugin in registry.PLUGINS:
        assert AlertsSettings.model_fields[plugin.name].annotation is plugin.settings, plugin.name
        assert plugin.name in Recipients.model_fields, plugin.name
        assert plugin.description and plugin.target
        example = tomllib.loads(plugin.example)
        AlertsSettings.model_validate(example["alerts"])  # the example is a working [alerts] block


def test_each_channel_is_one_module_holding_its_settings_and_code():
    import importlib

    for plugin in registry.PLUGINS:
        module = importlib.import_module(f"alerts.{plugin.name}")
        assert module.PLUGIN is plugin
        assert plugin.settings.__module__ == module.__name__, plugin.name
        channel = plugin.create(plugin.settings(), registry.ChannelContext(store=None))
        assert type(channel).__module__ == module.__name__ and channel.name == plugin.name
        assert all(callable(getattr(channel, m, None)) for m in ("send", "send_digest", "close"))


def test_cli_lists_each_channel_with_its_french_description(tmp_path):
    from listener.cli import main

    env = {"VIGIE_CONFIG": str(tmp_path / "absent.toml"), "VIGIE_MATRIX_TOKEN": None, "VIGIE_SLACK_TOKEN": "xoxb-1"}
    result = CliRunner().invoke(main, ["alerts", "channels"], env=env)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for plugin in registry.PLUGINS:
        assert any(line.startswith(plugin.name) and plugin.description in line for line in lines), plugin.name
    by_name = {line.split()[0]: line for line in lines if line and not line.startswith(" ")}
    assert "[activé — à compléter : serveur (homeserver), jeton absent (VIGIE_MATRIX_TOKEN)]" in by_name["matrix"]
    assert by_name["slack"].endswith("[activé]") and by_name["teams"].endswith("[activé]")
    example = CliRunner().invoke(main, ["alerts", "channels", "--exemple", "webhook"])
    assert example.exit_code == 0 and "[alerts.webhook]" in example.output
    unknown = CliRunner().invoke(main, ["alerts", "channels", "--exemple", "pigeon"])
    assert unknown.exit_code == 2 and "canal inconnu : pigeon" in unknown.output


def test_alert_groups_and_digest_groups_share_the_recipient_keys():
    group = GroupSettings(slack=["#veille"], email=["cellule@rivebelle.fr"], console=True)
    digest = DigestGroup(name="elus", slack=["#elus"], email=["maire@rivebelle.fr"])
    assert isinstance(group, Recipients) and isinstance(digest, Recipients)
    assert group.targets() == [("slack", "#veille"), ("email", "cellule@rivebelle.fr"), ("console", "-")]
    assert digest.targets() == [("slack", "#elus"), ("email", "maire@rivebelle.fr")]


def test_old_keys_are_read_with_a_deprecation_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="vigie.config"):
        group = GroupSettings(label="Cellule", slack_channels=["#veille"], emails=["a@rivebelle.fr"],
                              webhooks=["https://outil.example/hook"])
        digest = DigestGroup(name="elus", emails=["maire@rivebelle.fr"])
    assert group.slack == ["#veille"] and group.email == ["a@rivebelle.fr"] and group.webhook
    assert digest.email == ["maire@rivebelle.fr"]
    warned = " ".join(r.getMessage() for r in caplog.records)
    assert "'slack_channels'" in warned and "write 'slack'" in warned and "'elus'" in warned


def test_old_and_new_key_together_is_an_error_naming_the_group():
    with pytest.raises(ConfigError) as error:
        settings_from_dict({"rules": {"groups": {"cellule": {"slack": ["#a"], "slack_channels": ["#b"]}}}})
    assert "rules.groups.cellule" in str(error.value)


@pytest.mark.parametrize(("key", "value", "words"), [
    ("sms", ["0612345678"], "format international"),
    ("matrix", ["veille"], "salon Matrix"),
    ("teams", ["ftp://x"], "http(s)"),
    ("email", ["pas-une-adresse"], "e-mail invalide"),
])
def test_bad_target_is_reported_with_its_key(key, value, words):
    with pytest.raises(ConfigError) as error:
        settings_from_dict({"rules": {"groups": {"astreinte": {key: value}}}})
    assert f"rules.groups.astreinte.{key}" in str(error.value) and words in str(error.value)


def test_phone_numbers_are_normalised():
    assert GroupSettings(sms=["+33 6 12 34 56 78"]).sms == ["+33612345678"]


def test_demo_routes_nothing_but_the_console():
    from rules.demo import demo_overrides

    settings = settings_from_dict({"rules": {"groups": {"cellule": {"slack": ["#a"], "sms": ["+33612345678"]},
                                                         "cabinet": {"email": ["c@rivebelle.fr"]}}}})
    changes = demo_overrides(settings)
    assert changes["rules"]["groups"]["cellule"]["console"] is True
    assert changes["rules"]["groups"]["cellule"]["sms"] == [] and changes["rules"]["groups"]["cabinet"]["email"] == []
    assert all(not section["enabled"] for name, section in changes["alerts"].items()
               if isinstance(section, dict) and "enabled" in section and name not in ("console", "digest"))
    assert changes["alerts"]["console"]["enabled"] is True


async def test_cli_sends_a_test_message_to_the_configured_targets_and_reports(tmp_path):
    import asyncio

    from listener.cli import main
    from tests.fakes.mattermost import FakeMattermost

    async with FakeMattermost() as mm:
        config = tmp_path / "vigie.toml"
        config.write_text(f'[store]\npath = "{tmp_path / "v.db"}"\n[rules.groups.cellule]\n'
                          f'mattermost = ["{mm.hook_url()}"]\n', encoding="utf-8")
        ok = await asyncio.to_thread(CliRunner().invoke, main, ["alerts", "test", "mattermost", "--config",
                                                                 str(config), "--par", "Léa (cellule)"])
        assert ok.exit_code == 0, ok.output
        assert f"✓ mattermost → {mm.hook_url()} : reçu" in ok.output
        (post,) = mm.posts
        assert post["text"] == "Message d'essai — Ville de Rivebelle"
        assert "Ce canal fonctionne" in post["attachments"][0]["text"] and "Léa \\(cellule\\)" in post["attachments"][0]["text"]

        bad = await asyncio.to_thread(CliRunner().invoke, main, ["alerts", "test", "mattermost", f"{mm.url}/hooks/x",
                                                                  "--config", str(config)])
        assert bad.exit_code == 2
        assert "échec — Mattermost : requête refusée (HTTP 400) : Invalid webhook." in bad.output
        assert "1 essai(s) sur 1 sans succès" in bad.output

    unknown = CliRunner().invoke(main, ["alerts", "test", "pigeon", "--config", str(config)])
    assert unknown.exit_code == 2 and "canal inconnu : pigeon" in unknown.output
