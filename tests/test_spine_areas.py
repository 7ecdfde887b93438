"""The composition root: areas come from their manifests only, registration is frozen once they are set
up, areas reach each other through typed keys and events, and `vigie --help` imports no area code."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest

from listener import areas
from listener.app import Vigie
from listener.cli import main
from listener.host import OUTBOX_QUEUED, AreaManifest, Event, Host, Key

HEAVY = ("sqlite_utils", "aiohttp", "pydantic", "sklearn", "numpy", "scipy", "apscheduler", "jinja2",
         "listener.store", "listener.app", "listener.settings", "rules.engine", "alerts.digest", "classifiers.stack")


def test_the_help_imports_no_area_code_and_no_heavy_library() -> None:
    code = ("import sys\nfrom click.testing import CliRunner\nfrom listener.cli import main\n"
            "result = CliRunner().invoke(main, ['--help'])\nassert result.exit_code == 0, result.output\n"
            "print('\\n'.join(sorted(sys.modules)))")
    loaded = set(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split())
    assert not {name for name in HEAVY if name in loaded}, "vigie --help must stay cheap (bench/bench_cli.py)"


def test_every_manifest_command_is_the_command_it_names() -> None:
    """The summary `vigie --help` prints without importing a command is that command's own first sentence."""
    for name, command in areas.commands().items():
        loaded = command.load()
        assert isinstance(loaded, click.Command) and loaded.name == name
        assert command.summary == loaded.get_short_help_str(limit=10_000), name


def test_two_areas_cannot_declare_the_same_command_or_step() -> None:
    one = AreaManifest("a", evaluation={"step": 10})
    two = AreaManifest("b", evaluation={"step": 20})
    with pytest.raises(ValueError, match="step"):
        areas.evaluation_order((one, two))


def test_evaluation_runs_in_the_order_the_manifests_declare(make_settings) -> None:
    app = Vigie(make_settings(pipeline={"classify": False}), web_enabled=False)
    try:
        assert isinstance(app, Host)  # the daemon is what every area's setup is typed against
        assert [(step.name, step.order) for step in app.evaluation_steps] == [
            ("detection", 10), ("rules", 20), ("crisis", 25)]
    finally:
        app.store.close()


def test_registration_is_frozen_once_the_areas_are_set_up(make_settings) -> None:
    app = Vigie(make_settings(pipeline={"classify": False}), web_enabled=False)
    try:
        with pytest.raises(RuntimeError, match="registration is closed"):
            app.add_routes([])
        with pytest.raises(RuntimeError, match="registration is closed"):
            app.add_evaluation_step("rules", lambda as_of: None)
    finally:
        app.store.close()


def test_an_area_gets_what_another_provides_by_typed_key_and_hears_its_events(make_settings) -> None:
    seen: list[str] = []
    number: Key[int] = Key("number")
    ping = Event("ping")

    def provider(host) -> None:
        host.provide(number, 42)
        host.add_evaluation_step("count", lambda as_of: seen.append(f"step {as_of:%H:%M}"))

    def consumer(host) -> None:
        host.subscribe(ping, lambda: seen.append(f"ping, number {host.get(number)}"))
        host.subscribe(ping, lambda: 1 / 0)  # a failing handler does not stop the others
        host.subscribe(ping, lambda: seen.append("second handler"))

    test_areas = (AreaManifest("provider", setup=provider, evaluation={"count": 5}),
                  AreaManifest("consumer", setup=consumer))
    app = Vigie(make_settings(pipeline={"classify": False}), web_enabled=False, areas=test_areas)
    try:
        assert app.get(number) == 42 and app.find(Key("number")) is None  # same name, another key
        with pytest.raises(KeyError, match="not provided"):
            app.get(Key[str]("missing"))
        app.emit(ping)
        app.emit(OUTBOX_QUEUED)  # nobody listens in these areas: nothing happens
        assert seen == ["ping, number 42", "second handler"]
        assert [step.name for step in app.evaluation_steps] == ["count"]
    finally:
        app.store.close()


def test_a_step_not_declared_in_its_manifest_is_refused(make_settings) -> None:
    def sneaky(host) -> None:
        host.add_evaluation_step("undeclared", lambda as_of: None)

    with pytest.raises(ValueError, match="not declared"):
        Vigie(make_settings(pipeline={"classify": False}), web_enabled=False,
              areas=(AreaManifest("sneaky", setup=sneaky),))


def test_the_store_gets_every_areas_tables_from_the_root(tmp_path) -> None:
    from listener.store import Store

    core_only = Store(tmp_path / "core.db")
    full = areas.open_store(tmp_path / "full.db")
    try:
        core_tables = set(core_only.db.table_names())
        full_tables = set(full.db.table_names())
        assert {"mentions", "alerts", "outbox"} <= core_tables
        assert {"rules_silences", "topic_labels", "scheduled_posts"} <= full_tables - core_tables
    finally:
        core_only.close()
        full.close()


def test_help_lists_every_command_of_every_area() -> None:
    from click.testing import CliRunner

    output = CliRunner().invoke(main, ["--help"]).output
    for name in areas.commands():
        assert f"  {name} " in output
