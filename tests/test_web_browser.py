"""The workspace in headless Chromium on the running demo (`vigie demo`), as the cell lives it on crisis day.

Screenshots go to a temporary folder, or to docs/screenshots/ with VIGIE_SCREENSHOTS=docs (how the
pictures in docs/ were made)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.browser import Browser, chromium_path
from tests.conftest import REPO_ROOT
from tests.test_demo_e2e import demo_run  # noqa: F401 (the running demo, shared fixture)

pytestmark = pytest.mark.skipif(chromium_path() is None, reason="chromium not installed (make browser)")


def accounts(stdout: str) -> dict[str, str]:
    return dict(re.findall(r"^\s+(\w+)\s+(\S+)\s+rôle \w+$", stdout, flags=re.M))


def shots(tmp_path: Path) -> Path:
    return REPO_ROOT / "docs" / "screenshots" if os.environ.get("VIGIE_SCREENSHOTS") == "docs" else tmp_path


async def log_in(page, url: str, username: str, password: str) -> None:
    await page.goto(url + "login")
    await page.type("#username", username)
    await page.type("#password", password)
    await page.click("form button[type=submit]", navigates=True)


async def test_login_required_then_the_cell_sees_the_crisis(demo_run, tmp_path):  # noqa: F811
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
        await page.wait_for("document.body.innerText.includes('Critique')", what="alerts table")
        text = await page.evaluate("document.body.innerText")
        assert "retenue" in text and "marché de noël" in text.lower()
        assert await page.evaluate("document.querySelectorAll('script:not([src])').length") == 0
        await page.screenshot(shots(tmp_path) / "tableau-de-bord.png")
