"""The daemon's web side as a browser and a monitoring system see it."""

from __future__ import annotations

import aiohttp

from listener.app import Vigie
from tests.helpers import mention


async def start(make_settings) -> Vigie:
    app = Vigie(make_settings(pipeline={"classify": False}))
    await app.start()
    await app.pipeline.put([mention(1, text="Grève du tram <script>alert(1)</script>"), mention(2)], source="mastodon")
    await app.drain_pipeline()
    return app


async def test_dashboard_page_and_assets_are_served_with_a_strict_policy(make_settings):
    app = await start(make_settings)
    base = f"http://127.0.0.1:{app.web_port}"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/") as response:
            page = await response.text()
            assert response.status == 200
            assert "script-src 'self'" in response.headers["Content-Security-Policy"]
            assert '<html lang="fr">' in page and "Vigie" in page
        for asset in ("/ui/vigie.js", "/ui/vigie.css"):
            async with http.get(base + asset) as response:
                assert response.status == 200
        async with http.get(f"{base}/ui/vigie.js") as response:
            script = await response.text()
            assert "innerHTML" not in script  # post text is only ever set with textContent
    await app.stop()


async def test_status_and_mentions_api(make_settings):
    app = await start(make_settings)
    base = f"http://127.0.0.1:{app.web_port}"
    async with aiohttp.ClientSession() as http:
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
    await app.stop()
