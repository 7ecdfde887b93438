"""The `vigie` command. Each area declares its commands in its manifest (listener/areas.py lists them);
a command's module is imported only when that command runs, so `vigie --help` stays fast. Operator
messages are in French."""

from __future__ import annotations

import logging
import sys

import click

from listener import areas
from listener.errors import VigieError
from listener.host import Command


def _short(text: str, limit: int) -> str:
    """The summary cut at a word to fit the help column, the way click shortens a command's own help."""
    if len(text) <= limit:
        return text
    import textwrap

    return textwrap.shorten(text, max(limit, 3), placeholder="...", break_on_hyphens=False)


class VigieGroup(click.Group):
    """Lazy commands from the areas' manifests; operator errors (bad config, bad input) shown as one clear
    message, never a traceback."""

    def __init__(self, *args, lazy: dict[str, Command] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            self.add_command(self.lazy[cmd_name].load(), cmd_name)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands with their manifest summaries: listing them imports none of them."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            if name in self.commands:
                if self.commands[name].hidden:
                    continue
                rows.append((name, self.commands[name].get_short_help_str(limit)))
            else:
                rows.append((name, _short(self.lazy[name].summary, limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except VigieError as exc:
            click.echo(f"Erreur : {exc}", err=True)
            sys.exit(2)


@click.group(cls=VigieGroup, lazy=areas.commands())
@click.option("-v", "--verbose", is_flag=True, help="Journal détaillé (debug).")
@click.version_option(package_name="vigie")
def main(verbose: bool) -> None:
    """Vigie : veille des réseaux sociaux et alertes de crise pour les institutions publiques."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
