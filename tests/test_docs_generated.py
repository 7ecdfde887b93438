"""The reference docs are generated from the code and committed: they must match what the code says, and
nothing a user can set, choose or run may lack a description (python -m listener.docs rewrites them)."""

from __future__ import annotations

import pytest
from pydantic import Field

from listener import docs
from listener.settings_base import StrictModel


@pytest.mark.parametrize("path", sorted(docs.outputs(), key=str), ids=lambda path: path.name)
def test_committed_docs_are_up_to_date(path) -> None:
    expected = docs.outputs()[path]
    assert path.exists(), f"{path} missing: run `python -m listener.docs`"
    assert path.read_text(encoding="utf-8") == expected, f"{path.name} is out of date: run `python -m listener.docs`"


def test_every_setting_command_and_type_is_in_the_docs() -> None:
    configuration = docs.render_configuration()
    for section in docs.config_sections():
        for key in section.keys:
            assert f"| `{key.path}` |" in configuration and key.description
    assert "## `[[sources]] type = \"rss\"`" in configuration and "## `[alerts.slack]`" in configuration
    assert '## `[[rules.rules]] type = "spike"`' in configuration
    cli = docs.render_cli()
    for command in ("vigie run", "vigie rules test", "vigie alerts", "vigie crise", "vigie users"):
        assert f"## `{command}`" in cli
    recipes = docs.RECIPES.read_text(encoding="utf-8")
    for point in ("## Add a source", "## Add a channel", "## Add a rule type", "## Add a detector", "## Add an area"):
        assert point in recipes
    for items in docs.extension_types().values():
        for name, _ in items:
            assert f"| `{name}` |" in recipes


def test_a_setting_added_without_a_description_fails() -> None:
    class Section(StrictModel):
        # Documented: shown in the reference.
        documented: int = 1
        undocumented: int = 2

    class Root(StrictModel):
        section: Section = Field(default_factory=Section)

    with pytest.raises(docs.Undocumented, match=r"section\.undocumented"):
        docs.config_sections(Root, include_rule_types=False)

    class Fixed(StrictModel):
        # Documented: shown in the reference.
        documented: int = 1
        undocumented: int = Field(default=2, description="Now it says what it does.")

    class FixedRoot(StrictModel):
        section: Fixed = Field(default_factory=Fixed)

    (section,) = docs.config_sections(FixedRoot, include_rule_types=False)
    assert [(key.path, key.description) for key in section.keys] == [
        ("documented", "Documented: shown in the reference."), ("undocumented", "Now it says what it does.")]


def test_a_command_added_without_help_fails(monkeypatch) -> None:
    import click

    from listener.cli import main

    @click.command(name="muet")
    def silent() -> None:
        pass

    monkeypatch.setitem(main.commands, "muet", silent)
    with pytest.raises(docs.Undocumented, match="vigie muet"):
        docs.render_cli()


def test_the_check_mode_reports_stale_files_without_writing(tmp_path, monkeypatch, capsys) -> None:
    stale = tmp_path / "cli.md"
    stale.write_text("ancien\n", encoding="utf-8")
    monkeypatch.setattr(docs, "outputs", lambda: {stale: "nouveau\n"})
    assert docs.main(["--check"]) == 1
    assert stale.read_text(encoding="utf-8") == "ancien\n" and "out of date" in capsys.readouterr().out
    assert docs.main([]) == 0 and stale.read_text(encoding="utf-8") == "nouveau\n"
