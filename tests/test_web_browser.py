"""The workspace in headless Chromium on the running demo (`vigie demo`), as the cell lives it on crisis day:
login required, the flood's spike on the volume chart, the flood incident and its timeline, a held post
approved by a second account, a hostile post shown inert.

Screenshots go to a temporary folder, or to docs/screenshots/ with VIGIE_SCREENSHOTS=docs (how the
pictures in docs/ were made)."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from listener.areas import open_store
from listener.models import Mention
from tests.browser import Browser, chromium_path
from tests.conftest import REPO_ROOT
from tests.test_demo_e2e import demo_run  # noqa: F401 (the running demo, shared fixture)

pytestmark = pytest.mark.skipif(chromium_path() is None, reason="chromium not installed (make browser)")

HOSTILE_TEXT = ('Bande de nuls <img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script> '
                '<a href="javascript:window.__pwned=3">cliquez</a> \u202eesiouqnarf\u202c @channel <!channel> motpiege')


def accounts(stdout: str) -> dict[str, str]:
    return dict(re.findall(r"^\s+(\w+)\s+(\S+)\s+rôle \w+$", stdout, flags=re.M))


def shots(tmp_path: Path) -> Path:
    return REPO_ROOT / "docs" / "screenshots" if os.environ.get("VIGIE_SCREENSHOTS") == "docs" else tmp_path


async def log_in(page, url: str, username: str, password: str) -> None:
    await page.goto(url + "login")
    await page.type("#username", username)
    await page.type("#password", password)
    await page.click("form button[type=submit]", navigates=True)


async def find_one_as_reader(page, url: str, stdout: str, word: str, what: str) -> None:
    """Logged in as « lecture », the explorer's search for `word` shows exactly one mention."""
    await log_in(page, url, "lecture", accounts(stdout)["lecture"])
    await page.goto(url + f"mentions?q={word}")
    await page.wait_for("document.querySelectorAll('#results li.mention').length === 1", what=what)


async def test_login_required_then_the_cell_sees_the_flood_on_the_dashboard(demo_run, tmp_path):  # noqa: F811
    stdout, _, url = demo_run
    passwords = accounts(stdout)
    assert {"cellule", "cellule2", "cabinet", "lecture", "admin"} <= set(passwords), stdout[-1500:]
    async with Browser() as browser:
        page = await browser.page()
        await page.goto(url)
        assert await page.evaluate("location.pathname") == "/login"  # GET / without a session
        await page.screenshot(shots(tmp_path) / "connexion.png")
        await log_in(page, url, "cellule", "mauvais mot de passe")
        assert "incorrect" in await page.evaluate("document.getElementById('login-error').textContent")
        await log_in(page, url, "cellule", passwords["cellule"])
        assert await page.evaluate("location.pathname") == "/"
        await page.wait_for("document.getElementById('crisis').textContent.includes('CRISE')", what="crisis badge")
        await page.wait_for("document.querySelector('#volume-chart canvas') !== null", what="volume chart")
        # The flood's spike: the busiest 15 minutes are far above the detector's band, and alerts are marked.
        peak = int(await page.evaluate("document.getElementById('volume-chart').dataset.peak"))
        assert peak >= 150, peak
        summary = await page.evaluate("document.getElementById('volume-summary').textContent")
        assert "18/11/2026" in summary and "au-dessus de la bande attendue" in summary, summary
        assert int(await page.evaluate("document.getElementById('volume-chart').dataset.alerts")) >= 5
        assert await page.evaluate("document.getElementById('level').textContent") == "CRISE"
        history = await page.evaluate("document.getElementById('crisis-history').innerText")
        assert "Vigilance → CRISE" in history
        await page.wait_for("document.querySelectorAll('#authors tbody tr').length >= 5", what="top authors")
        # Another key on the chart: the crisis kind « Inondation ».
        await page.wait_for("document.getElementById('key-crisis_inondation') !== null", what="key list")
        await page.click("#key-crisis_inondation")
        await page.wait_for("document.getElementById('volume-chart').dataset.series === 'all,crisis:inondation'",
                            what="second series")
        assert await page.evaluate("document.querySelectorAll('script:not([src])').length") == 0
        await page.screenshot(shots(tmp_path) / "tableau-de-bord.png")
        phone = await browser.page(width=390, height=844, mobile=True)
        await log_in(phone, url, "lecture", passwords["lecture"])
        await phone.wait_for("document.querySelector('#volume-chart canvas') !== null", what="chart on a phone")
        width = await phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 400, f"the dashboard overflows a phone screen: {width}px"
        assert await phone.evaluate("document.getElementById('crisis-form').hidden")  # lecture cannot change it
        await phone.screenshot(shots(tmp_path) / "tableau-de-bord-telephone.png")


async def test_the_flood_incident_and_its_timeline(demo_run, tmp_path):  # noqa: F811
    stdout, _, url = demo_run
    async with Browser() as browser:
        page = await browser.page()
        await log_in(page, url, "cellule", accounts(stdout)["cellule"])
        await page.goto(url + "incidents")
        await page.wait_for("document.querySelectorAll('#incident-list tbody a').length > 0", what="incident list")
        href = await page.evaluate(
            "[...document.querySelectorAll('#incident-list tbody a')].find(a => /inondation/i.test(a.textContent))"
            "?.getAttribute('href')")
        assert href, await page.evaluate("document.getElementById('incident-list').innerText")
        await page.goto(url + href.lstrip("/"))
        await page.wait_for("document.querySelectorAll('#timeline li').length >= 2", what="timeline")
        timeline = await page.evaluate("document.getElementById('timeline').innerText")
        assert "alerte" in timeline.lower() or "ouverture" in timeline.lower(), timeline
        assert "18/11/2026" in timeline
        await page.wait_for("document.querySelector('#incident-chart canvas') !== null", what="incident chart")
        await page.wait_for("document.querySelectorAll('#evidence li.mention').length > 0", what="evidence")
        evidence = await page.evaluate("document.getElementById('evidence').innerText")
        assert "inond" in evidence.lower()
        assert await page.evaluate("document.querySelectorAll('#evidence mark').length") > 0  # explanation words
        actions = await page.evaluate("document.getElementById('crisis-actions').innerText")
        assert "CRISE" in actions
        assert "retenue" in await page.evaluate("document.getElementById('held-posts').innerText")
        assert not await page.evaluate("document.getElementById('incident-actions').hidden")
        await page.screenshot(shots(tmp_path) / "incident-inondation.png")


async def test_a_held_post_needs_a_second_account(demo_run, tmp_path):  # noqa: F811
    stdout, _, url = demo_run
    passwords = accounts(stdout)
    held = "document.querySelector('#held li.held-post')"
    async with Browser() as browser:
        first = await browser.page()
        await log_in(first, url, "cellule", passwords["cellule"])
        await first.goto(url + "publications")
        await first.wait_for(f"{held} !== null", what="held posts")
        post_id = await first.evaluate(f"{held}.dataset.id")
        text = await first.evaluate(f"{held}.querySelector('.post-text').textContent")
        await first.click(f"#held li[data-id='{post_id}'] button[data-action=approve]")
        await first.wait_for("document.getElementById('notice').textContent.includes('1/2')", what="first approval")
        await first.wait_for(f"document.querySelector(\"#held li[data-id='{post_id}'] button[data-action=approve]\").disabled",
                             what="same account cannot approve twice")
        await first.screenshot(shots(tmp_path) / "publications-premiere-approbation.png")
        second = await browser.page()  # another person, another session
        await log_in(second, url, "cabinet", passwords["cabinet"])
        await second.goto(url + "publications")
        await second.wait_for(f"document.querySelector(\"#held li[data-id='{post_id}']\") !== null", what="held post")
        approvals = await second.evaluate(f"document.querySelector(\"#held li[data-id='{post_id}'] .approvals\").textContent")
        assert "cellule" in approvals and "1/2" in approvals
        await second.click(f"#held li[data-id='{post_id}'] button[data-action=approve]")
        await second.wait_for("document.getElementById('notice').textContent.includes('remise dans la file')",
                              what="second approval")
        await second.wait_for(f"document.querySelector(\"#held li[data-id='{post_id}']\") === null", what="post released")
        row = await second.evaluate(f"document.querySelector(\"#queue tr[data-id='{post_id}']\").innerText")
        assert text[:30] in row
        await second.screenshot(shots(tmp_path) / "publications-seconde-approbation.png")


async def test_a_hostile_post_is_shown_inert(demo_run, tmp_path):  # noqa: F811
    stdout, db_path, url = demo_run
    # Stored as a collector would store it (a second writer on the demo's file, like `vigie replay`).
    store = open_store(db_path)
    store.insert_mentions([Mention(source="mastodon", external_id="piege-1", text=HOSTILE_TEXT,
                                   created_at=datetime(2026, 11, 18, 11, 30, tzinfo=UTC), author_handle="@troll",
                                   url="javascript:window.__pwned=4", lang="fr")])
    store.close()
    async with Browser() as browser:
        page = await browser.page()
        await find_one_as_reader(page, url, stdout, "motpiege", what="the hostile post")
        shown = await page.evaluate("document.querySelector('#results li.mention .post-text').textContent")
        assert '<img src=x onerror="window.__pwned=1">' in shown and "<script>" in shown  # shown as text
        assert "\u202e" not in shown  # the right-to-left override is dropped
        assert await page.evaluate("document.querySelectorAll('#results img, #results script, #results iframe').length") == 0
        assert await page.evaluate("document.querySelectorAll('#results a[href^=javascript]').length") == 0
        assert await page.evaluate("window.__pwned === undefined")
        await page.screenshot(shots(tmp_path) / "mention-hostile-inerte.png")


# -- right-to-left overrides: neutralised wherever a post's words are shown --------------------------------

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
# With U+202E active, « TNEGRU » would be drawn right to left and read « URGENT »: the post would rewrite itself.
BIDI_TEXT = "Alerte \u202eTNEGRU\u202c au \u2067quai\u2069 \u202bdes\u202c \u200fTanneurs\u200e \u2066isolé\u2069 motbidi"


def drawn_in_order(selector: str, word: str) -> str:
    """JS: true when the first letter of `word` (inside `selector`) is drawn left of its last letter."""
    return f"""(() => {{
      const root = document.querySelector({selector!r}); if (!root) return null;
      const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {{
        const at = node.data.indexOf({word!r}); if (at < 0) continue;
        const range = document.createRange();
        range.setStart(node, at); range.setEnd(node, at + 1); const first = range.getBoundingClientRect().left;
        range.setStart(node, at + {len(word) - 1}); range.setEnd(node, at + {len(word)});
        return first < range.getBoundingClientRect().left;
      }}
      return null;
    }})()"""


def no_bidi(text: str) -> bool:
    return not any(ch in text for ch in BIDI)


async def test_right_to_left_overrides_are_neutralised_in_the_explorer_and_the_incident_page(demo_run):  # noqa: F811
    stdout, db_path, url = demo_run
    store = open_store(db_path)
    [stored] = store.insert_mentions([Mention(
        source="mastodon", external_id="bidi-1", text=BIDI_TEXT, created_at=datetime(2026, 11, 18, 11, 40, tzinfo=UTC),
        author_handle="@\u202eesiouqnarf", author_name="\u202eesiouqnarf", lang="fr")])
    with store.transaction():  # an incident whose title and timeline carry a post's words, as rules would store it
        incident_id = store.conn.execute(
            "INSERT INTO incidents (title, kind, severity, status, opened_at, updated_at, keys, evidence) "
            "VALUES (?, 'keyword', 'warning', 'open', '2026-11-18T11:40:00Z', '2026-11-18T11:45:00Z', '[\"all\"]', ?)",
            ["Mot-clé « \u202eTNEGRU\u202c » en hausse", f"[{stored.id}]"]).lastrowid
        store.conn.execute("INSERT INTO incident_events (incident_id, at, kind, severity, text) "
                           "VALUES (?, '2026-11-18T11:40:00Z', 'opened', 'warning', ?)",
                           [incident_id, "ouverture : « \u202eTNEGRU\u202c » cité 12 fois"])
    store.close()
    async with Browser() as browser:
        page = await browser.page()
        await find_one_as_reader(page, url, stdout, "motbidi", what="the bidi post")
        shown = await page.evaluate("document.querySelector('#results li.mention').textContent")
        assert "TNEGRU" in shown and "esiouqnarf" in shown and no_bidi(shown), ascii(shown)
        assert await page.evaluate(drawn_in_order("#results li.mention .post-text", "TNEGRU")) is True
        assert await page.evaluate(drawn_in_order("#results li.mention .meta", "esiouqnarf")) is True

        await page.goto(url + f"incidents/{incident_id}")
        await page.wait_for("document.querySelectorAll('#evidence li.mention').length === 1", what="evidence")
        for selector in ("#incident-title", "#timeline", "#evidence"):
            text = await page.evaluate(f"document.querySelector({selector!r}).textContent")
            assert "TNEGRU" in text and no_bidi(text), (selector, ascii(text))
            assert await page.evaluate(drawn_in_order(selector, "TNEGRU")) is True, selector
        assert no_bidi(await page.evaluate("document.title"))
        await page.goto(url + "incidents")
        await page.wait_for(f"document.querySelector(\"#incident-list a[href='/incidents/{incident_id}']\") !== null",
                            what="incident list")
        listed = await page.evaluate(f"document.querySelector(\"#incident-list a[href='/incidents/{incident_id}']\").textContent")
        assert "TNEGRU" in listed and no_bidi(listed)


# -- a delivery refused for good is sent again from the incidents page --------------------------------------

async def test_a_dead_delivery_is_relaunched_by_the_cell_and_goes_out_again(demo_run, tmp_path):  # noqa: F811
    import sqlite3

    from alerts import outbox
    from listener.timeutil import parse_time

    stdout, db_path, url = demo_run
    passwords = accounts(stdout)
    store = open_store(db_path)
    # A copy of a message the demo delivered, refused for good by its channel (the state `vigie alerts list` shows).
    kind, channel, target, group, payload, created = store.conn.execute(
        "SELECT kind, channel, target, recipient_group, payload, created_at FROM outbox WHERE state = 'sent' "
        "AND kind = 'alert' ORDER BY id LIMIT 1").fetchone()
    import json

    dead_id = outbox.enqueue(store, kind=kind, channel=channel, target=target, payload=json.loads(payload),
                             idempotency_key="relance-navigateur-1", at=parse_time(created), recipient_group=group)
    with store.transaction():
        store.conn.execute("UPDATE outbox SET state = 'dead', attempts = 1, last_error = ? WHERE id = ?",
                           ["canal introuvable (channel_not_found)", dead_id])
    store.close()
    row = f"#dead-deliveries tr[data-id='{dead_id}']"
    async with Browser() as browser:
        reader = await browser.page()  # lecture sees it, but may not act on alerts
        await log_in(reader, url, "lecture", passwords["lecture"])
        await reader.goto(url + "incidents")
        await reader.wait_for(f"document.querySelector(\"{row}\") !== null", what="the dead delivery")
        shown = await reader.evaluate(f"document.querySelector(\"{row}\").innerText")
        assert "channel_not_found" in shown and "Alerte" in shown, shown
        assert await reader.evaluate(f"document.querySelector(\"{row} button\") === null")
        cabinet = await browser.page()  # the cabinet may change the crisis level, not resend alerts
        await log_in(cabinet, url, "cabinet", passwords["cabinet"])
        await cabinet.goto(url + "incidents")
        await cabinet.wait_for(f"document.querySelector(\"{row}\") !== null", what="the dead delivery")
        assert await cabinet.evaluate(f"document.querySelector(\"{row} button\") === null")

        cell = await browser.page()
        await log_in(cell, url, "cellule", passwords["cellule"])
        await cell.goto(url + "incidents")
        await cell.wait_for(f"document.querySelector(\"{row} button[data-action=retry]\") !== null", what="Relancer")
        assert await cell.evaluate(f"document.querySelector(\"{row} button\").textContent") == "Relancer"
        await cell.screenshot(shots(tmp_path) / "livraison-en-echec.png")
        await cell.click(f"{row} button[data-action=retry]")
        await cell.wait_for("document.getElementById('notice').textContent.includes('remise en file')", what="retry")
        await cell.wait_for(f"document.querySelector(\"{row}\") === null", what="the row leaves the failed list")
    db = sqlite3.connect(db_path)
    try:
        state, attempts = db.execute("SELECT state, attempts FROM outbox WHERE id = ?", [dead_id]).fetchone()
        assert state in ("pending", "sending", "sent") and (state == "sent" or attempts == 0), (state, attempts)
        journal = db.execute("SELECT actor, status FROM user_actions WHERE action = ?",
                             [f"POST /api/outbox/{dead_id}/retry"]).fetchall()
        assert journal == [("cellule", 200)]
    finally:
        db.close()
