"""The daemon's web side as a browser and a monitoring system see it."""

from __future__ import annotations

import aiohttp

from listener.app import Vigie
from tests.helpers import mention
from tests.web_helpers import add_user, browser, login


async def start(make_settings) -> Vigie:
    app = Vigie(make_settings(pipeline={"classify": False}))
    add_user(app.store, "claire", "lecture")
    await app.start()
    await app.pipeline.put([mention(1, text="Grève du tram <script>alert(1)</script>"), mention(2)], source="mastodon")
    await app.drain_pipeline()
    return app


async def test_dashboard_page_and_assets_are_served_with_a_strict_policy(make_settings):
    app = await start(make_settings)
    base = f"http://127.0.0.1:{app.web_port}"
    async with browser() as http:
        await login(http, base, "claire")
        async with http.get(f"{base}/") as response:
            page = await response.text()
            assert response.status == 200
            assert "script-src 'self'" in response.headers["Content-Security-Policy"]
            assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
            assert '<html lang="fr">' in page and "Vigie" in page
        for asset in ("/ui/common.js", "/ui/vigie.css", "/ui/vendor/uPlot.iife.min.js"):
            async with http.get(base + asset) as response:
                assert response.status == 200, asset
        from listener.web import UI_DIR

        for script in sorted((UI_DIR / "static").glob("*.js")):
            async with http.get(f"{base}/ui/{script.name}") as response:
                assert response.status == 200
                assert "innerHTML" not in await response.text()  # data is only ever set with textContent
        async with http.get(f"{base}/ui/../templates/base.html") as response:
            assert response.status in (403, 404)
    await app.stop()


async def test_status_and_mentions_api(make_settings):
    app = await start(make_settings)
    base = f"http://127.0.0.1:{app.web_port}"
    async with browser() as http:
        await login(http, base, "claire")
        async with http.get(f"{base}/api/status") as response:
            status = await response.json()
            assert status["store"]["mentions"] == 2
            assert status["crisis"]["state"] == "normal"
            assert status["institution"] == "Ville de Rivebelle"
        async with http.get(f"{base}/api/mentions", params={"q": "greve"}) as response:
            found = (await response.json())["mentions"]
            assert [m["external_id"] for m in found] == ["id-1"]
            assert "raw" not in found[0]
        async with http.get(f"{base}/api/mentions", params={"limit": "abc"}) as response:
            assert response.status == 400
    async with aiohttp.ClientSession() as anonymous, anonymous.get(f"{base}/api/mentions") as response:
        assert response.status == 401
    await app.stop()
