"""`vigie users add/list/disable/enable/passwd/role`: the workspace's accounts, from the command line."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click

from listener.auth.users import (
    MIN_PASSWORD_LENGTH,
    ROLE_FR,
    ROLES,
    UserError,
    Users,
    generate_password,
    record_action,
)
from listener.cli.common import config_option, open_store, settings_for
from listener.errors import VigieError


def _users(config_path: Path | None) -> Users:
    settings = settings_for(config_path)
    auth = settings.web.auth
    return Users(open_store(settings), max_failures=auth.max_failures, lockout_minutes=auth.lockout_minutes)


def _read_password(from_stdin: bool, generate: bool) -> tuple[str, bool]:
    if generate:
        return generate_password(), True
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n"), False
    return click.prompt(f"Mot de passe ({MIN_PASSWORD_LENGTH} caractères au moins)", hide_input=True,
                        confirmation_prompt="Confirmer le mot de passe"), False


def _operator() -> str:
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except Exception:
        return "cli"


@click.group()
def users() -> None:
    """Comptes de l'espace de travail (rôles : lecture, cellule, cabinet, admin)."""


@users.command("add")
@config_option
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True, help="Rôle du compte.")
@click.option("--nom", "display_name", default="", help="Nom affiché (« Claire Martin »).")
@click.option("--email", default=None, help="Adresse e-mail (rapprochement avec la connexion ProConnect).")
@click.option("--password-stdin", is_flag=True, help="Lire le mot de passe sur l'entrée standard (scripts).")
@click.option("--generer", "generate", is_flag=True, help="Générer un mot de passe et l'afficher une fois.")
@click.option("--sso-seulement", "sso_only", is_flag=True, help="Sans mot de passe : connexion ProConnect seulement.")
def add(config_path: Path | None, username: str, role: str, display_name: str, email: str | None,
        password_stdin: bool, generate: bool, sso_only: bool) -> None:
    """Crée un compte."""
    repo = _users(config_path)
    password, shown = (None, False) if sso_only else _read_password(password_stdin, generate)
    try:
        user = repo.add(username, role, password=password, display_name=display_name, email=email)
    except UserError as exc:
        raise VigieError(str(exc)) from None
    record_action(repo.store, _operator(), "user-add", target=user.username, detail=role)
    click.echo(f"Compte « {user.username} » créé : {ROLE_FR[role]}.")
    if shown:
        click.echo(f"Mot de passe (affiché une seule fois) : {password}")
    repo.store.close()


@users.command("list")
@config_option
def list_users(config_path: Path | None) -> None:
    """Liste les comptes, leur rôle et leur état."""
    repo = _users(config_path)
    accounts = repo.list()
    if not accounts:
        click.echo("Aucun compte. Créer le premier : vigie users add NOM --role admin")
    for user in accounts:
        state = "désactivé" if user.disabled else ("verrouillé" if user.locked_until else "actif")
        last = user.last_login_at or "jamais connecté"
        name = f" ({user.display_name})" if user.display_name else ""
        click.echo(f"{user.username:<20} {user.role:<8} {state:<10} dernière connexion : {last}{name}")
    repo.store.close()


def _change(config_path: Path | None, username: str, action: str, change: Callable[[Users], object],
            done: str) -> None:
    """Apply one change to an account, record who did it, then say it in French."""
    repo = _users(config_path)
    try:
        change(repo)
        record_action(repo.store, _operator(), action, target=username.casefold())
    except UserError as exc:
        raise VigieError(str(exc)) from None
    finally:
        repo.store.close()
    click.echo(done)


def _switch(name: str, disabled: bool, summary: str, done: str) -> click.Command:
    """`disable` and `enable`: the same command, the other way round."""

    @users.command(name, help=summary)
    @config_option
    @click.argument("username")
    def command(config_path: Path | None, username: str) -> None:
        _change(config_path, username, f"user-{name}", lambda r: r.set_disabled(username, disabled),
                done.format(username=username))

    return command


disable = _switch("disable", True, "Désactive un compte (ses sessions ouvertes sont fermées).",
                  "Compte « {username} » désactivé ; ses sessions sont fermées.")
enable = _switch("enable", False, "Réactive un compte désactivé.", "Compte « {username} » réactivé.")


@users.command("passwd")
@config_option
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Lire le mot de passe sur l'entrée standard.")
@click.option("--generer", "generate", is_flag=True, help="Générer un mot de passe et l'afficher une fois.")
def passwd(config_path: Path | None, username: str, password_stdin: bool, generate: bool) -> None:
    """Change le mot de passe d'un compte (lève le verrouillage, ferme ses sessions)."""
    password, shown = _read_password(password_stdin, generate)
    _change(config_path, username, "user-passwd", lambda r: r.set_password(username, password),
            f"Mot de passe de « {username} » changé ; ses sessions sont fermées.")
    if shown:
        click.echo(f"Nouveau mot de passe (affiché une seule fois) : {password}")


@users.command("role")
@config_option
@click.argument("username")
@click.argument("role", type=click.Choice(ROLES))
def role(config_path: Path | None, username: str, role: str) -> None:
    """Change le rôle d'un compte."""
    _change(config_path, username, "user-role", lambda r: r.set_role(username, role),
            f"Compte « {username} » : {ROLE_FR[role]}.")
