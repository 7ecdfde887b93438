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
        await log_in(page, url, "lecture", accounts(stdout)["lecture"])
        await page.goto(url + "mentions?q=motpiege")
        await page.wait_for("document.querySelectorAll('#results li.mention').length === 1", what="the hostile post")
        shown = await page.evaluate("document.querySelector('#results li.mention .post-text').textContent")
        assert '<img src=x onerror="window.__pwned=1">' in shown and "<script>" in shown  # shown as text
        assert "\u202e" not in shown  # the right-to-left override is dropped
        assert await page.evaluate("document.querySelectorAll('#results img, #results script, #results iframe').length") == 0
        assert await page.evaluate("document.querySelectorAll('#results a[href^=javascript]').length") == 0
        assert await page.evaluate("window.__pwned === undefined")
        await page.screenshot(shots(tmp_path) / "mention-hostile-inerte.png")
