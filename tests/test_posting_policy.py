"""The posting policy as the cell sees it: what goes out, what is held, who must approve."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from listener.cli import main
from listener.store import Store
from rules import crisis, posting_queue
from rules.posting_policy import PostingError
from rules.publisher import Publisher

T = datetime(2026, 11, 18, 8, 0, tzinfo=UTC)


@pytest.fixture
def settings(make_settings):
    return make_settings(rules={"posting": {"mode": "dry-run", "crisis_max_posts_per_hour": 2}})


def add(store: Store, category: str, minutes: float = 0, *, author: str = "Léa", channel: str = "mastodon",
        text: str | None = None) -> int:
    return posting_queue.add_post(store, text=text or f"Publication {category} à {minutes} min", channel=channel,
                            category=category, scheduled_at=T + timedelta(minutes=minutes), author=author,
                            at=T - timedelta(days=1))


def state_of(store: Store, post_id: int) -> str:
    return posting_queue.get_post(store, post_id)["state"]


async def run(store: Store, settings, *moments: datetime) -> list[int]:
    publisher = Publisher(store, settings)
    done: list[int] = []
    for moment in moments:
        done += await publisher.publish_due(moment)
    return done


async def test_normal_posts_follow_their_schedule(store, settings):
    joke = add(store, "humour", 30)
    promo = add(store, "promotion", 60)
    assert await run(store, settings, T) == []
    assert await run(store, settings, T + timedelta(minutes=30)) == [joke]
    assert await run(store, settings, T + timedelta(minutes=61)) == [promo]
    assert state_of(store, joke) == "published-dry-run"


async def test_a_joke_scheduled_during_a_crisis_is_held_and_never_published(store, settings):
    crisis.enter(store, settings, "crise", "Claire", "Accident", T)
    joke = add(store, "humour", 90, text="Notre mascotte fête ses 10 ans 🎉")  # added after the crisis began
    moments = [T + timedelta(minutes=m) for m in range(0, 600, 15)]
    assert joke not in await run(store, settings, *moments)
    post = posting_queue.get_post(store, joke)
    assert post["state"] == "held" and post["published_at"] is None
    held_messages = [m for m in store.conn.execute("SELECT payload FROM outbox WHERE kind = 'held_posts'")]
    assert any("Notre mascotte" in payload for (payload,) in held_messages)
    # Even approved by someone else, a held post stays held: only a release frees it.
    posting_queue.approve(store, settings.rules.posting, joke, "Claire", T)
    assert joke not in await run(store, settings, T + timedelta(hours=12))


async def test_crisis_post_needs_a_second_person(store, settings):
    crisis.enter(store, settings, "crise", "Claire", "Coupure d'eau", T)
    info = add(store, "information", 5, author="Léa", text="Distribution d'eau place de la Mairie à 14 h")
    assert await run(store, settings, T + timedelta(minutes=10)) == []
    assert state_of(store, info) == "scheduled"
    with pytest.raises(PostingError, match="autre personne"):
        posting_queue.approve(store, settings.rules.posting, info, "léa ", T)  # the author, whatever the spelling
    assert await run(store, settings, T + timedelta(minutes=11)) == []
    posting_queue.approve(store, settings.rules.posting, info, "Claire", T + timedelta(minutes=12))
    assert await run(store, settings, T + timedelta(minutes=13)) == [info]
    assert posting_queue.get_post(store, info)["approvals"][0]["approver"] == "Claire"


async def test_nothing_held_goes_out_when_the_crisis_ends(store, settings):
    promo = add(store, "promotion", 30)
    event = add(store, "evenement", 120)
    crisis.enter(store, settings, "crise", "Claire", "Tempête", T)
    assert {state_of(store, promo), state_of(store, event)} == {"held"}
    crisis.enter(store, settings, "retour", "Claire", "Vent retombé", T + timedelta(hours=3))
    crisis.enter(store, settings, "normal", "Claire", "Fin", T + timedelta(hours=4))
    published = await run(store, settings, *(T + timedelta(hours=h) for h in range(4, 48)))
    assert published == []
    assert {state_of(store, promo), state_of(store, event)} == {"held"}
    posting_queue.release(store, promo, "Paul", T + timedelta(hours=48))
    assert await run(store, settings, T + timedelta(hours=48, minutes=1)) == [promo]
    assert state_of(store, event) == "held"


async def test_an_unapproved_crisis_post_does_not_slip_out_when_the_crisis_ends(store, settings):
    crisis.enter(store, settings, "crise", "Claire", "Coupure d'eau", T)
    info = add(store, "information", 5, text="L'eau est de nouveau potable")
    assert await run(store, settings, T + timedelta(minutes=10)) == []
    crisis.enter(store, settings, "retour", "Claire", "Réseau rétabli", T + timedelta(hours=1))
    crisis.enter(store, settings, "normal", "Claire", "Fin", T + timedelta(hours=2))
    assert await run(store, settings, T + timedelta(hours=3)) == []
    posting_queue.approve(store, settings.rules.posting, info, "Paul", T + timedelta(hours=3))
    assert await run(store, settings, T + timedelta(hours=3, minutes=1)) == [info]


async def test_a_post_released_during_the_crisis_still_needs_another_person(store, settings):
    promo = add(store, "promotion", 30)
    crisis.enter(store, settings, "crise", "Claire", "Tempête", T)
    posting_queue.release(store, promo, "Léa", T + timedelta(minutes=40))  # the author herself
    assert await run(store, settings, T + timedelta(minutes=41)) == []
    assert state_of(store, promo) == "scheduled"
    posting_queue.approve(store, settings.rules.posting, promo, "Claire", T + timedelta(minutes=42))
    assert await run(store, settings, T + timedelta(minutes=43)) == [promo]


async def test_cadence_is_limited_in_crisis_per_account(store, settings):
    crisis.enter(store, settings, "crise", "Claire", "Inondation", T)
    ids = [add(store, "information", 0, text=f"Point de situation n° {i}") for i in range(4)]
    other = add(store, "service", 0, channel="bluesky", text="Numéro vert : 0800 000 000")
    for post_id in [*ids, other]:
        posting_queue.approve(store, settings.rules.posting, post_id, "Claire", T)
    first = await run(store, settings, T + timedelta(minutes=1), T + timedelta(minutes=30))
    assert first == [ids[0], ids[1], other]  # two per hour on Mastodon; Bluesky has its own count
    assert await run(store, settings, T + timedelta(minutes=59)) == []
    assert await run(store, settings, T + timedelta(minutes=62)) == [ids[2], ids[3]]


async def test_vigilance_is_a_middle_ground(store, settings):
    joke = add(store, "humour", 10)
    promo = add(store, "promotion", 10)
    info = add(store, "information", 10)
    crisis.enter(store, settings, "vigilance", "Claire", "Manifestation annoncée", T)
    assert state_of(store, joke) == "held"
    assert await run(store, settings, T + timedelta(minutes=10)) == [info]
    posting_queue.approve(store, settings.rules.posting, promo, "Claire", T + timedelta(minutes=11))
    assert await run(store, settings, T + timedelta(minutes=12)) == [promo]


async def test_cancelled_post_is_never_published(store, settings):
    post = add(store, "information", 5)
    posting_queue.cancel(store, post, "Léa", T)
    assert await run(store, settings, T + timedelta(hours=1)) == []
    assert state_of(store, post) == "cancelled"
    with pytest.raises(PostingError):
        posting_queue.release(store, post, "Paul", T)


async def test_daemon_step_holds_and_publishes_in_recorded_time(make_settings):
    from listener.app import Vigie
    from listener.clock import ReplayClock

    app = Vigie(make_settings(pipeline={"classify": False}), clock=ReplayClock(), deliver=True, web_enabled=False)
    info = add(app.store, "information", 0)
    far_joke = add(app.store, "humour", 5 * 24 * 60)  # beyond the 72 h horizon: checked when it falls due
    step = next(step for step in app.evaluation_steps if step.name == "crisis")  # registered by setup(app)
    await step.run(T + timedelta(minutes=1))
    assert state_of(app.store, info) == "published-dry-run"
    crisis.enter(app.store, app.settings, "crise", "Claire", "Accident", T + timedelta(minutes=10))
    assert state_of(app.store, far_joke) == "scheduled"
    crisis.note_critical_alert(app.store, T + timedelta(days=5))
    await step.run(T + timedelta(days=5, minutes=1))
    assert state_of(app.store, far_joke) == "held"
    app.store.close()


def write_config(tmp_path) -> str:
    path = tmp_path / "config.toml"
    path.write_text(f'[store]\npath = "{tmp_path / "cli.db"}"\n', encoding="utf-8")
    return str(path)


def test_cli_add_list_approve_release_cancel(tmp_path):
    config = write_config(tmp_path)
    runner = CliRunner()

    def vigie(*args: str):
        return runner.invoke(main, [*args[:2], "--config", config, *args[2:]])

    soon = (datetime.now(ZoneInfo("Europe/Paris")) + timedelta(days=1)).strftime("%Y-%m-%d 10:00")
    result = vigie("posts", "add", "--texte", "Marché de Noël dès samedi !", "--canal", "mastodon",
                   "--categorie", "Événement", "--le", soon, "--par", "Léa")
    assert result.exit_code == 0, result.output
    assert f"Publication n° 1 programmée le {soon[8:10]}/{soon[5:7]}/{soon[:4]} 10:00 sur mastodon (événement)" \
        in result.output
    result = vigie("posts", "add", "--texte", "Coupure d'eau rue Haute", "--canal", "bluesky",
                   "--categorie", "information", "--le", "2030-12-01 11:00", "--par", "Léa")
    assert result.exit_code == 0
    result = vigie("posts", "add", "--texte", "x", "--canal", "mastodon", "--categorie", "blague",
                   "--le", "2030-12-01 11:00", "--par", "Léa")
    assert result.exit_code == 2 and "catégorie inconnue" in result.output

    assert runner.invoke(main, ["crise", "on", "--config", config, "--motif", "Tempête", "--par", "Claire"]).exit_code == 0
    result = vigie("posts", "list")
    assert "retenue" in result.output and "attend l'approbation d'une autre personne" in result.output

    result = vigie("posts", "approve", "2", "--par", "Léa")
    assert result.exit_code == 2 and "autre personne" in result.output
    result = vigie("posts", "approve", "2", "--par", "Claire")
    assert result.exit_code == 0 and "approuvée par Claire" in result.output

    result = vigie("posts", "release", "1", "--par", "Claire")
    assert result.exit_code == 0 and "libérée" in result.output
    result = vigie("posts", "release", "1", "--par", "Claire")
    assert result.exit_code == 2 and "ni retenue" in result.output
    result = vigie("posts", "cancel", "1")
    assert result.exit_code == 0
    result = vigie("posts", "list", "--etat", "cancelled")
    assert "annulée" in result.output and "Marché de Noël" in result.output
    result = vigie("posts", "approve", "99", "--par", "Claire")
    assert result.exit_code == 2 and "aucune publication n° 99" in result.output


def test_demo_posts_are_loaded_and_publishing_stays_dry_run(make_settings, tmp_path):
    import json

    from listener.app import Vigie
    from listener.cli.common import override
    from rules.demo import demo_overrides, load_demo_posts

    settings = make_settings(pipeline={"classify": False}, rules={"posting": {"mode": "live"}})
    settings = override(settings, demo_overrides(settings))
    assert settings.rules.posting.mode == "dry-run"
    path = tmp_path / "posts.json"
    path.write_text(json.dumps([
        {"text": "Marché de Noël samedi !", "channel": "mastodon", "category": "promotion",
         "scheduled_at": "2026-11-18T09:00:00Z", "author": "Émilie"},
        {"text": "x", "channel": "fax", "category": "promotion", "scheduled_at": "2026-11-18T09:00:00Z"},
    ]), encoding="utf-8")
    app = Vigie(settings, deliver=True, web_enabled=False)
    assert load_demo_posts(app, path) == 1  # the bad one is skipped, not fatal
    assert load_demo_posts(app, tmp_path / "absent.json") == 0
    [post] = posting_queue.list_posts(app.store)
    assert post["author"] == "Émilie" and post["scheduled_at"] == "2026-11-18T09:00:00Z"
    app.store.close()


@pytest.mark.parametrize(("state", "post", "approved", "sent", "expected"), [
    ("normal", {"category": "humour"}, False, 99, "publish"),
    ("vigilance", {"category": "humour"}, False, 0, "hold"),
    ("vigilance", {"category": "promotion"}, False, 0, "approval"),
    ("vigilance", {"category": "promotion"}, True, 0, "publish"),
    ("crise", {"category": "promotion"}, True, 0, "hold"),
    ("crise", {"category": "promotion", "released_by": "Paul"}, False, 0, "approval"),  # released: still approved
    ("crise", {"category": "information"}, True, 2, "cadence"),
    ("normal", {"category": "information", "needs_approval": 1}, False, 0, "approval"),  # waited once: still waits
])
def test_the_policy_is_a_pure_table(state, post, approved, sent, expected):
    from rules.crisis_settings import PostingSettings
    from rules.posting_policy import policy_for, verdict

    config = PostingSettings(crisis_max_posts_per_hour=2)
    assert verdict(post, policy_for(state, config), approved=approved, sent_last_hour=sent) == expected
