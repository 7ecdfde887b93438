"""`vigie crise …` and `vigie posts …`: crisis level and the queue of scheduled posts, for the cell.

These commands work on the store directly (the daemon reads the same tables every minute); times are
the wall clock, the daemon's clock when it runs live. Dates typed by operators are local time.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import click

from listener.cli.common import config_option, open_store, settings_for
from listener.french import CRISIS_STATE_FR, POST_CATEGORY_FR, POST_STATE_FR
from listener.timeutil import parse_time, utcnow
from rules import crisis, posting_queue
from rules.crisis_settings import CATEGORIES, CHANNELS
from rules.posting_policy import policy_for


def _local(value: str | None, tz: ZoneInfo, fmt: str = "%d/%m/%Y %H:%M") -> str:
    return parse_time(value).astimezone(tz).strftime(fmt) if value else "—"


def _open(config_path: Path | None):
    settings = settings_for(config_path)
    return settings, open_store(settings), ZoneInfo(settings.institution.timezone)


@click.group(name="crise")
def crise() -> None:
    """Mode de crise : niveau en vigueur, changements (tracés) et journal."""


@crise.command(name="on")
@config_option
@click.option("--motif", required=True, help="Pourquoi (consigné dans le journal et annoncé à la cellule).")
@click.option("--niveau", type=click.Choice(["vigilance", "crise"]), default="crise", show_default=True,
              help="Niveau à activer.")
@click.option("--par", "actor", required=True, help="Qui décide (nom, consigné dans le journal).")
def crise_on(config_path: Path | None, motif: str, niveau: str, actor: str) -> None:
    """Active la vigilance ou la crise (annoncé, publications retenues selon la politique)."""
    settings, store, tz = _open(config_path)
    try:
        changed = crisis.enter(store, settings, niveau, actor, motif, utcnow())
        _report(store, tz, changed, niveau)
    finally:
        store.close()


@crise.command(name="off")
@config_option
@click.option("--par", "actor", required=True, help="Qui décide (nom, consigné dans le journal).")
@click.option("--motif", required=True, help="Pourquoi (consigné dans le journal et annoncé).")
@click.option("--niveau", type=click.Choice(["retour", "normal"]), default=None,
              help="Niveau visé (défaut : crise → retour à la normale ; retour ou vigilance → normal).")
def crise_off(config_path: Path | None, actor: str, motif: str, niveau: str | None) -> None:
    """Sort de la crise (d'abord « retour à la normale », puis « normal »). Rien de retenu n'est publié."""
    settings, store, tz = _open(config_path)
    try:
        state = crisis.current_state(store)["state"]
        if state == "normal":
            click.echo("Déjà en mode normal : rien à faire.")
            return
        target = niveau or ("retour" if state == "crise" else "normal")
        changed = crisis.enter(store, settings, target, actor, motif, utcnow())
        _report(store, tz, changed, target)
        held = posting_queue.list_posts(store, states=["held"])
        if held:
            click.echo(f"{len(held)} publication(s) restent retenues : rien n'est publié automatiquement. "
                       "Les libérer une à une avec `vigie posts release ID --par NOM`.")
        if target == "retour":
            click.echo("Pour revenir en mode normal : `vigie crise off --par NOM --motif …` à nouveau.")
    finally:
        store.close()


def _report(store, tz: ZoneInfo, changed: bool, target: str) -> None:
    state = crisis.current_state(store)
    label = CRISIS_STATE_FR[state["state"]]
    if not changed:
        click.echo(f"Déjà au niveau « {label} » depuis le {_local(state['since'], tz)} : rien à faire.")
        return
    click.echo(f"Niveau : {label.upper()} depuis le {_local(state['since'], tz)} (par {state['actor']}).")
    click.echo(f"Motif : {state['reason']}")
    held = posting_queue.list_posts(store, states=["held"])
    if held and target in ("crise", "vigilance"):
        click.echo(f"Publications retenues : {len(held)} (la cellule en est informée) :")
        for post in held:
            click.echo(f"  n° {post['id']} {_local(post['scheduled_at'], tz, '%d/%m %H:%M')} {post['channel']} "
                       f"({POST_CATEGORY_FR[post['category']]}) « {post['text'][:60]} »")


@crise.command(name="status")
@config_option
def crise_status(config_path: Path | None) -> None:
    """Niveau en vigueur, depuis quand, pourquoi, et politique de publication appliquée."""
    settings, store, tz = _open(config_path)
    try:
        state = crisis.current_state(store)
        label = CRISIS_STATE_FR[state["state"]]
        if state["since"]:
            click.echo(f"Niveau : {label.upper()} depuis le {_local(state['since'], tz)} "
                       f"(par {state['actor']}) — {state['reason'] or 'sans motif'}")
        else:
            click.echo("Niveau : NORMAL (aucun changement enregistré)")
        policy = policy_for(state["state"], settings.rules.posting)
        click.echo("Politique de publication :")
        click.echo("  retenues : " + (", ".join(sorted(policy.held)) or "aucune catégorie"))
        click.echo("  approbation par une 2e personne : " + (", ".join(sorted(policy.approval)) or "aucune"))
        if policy.max_per_hour is not None:
            click.echo(f"  cadence : {policy.max_per_hour} publication(s) par heure et par compte au plus")
        if state["state"] == "crise":
            calm = crisis.calm_since(state)
            minutes = settings.rules.crisis.calm_period_minutes
            click.echo(f"  sans alerte critique depuis le {_local(calm.isoformat() if calm else None, tz)} ; "
                       f"retour à la normale automatique après {minutes} min de calme")
        counts = posting_queue.summary(store)
        if counts:
            click.echo("Publications : " + ", ".join(f"{POST_STATE_FR.get(k, k)} {v}" for k, v in sorted(counts.items())))
        allowed = crisis.allowed_targets(settings.rules.crisis, state["state"])
        click.echo("Niveaux possibles ensuite : " + (", ".join(CRISIS_STATE_FR[s] for s in allowed) or "aucun"))
    finally:
        store.close()


@crise.command(name="journal")
@config_option
@click.option("--limite", "limit", default=50, show_default=True, help="Nombre de changements affichés.")
def crise_journal(config_path: Path | None, limit: int) -> None:
    """Journal des changements de niveau : qui, quand, pourquoi."""
    _, store, tz = _open(config_path)
    try:
        rows = crisis.journal(store, limit)
        if not rows:
            click.echo("Journal vide : aucun changement de niveau enregistré.")
            return
        for row in rows:
            click.echo(f"{_local(row['at'], tz)}  {CRISIS_STATE_FR.get(row['from'], row['from'])} → "
                       f"{CRISIS_STATE_FR.get(row['to'], row['to'])}  par {row['actor']} — {row['reason']}")
    finally:
        store.close()


@click.group(name="posts")
def posts() -> None:
    """Publications programmées (Mastodon, Bluesky) et politique de crise."""


@posts.command(name="add")
@config_option
@click.option("--texte", required=True, help="Texte de la publication.")
@click.option("--canal", type=click.Choice(list(CHANNELS)), required=True, help="Compte de publication.")
@click.option("--categorie", required=True, help=f"Catégorie : {', '.join(CATEGORIES)}.")
@click.option("--le", "when", required=True, help='Date et heure locales, ex. "2026-11-18 10:00".')
@click.option("--par", "author", required=True, help="Auteur (une autre personne devra approuver en crise).")
def posts_add(config_path: Path | None, texte: str, canal: str, categorie: str, when: str, author: str) -> None:
    """Programme une publication."""
    settings, store, tz = _open(config_path)
    try:
        scheduled = posting_queue.parse_when(when, tz)
        post_id = posting_queue.add_post(store, text=texte, channel=canal, category=categorie, scheduled_at=scheduled,
                                   author=author, at=utcnow())
        post = posting_queue.get_post(store, post_id)
        click.echo(f"Publication n° {post_id} programmée le {_local(post['scheduled_at'], tz)} sur {canal} "
                   f"({POST_CATEGORY_FR[post['category']]}).")
        state = crisis.current_state(store)["state"]
        policy = policy_for(state, settings.rules.posting)
        if post["category"] in policy.held:
            click.echo(f"Attention : niveau « {CRISIS_STATE_FR[state]} » — cette catégorie sera retenue.")
        elif post["category"] in policy.approval:
            click.echo(f"Attention : niveau « {CRISIS_STATE_FR[state]} » — une autre personne devra l'approuver "
                       f"(`vigie posts approve {post_id} --par NOM`).")
    finally:
        store.close()


@posts.command(name="list")
@config_option
@click.option("--etat", "states", multiple=True,
              type=click.Choice(list(POST_STATE_FR)), help="Filtrer par état (répétable).")
def posts_list(config_path: Path | None, states: tuple[str, ...]) -> None:
    """Liste les publications programmées, retenues et publiées."""
    settings, store, tz = _open(config_path)
    try:
        rows = posting_queue.list_posts(store, states=list(states) or None)
        if not rows:
            click.echo("Aucune publication.")
            return
        crisis_state = crisis.current_state(store)["state"]
        for post in rows:
            approvers = ", ".join(a["approver"] for a in post["approvals"])
            line = (f"n° {post['id']:<4} {_local(post['scheduled_at'], tz, '%d/%m %H:%M')}  {post['channel']:<8} "
                    f"{POST_CATEGORY_FR[post['category']]:<11} {POST_STATE_FR.get(post['state'], post['state']):<21} "
                    f"par {post['author']}")
            click.echo(line)
            click.echo(f"       « {post['text'][:100]}{'…' if len(post['text']) > 100 else ''} »")
            notes = []
            if post["state"] == "held":
                notes.append(f"retenue : {post['held_reason']}")
            if post["state"] == "scheduled":
                policy = policy_for(crisis_state, settings.rules.posting)
                if post["category"] in policy.held and not post["released_by"]:
                    notes.append(f"sera retenue à son échéance (niveau « {CRISIS_STATE_FR[crisis_state]} »)")
                elif ((post["category"] in policy.approval or post["needs_approval"])
                      and not posting_queue.has_valid_approval(store, settings.rules.posting, post)):
                    notes.append("attend l'approbation d'une autre personne")
            if approvers:
                notes.append(f"approuvée par {approvers}")
            if post["last_error"] and post["state"] in ("scheduled", "failed"):
                notes.append(f"erreur : {post['last_error']}")
            if post["external_url"]:
                notes.append(post["external_url"])
            for note in notes:
                click.echo(f"       {note}")
    finally:
        store.close()


def _action(config_path: Path | None, done: str, fn) -> None:
    settings, store, _ = _open(config_path)
    try:
        fn(settings, store, utcnow())
        click.echo(done)
    finally:
        store.close()


@posts.command(name="approve")
@config_option
@click.argument("post_id", type=int)
@click.option("--par", "actor", required=True, help="Qui approuve (pas l'auteur).")
def posts_approve(config_path: Path | None, post_id: int, actor: str) -> None:
    """Approuve une publication (une autre personne que son auteur)."""
    _action(config_path, f"Publication n° {post_id} approuvée par {actor}.",
            lambda settings, store, at: posting_queue.approve(store, settings.rules.posting, post_id, actor, at))


@posts.command(name="release")
@config_option
@click.argument("post_id", type=int)
@click.option("--par", "actor", required=True, help="Qui libère la publication.")
def posts_release(config_path: Path | None, post_id: int, actor: str) -> None:
    """Libère une publication retenue : elle reprend sa programmation (une décision humaine, tracée)."""
    _action(config_path, f"Publication n° {post_id} libérée par {actor} : elle reprend sa programmation.",
            lambda settings, store, at: posting_queue.release(store, post_id, actor, at))


@posts.command(name="hold")
@config_option
@click.argument("post_id", type=int)
@click.option("--par", "actor", required=True, help="Qui retient la publication.")
@click.option("--motif", default="", help="Pourquoi.")
def posts_hold(config_path: Path | None, post_id: int, actor: str, motif: str) -> None:
    """Retient une publication programmée jusqu'à ce qu'une personne la libère."""
    _action(config_path, f"Publication n° {post_id} retenue.",
            lambda settings, store, at: posting_queue.hold(store, post_id, actor, motif or f"retenue par {actor}", at))


@posts.command(name="cancel")
@config_option
@click.argument("post_id", type=int)
@click.option("--par", "actor", default="opérateur", show_default=True, help="Qui annule.")
def posts_cancel(config_path: Path | None, post_id: int, actor: str) -> None:
    """Annule une publication programmée ou retenue."""
    _action(config_path, f"Publication n° {post_id} annulée.",
            lambda settings, store, at: posting_queue.cancel(store, post_id, actor, at))
