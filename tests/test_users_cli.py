"""`vigie users disable/enable/role/passwd`: each change says what it did in French and is journaled."""

from __future__ import annotations

import sqlite3

from click.testing import CliRunner

from listener.cli import main


def test_account_changes_are_told_and_journaled_and_an_unknown_account_is_refused(tmp_path):
    config = tmp_path / "vigie.toml"
    config.write_text(f'[store]\npath = "{tmp_path / "vigie.db"}"\n', encoding="utf-8")
    base = ["--config", str(config)]
    runner = CliRunner()
    assert runner.invoke(main, ["users", "add", "claire", "--role", "cellule", "--generer", *base]).exit_code == 0

    result = runner.invoke(main, ["users", "disable", "Claire", *base])
    assert result.exit_code == 0
    assert result.output == "Compte « Claire » désactivé ; ses sessions sont fermées.\n"
    assert "désactivé" in runner.invoke(main, ["users", "list", *base]).output

    result = runner.invoke(main, ["users", "enable", "claire", *base])
    assert result.exit_code == 0 and result.output == "Compte « claire » réactivé.\n"
    assert "actif" in runner.invoke(main, ["users", "list", *base]).output

    result = runner.invoke(main, ["users", "role", "claire", "cabinet", *base])
    assert result.exit_code == 0 and result.output.startswith("Compte « claire » : ")
    result = runner.invoke(main, ["users", "passwd", "claire", "--generer", *base])
    assert result.exit_code == 0 and "Mot de passe de « claire » changé" in result.output
    assert "affiché une seule fois" in result.output

    result = runner.invoke(main, ["users", "disable", "inconnu", *base])
    assert result.exit_code == 2 and "Traceback" not in result.output and "inconnu" in result.output

    db = sqlite3.connect(tmp_path / "vigie.db")
    journal = db.execute("SELECT action, target FROM user_actions ORDER BY id").fetchall()
    assert journal == [("user-add", "claire"), ("user-disable", "claire"), ("user-enable", "claire"),
                       ("user-role", "claire"), ("user-passwd", "claire")]
    assert db.execute("SELECT role, disabled FROM users WHERE username = 'claire'").fetchone() == ("cabinet", 0)
