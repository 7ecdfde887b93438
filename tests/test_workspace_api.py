"""The workspace's JSON API on a real daemon: dashboard figures and band, explorer and its CSV export,
the posting desk's four-eyes rule under named accounts."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from classifiers.types import Classification, Label
from listener.app import Vigie
from listener.clock import ReplayClock
from listener.models import Mention
from listener.workspace import explorer
from rules import posting_queue
from rules.crisis import enter
from tests.web_helpers import add_user, browser, csrf, login

T_END = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)


def _mention(i: int, at: datetime, text: str, **labels) -> Mention:
    classification = Classification(
        sentiment=labels.get("sentiment", "neutral"), hostile=labels.get("hostile", False),
        hostility_terms=labels.get("hostility_terms", []), sentiment_terms=labels.get("sentiment_terms", []),
        topics=[Label("transport", 0.8, ["tram"])] if "tram" in text else [],
        crisis=[Label("inondation", 1.0, ["inondation"])] if "inondation" in text else [])
    return Mention(source="mastodon", external_id=f"m{i}", text=text, created_at=at,
                   author_handle=f"@auteur{i % 7}", author_followers=(i % 7) * 1000, lang="fr",
                   url=f"https://social.example/@a/{i}", labels=classification)


async def started(make_settings, mentions: list[Mention]) -> Vigie:
    settings = make_settings(pipeline={"classify": False}, detectors={"enabled": False})
    app = Vigie(settings, deliver=False, clock=ReplayClock(T_END))
    await app.start()
    await app.pipeline.put(mentions, source="mastodon")
    await app.drain_pipeline()
    return app


def _day_with_a_flood() -> list[Mention]:
    """Two days of a steady trickle (one mention every 10 minutes), then a flood in the last hour."""
    out, i = [], 0
    start = T_END - timedelta(hours=48)
    moment = start
    while moment < T_END - timedelta(hours=1):
        out.append(_mention(i, moment, f"Le tram est en retard numéro {i}"))
        i += 1
        moment += timedelta(minutes=10)
    for k in range(300):
        out.append(_mention(i, T_END - timedelta(minutes=55) + timedelta(seconds=10 * k),
                            f"inondation rue des Tanneurs, l'eau monte {k}", sentiment="negative",
                            sentiment_terms=["monte"]))
        i += 1
    return out


async def test_dashboard_shows_the_spike_above_the_detector_band(make_settings):
    app = await started(make_settings, _day_with_a_flood())
    add_user(app.store, "lea", "lecture")
    base = f"http://127.0.0.1:{app.web_port}"
    try:
        async with browser() as http:
            await login(http, base, "lea")
            async with http.get(f"{base}/api/dashboard",
                                params={"hours": "24", "keys": "all,crisis:inondation", "wait": "1"}) as r:
                assert r.status == 200
                data = await r.json()
        volume = data["volume"]
        assert volume["step_minutes"] == 10 and len(volume["times"]) == 144
        everything = volume["series"][0]
        assert everything["key"] == "all" and everything["label"] == "Toutes les mentions"
        # A calm bucket sits inside the band; the flood's buckets are far above it.
        assert everything["low"][50] <= everything["values"][50] <= everything["high"][50]
        assert max(everything["values"][-6:]) > 3 * max(everything["high"][-6:])
        assert everything["expected"][50] > 0.3  # learnt from the trickle (about one per 10 minutes)
        shares = data["shares"]
        assert shares["mentions"] == everything["total"]
        assert abs(shares["negative_share"] - 300 / everything["total"]) < 0.001  # the flood's 300 negative ones
        assert len(data["top_authors"]) == 7 and not data["top_authors_pending"]
        assert [a["followers"] for a in data["top_authors"]] == sorted((a["followers"] for a in data["top_authors"]),
                                                                       reverse=True)
        assert data["crisis"]["state"] == "normal"
    finally:
        await app.stop()


async def test_explorer_filters_highlights_and_exports_csv_without_formulas(make_settings):
    mentions = [
        _mention(1, T_END - timedelta(hours=2), "=HYPERLINK(\"http://evil.example\") inondation quai", hostile=True,
                 hostility_terms=["quai"]),
        _mention(2, T_END - timedelta(hours=3), "+33 6 12 inondation au Tanneurs"),
        _mention(3, T_END - timedelta(hours=4), "Le tram T2 en panne"),
        _mention(4, T_END - timedelta(hours=5), "@cmd|' /C calc'!A0 Inondation évitée"),
    ]
    app = await started(make_settings, mentions)
    add_user(app.store, "lea", "lecture")
    base = f"http://127.0.0.1:{app.web_port}"
    try:
        async with browser() as http:
            await login(http, base, "lea")
            async with http.get(f"{base}/api/explorer", params={"q": "inondation", "hostile": "1"}) as r:
                found = (await r.json())["mentions"]
            assert [m["text"][:10] for m in found] == ['=HYPERLINK']
            marked = {piece for piece, kind in found[0]["segments"] if kind}
            assert "inondation" in marked and "quai" in marked
            async with http.get(f"{base}/api/explorer", params={"q": "inondation", "topic": "transport"}) as r:
                assert (await r.json())["mentions"] == []
            async with http.get(f"{base}/api/explorer", params={"sentiment": "furieux"}) as r:
                assert r.status == 400
            async with http.get(f"{base}/api/explorer.csv", params={"q": "inondation"}) as r:
                assert r.headers["Content-Type"].startswith("text/csv")
                raw = await r.read()
        assert raw.startswith("\ufeff".encode())
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
        assert rows[0][0] == "date (UTC)" and len(rows) == 4
        texts = [row[5] for row in rows[1:]]
        assert all(not t.startswith(("=", "+", "-", "@")) for t in texts)
        assert "'=HYPERLINK(\"http://evil.example\") inondation quai" in texts
        assert any(t.startswith("'@cmd") for t in texts)
    finally:
        await app.stop()


def test_segments_mark_whole_words_whatever_the_accents():
    pieces = explorer.segments("Évacuation du quai : l'eau MONTE", {"crisis": ["evacuation"], "sentiment": ["monte"]})
    assert ["Évacuation", "crisis"] in pieces and ["MONTE", "sentiment"] in pieces
    assert "".join(piece for piece, _ in pieces) == "Évacuation du quai : l'eau MONTE"
    assert explorer.segments("démontés", {"sentiment": ["monte"]}) == [["démontés", None]]
    assert explorer.neutralise_cell("-2+3") == "'-2+3" and explorer.neutralise_cell("Bonjour") == "Bonjour"
    assert explorer.neutralise_cell("\u202e=1+1") == "'=1+1"  # the override is dropped, then the formula caught


async def test_a_held_post_goes_back_to_its_schedule_only_with_two_accounts(make_settings):
    app = await started(make_settings, [])
    for name, role in (("claire", "cellule"), ("paul", "cabinet"), ("lea", "lecture"), ("emilie", "cellule")):
        add_user(app.store, name, role)
    now = T_END
    post_id = posting_queue.add_post(app.store, text="Marché de Noël : venez nombreux !", channel="mastodon",
                                     category="promotion", scheduled_at=now + timedelta(hours=2), author="emilie", at=now)
    enter(app.store, app.settings, "crise", "claire", "Inondation", now)
    assert posting_queue.get_post(app.store, post_id)["state"] == "held"
    base = f"http://127.0.0.1:{app.web_port}"

    async def approve(name: str) -> tuple[int, dict]:
        async with browser() as http:
            await login(http, base, name)
            token = await csrf(http, base)
            async with http.post(f"{base}/api/posts/{post_id}/approve", json={"actor": "quelqu'un d'autre"},
                                 headers={"X-CSRF-Token": token}) as response:
                return response.status, await response.json()

    try:
        status, body = await approve("lea")
        assert status == 403  # read-only accounts do not approve
        status, body = await approve("emilie")
        assert status == 409 and "auteur" in body["error"]
        status, body = await approve("claire")
        assert status == 200 and "1/2" in body["message"] and body["post"]["state"] == "held"
        status, body = await approve("claire")
        assert status == 409 and "autre compte" in body["error"]  # the same person cannot approve twice
        status, body = await approve("paul")
        assert status == 200 and body["released"] and body["post"]["state"] == "scheduled"
        post = posting_queue.get_post(app.store, post_id)
        assert [a["approver"] for a in post["approvals"]] == ["claire", "paul"]
        async with browser() as http:
            await login(http, base, "lea")
            async with http.get(f"{base}/api/desk") as response:
                desk = await response.json()
        assert desk["policy"]["state"] == "crise" and "promotion" in desk["policy"]["held_categories"]
        events = {p["id"]: p["events"] for p in desk["posts"]}[post_id]
        assert [(e["actor"], e["action"]) for e in events][-3:] == [("claire", "approve"), ("paul", "approve"),
                                                                    ("paul", "release")]
    finally:
        await app.stop()
