"""`vigie classify` (label texts from a file or stdin) and `vigie label` (the team labels topics)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import click

from classifiers.schema import save_label
from listener.cli.common import config_option, open_store, settings_for

if TYPE_CHECKING:
    from classifiers.types import TextClassifier
    from listener.settings import Settings

BATCH = 500
FIELDS = ("sentiment", "topics", "abusive", "threat", "hostile", "crisis", "crisis_abroad")


def _load_stack(settings: Settings) -> TextClassifier:
    from classifiers import classifier_settings, load_classifier

    return load_classifier(classifier_settings(settings.classifiers, settings.resolve), settings.institution)


def _batches(stream: BinaryIO) -> Any:
    r"""Lines split on "\n" only (a stray "\r" or U+2028 inside a post must not shift the output lines)."""
    batch: list[str] = []
    for raw in stream:
        line = raw.decode("utf-8", errors="replace")
        batch.append(line[:-1] if line.endswith("\n") else line)
        if batch[-1].endswith("\r"):
            batch[-1] = batch[-1][:-1]
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _render(labels: Any, text: str, field: str | None) -> str:
    if field == "sentiment":
        return labels.sentiment
    if field == "topics":
        return ",".join(labels.topic_names)
    if field in ("abusive", "threat", "hostile"):
        return "1" if getattr(labels, field) else "0"
    if field == "crisis":
        return ",".join(labels.crisis_kinds)
    if field == "crisis_abroad":
        return ",".join(labels.crisis_abroad_kinds)
    return json.dumps({"text": text, **labels.to_dict()}, ensure_ascii=False)


@click.command()
@click.argument("source", type=click.File("rb"), default="-", required=False)
@config_option
@click.option("--field", type=click.Choice(FIELDS), default=None,
              help="N'afficher qu'un champ par ligne : sentiment (negative|neutral|positive), abusive, threat, "
                   "hostile (1|0), crisis (types séparés par des virgules, ligne vide si aucun), crisis_abroad "
                   "(de même, les crises situées à l'étranger, comptées à part), topics.")
def classify(source: BinaryIO, config_path: Path | None, field: str | None) -> None:
    """Classe des textes (un par ligne, fichier ou entrée standard) : un objet JSON par ligne."""
    settings = settings_for(config_path)
    stack = _load_stack(settings)
    for batch in _batches(source):
        results = stack.classify_batch(batch)
        click.echo("\n".join(_render(labels, text, field) for labels, text in zip(results, batch, strict=True)))


def _unlabelled(store: Any, n: int, topics: list[str], seed: int | None) -> list[Any]:
    """A random sample of stored mentions nobody has labelled yet (those already tagged with the asked
    topics first, so rare topics get positive examples). Sampling happens in SQL: the store may hold
    millions of mentions."""
    where = "m.id NOT IN (SELECT mention_id FROM topic_labels)"
    salt = random.Random(seed).randrange(1, 2**31) if seed is not None else random.randrange(1, 2**31)
    order = f"ORDER BY ((m.id * 2654435761 + {salt}) % 4294967291)"  # seeded shuffle, reproducible
    chosen: list[int] = []
    if topics:
        clause = " OR ".join("m.topics LIKE ?" for _ in topics)
        chosen = [row[0] for row in store.conn.execute(
            f"SELECT m.id FROM mentions m WHERE {where} AND ({clause}) {order} LIMIT ?",
            [*(f'%"{t}"%' for t in topics), n],
        )]
    if len(chosen) < n:
        taken = set(chosen)
        for (mention_id,) in store.conn.execute(f"SELECT m.id FROM mentions m WHERE {where} {order} LIMIT ?",
                                                (n + len(chosen),)):
            if mention_id not in taken:
                chosen.append(mention_id)
                if len(chosen) >= n:
                    break
    by_id = {m.id: m for m in store.get_mentions(chosen)}
    return [by_id[i] for i in chosen if i in by_id]


def _parse_choice(answer: str, count: int) -> list[int] | None:
    """'1, 3' → [0, 2]; '' → []; None when the answer is not understood."""
    picked: list[int] = []
    for part in answer.replace(";", ",").replace(" ", ",").split(","):
        if not part:
            continue
        if not part.isdigit() or not 1 <= int(part) <= count:
            return None
        if int(part) - 1 not in picked:
            picked.append(int(part) - 1)
    return picked


@click.command()
@config_option
@click.option("--n", "count", type=click.IntRange(min=1), default=50, show_default=True,
              help="Nombre de mentions à étiqueter.")
@click.option("--topic", "only", multiple=True, help="Ne proposer que ce thème (option répétable).")
@click.option("--by", "labeller", default=None, help="Qui étiquette (gardé avec l'étiquette).")
@click.option("--seed", type=int, default=None, help="Graine du tirage (pour rejouer le même échantillon).")
@click.option("--train/--no-train", default=True, show_default=True,
              help="Réentraîner le modèle de thèmes à la fin s'il y a assez d'étiquettes.")
def label(config_path: Path | None, count: int, only: tuple[str, ...], labeller: str | None,
          seed: int | None, train: bool) -> None:
    """Étiquette des mentions stockées par thème (entraîne le modèle de thèmes de l'équipe)."""
    from listener.errors import VigieError

    settings = settings_for(config_path)
    taxonomy = settings.classifiers.topics
    names = [t.name for t in taxonomy]
    unknown = [t for t in only if t not in names]
    if unknown:
        raise VigieError(f"Thème inconnu : {', '.join(unknown)}. Thèmes configurés : {', '.join(names) or 'aucun'}.")
    offered = [t for t in taxonomy if not only or t.name in only]
    if not offered:
        raise VigieError("Aucun thème configuré ([[classifiers.topics]] dans la configuration).")
    store = open_store(settings)
    try:
        mentions = _unlabelled(store, count, list(only), seed)
        if not mentions:
            click.echo("Aucune mention à étiqueter : toutes les mentions stockées le sont déjà.")
            return
        click.echo(f"{len(mentions)} mention(s) à étiqueter. Thèmes :")
        for number, topic in enumerate(offered, start=1):
            click.echo(f"  {number:>2}. {topic.label or topic.name}")
        click.echo("Numéros séparés par des virgules, Entrée = aucun thème, q = quitter.")
        saved = 0
        for position, mention in enumerate(mentions, start=1):
            click.echo("")
            click.echo(f"[{position}/{len(mentions)}] {mention.source} {mention.author_handle or ''}")
            click.echo(f"    {mention.text.replace(chr(10), ' ')[:500]}")
            if mention.labels and mention.labels.topics:
                click.echo(f"    (thèmes proposés par Vigie : {', '.join(mention.labels.topic_names)})")
            while True:
                answer = click.prompt("Thèmes", default="", show_default=False, prompt_suffix=" : ").strip().lower()
                if answer in ("q", "quit", "quitter"):
                    break
                picked = _parse_choice(answer, len(offered))
                if picked is not None:
                    break
                click.echo(f"Réponse non comprise : tapez des numéros entre 1 et {len(offered)}, Entrée ou q.")
            if answer in ("q", "quit", "quitter"):
                break
            save_label(store, mention.id, [offered[i].name for i in picked], labeller)
            saved += 1
        click.echo(f"{saved} mention(s) étiquetée(s).")
        if train and saved:
            from classifiers import classifier_settings
            from classifiers.topics import train_topics

            summary = train_topics(store, None, classifier_settings(settings.classifiers, settings.resolve))
            needed = settings.classifiers.topic_model_min_labels
            counts = ", ".join(f"{name} {n}" for name, n in summary["positives"].items())
            click.echo(f"Étiquettes par thème : {counts} (modèle appris à partir de {needed} par thème).")
            if summary["trained"]:
                click.echo(f"Modèle de thèmes réentraîné ({', '.join(summary['trained'])}) : {summary['path']}")
    finally:
        store.close()
