"""`vigie status` and the demo's closing summary tell the operator the crisis level and the posts' fate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from click.testing import CliRunner

from listener import areas
from listener.cli import main
from listener.cli.service import _print_demo_summary
from rules import crisis_state, posting_queue
from rules.crisis_settings import CrisisSettings

T = datetime(2026, 11, 18, 8, 0, tzinfo=UTC)


def write_config(tmp_path) -> str:
    path = tmp_path / "config.toml"
    path.write_text(f'[store]\npath = "{tmp_path / "cli.db"}"\n\n[web]\nhost = "127.0.0.1"\nport = 9\n',
                    encoding="utf-8")
    return str(path)


def test_status_says_normal_before_any_change_then_the_recorded_level(tmp_path):
    config = write_config(tmp_path)
    runner = CliRunner()
    result = runner.invoke(main, ["status", "--config", config])
    assert result.exit_code == 0, result.output
    assert "Mode de crise : normal" in result.output
    assert "Alertes ouvertes : 0" in result.output

    store = areas.open_store(tmp_path / "cli.db")
    before = crisis_state.current_state(store)
    crisis_state.check_transition(CrisisSettings(), "normal", "crise")
    crisis_state.record_transition(store, before, "crise", "Claire Martin", "Inondation quartier Sud", T)
    store.close()

    result = runner.invoke(main, ["status", "--config", config])
    assert result.exit_code == 0, result.output
    assert ("Mode de crise : crise depuis 2026-11-18T08:00:00Z (Inondation quartier Sud — Claire Martin)"
            in result.output)


def test_the_demo_summary_counts_published_and_held_posts_and_the_crisis(store, capsys):
    def post(text: str) -> int:
        return posting_queue.add_post(store, text=text, channel="mastodon", category="information",
                                      scheduled_at=T + timedelta(hours=1), author="Claire", at=T)

    posting_queue.mark_published(store, post("Travaux rue Haute"), at=T, dry_run=True)
    posting_queue.mark_published(store, post("Marché de Noël"), at=T, dry_run=False)
    posting_queue.hold(store, post("Concours photo"), "Paul", "niveau crise", T)
    post("Encore programmée")
    _print_demo_summary(SimpleNamespace(store=store, tz=ZoneInfo("Europe/Paris")))
    assert "Mode de crise" not in capsys.readouterr().out

    crisis_state.record_transition(store, crisis_state.current_state(store), "crise", "règle crue", "Crue", T)
    _print_demo_summary(SimpleNamespace(store=store, tz=ZoneInfo("Europe/Paris")))
    out = capsys.readouterr().out
    assert "Publications programmées : 2 publiée(s), 1 retenue(s) par la politique de crise" in out
    assert "Mode de crise : CRISE depuis le 18/11 09:00 — Crue" in out
