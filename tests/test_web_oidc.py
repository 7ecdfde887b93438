"""Single sign-on against a local ProConnect-like OpenID Connect provider (tests/fakes/oidc.py)."""

from __future__ import annotations

import html
import socket

import pytest

from listener.app import Vigie
from listener.auth.users import Users
from tests.fakes.oidc import FakeOidc
from tests.web_helpers import browser


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
async def provider():
    async with FakeOidc() as fake:
        yield fake


async def daemon(make_settings, monkeypatch, provider, **oidc) -> Vigie:
    monkeypatch.setenv("TEST_OIDC_SECRET", provider.client_secret)
    port = free_port()
    settings = make_settings(pipeline={"classify": False}, web={"port": port, "oidc": {
        "enabled": True, "issuer": provider.url, "client_id": provider.client_id, "client_secret_env": "TEST_OIDC_SECRET",
        "redirect_uri": f"http://127.0.0.1:{port}/auth/oidc/callback", "acr_values": "eidas1", **oidc}})
    app = Vigie(settings, deliver=False)
    await app.start()
    return app


async def sign_on(http, base: str, next_path: str = "/mentions"):
    """The browser's trip: Vigie → provider (consents at once) → Vigie's callback."""
    async with http.get(f"{base}/auth/oidc/login", params={"next": next_path}, allow_redirects=False) as response:
        assert response.status == 303
        authorize = response.headers["Location"]
    async with http.get(authorize, allow_redirects=False) as response:
        assert response.status == 302, await response.text()
        callback = response.headers["Location"]
    async with http.get(callback, allow_redirects=False) as response:
        return response.status, html.unescape(await response.text()), response


async def test_an_agent_with_an_account_signs_on_and_lands_where_they_were_going(make_settings, monkeypatch, provider):
    app = await daemon(make_settings, monkeypatch, provider)
    Users(app.store).add("claire", "cellule", password=None, email="Claire.Martin@rivebelle.fr")
    base = f"http://127.0.0.1:{app.web_port}"
    try:
        async with browser() as http:
            async with http.get(f"{base}/login") as response:
                assert "Se connecter avec ProConnect" in await response.text()
            status, page, response = await sign_on(http, base)
            assert status == 200 and 'url=/mentions' in page
            cookie = response.cookies["vigie_session"]
            assert cookie["httponly"] and cookie["samesite"] == "Strict"
            async with http.get(f"{base}/api/me") as me:
                body = await me.json()
                assert body["username"] == "claire" and body["role"] == "cellule"
        seen = provider.hits("/authorize")[0].query
        assert seen["acr_values"] == ["eidas1"] and seen["code_challenge_method"] == ["S256"]
        assert Users(app.store).get("claire").oidc_subject == "agent-42"  # matched by e-mail, then by subject
        assert ("claire", "login") in app.store.conn.execute("SELECT actor, action FROM user_actions").fetchall()
    finally:
        await app.stop()


async def test_an_unknown_agent_is_refused_unless_accounts_may_be_created(make_settings, monkeypatch, provider):
    app = await daemon(make_settings, monkeypatch, provider)
    base = f"http://127.0.0.1:{app.web_port}"
    try:
        async with browser() as http:
            status, page, _ = await sign_on(http, base)
            assert status == 401 and "aucun compte Vigie pour claire.martin@rivebelle.fr" in page
            async with http.get(f"{base}/api/me") as me:
                assert me.status == 401
    finally:
        await app.stop()
    app = await daemon(make_settings, monkeypatch, provider, create_users=True, allowed_domains=["rivebelle.fr"])
    base = f"http://127.0.0.1:{app.web_port}"
    try:
        async with browser() as http:
            status, _, _ = await sign_on(http, base)
            assert status == 200
            async with http.get(f"{base}/api/me") as me:
                body = await me.json()
        assert body["username"] == "claire.martin" and body["role"] == "lecture"
        assert Users(app.store).get("claire.martin").display_name == "Claire Martin"
    finally:
        await app.stop()


@pytest.mark.parametrize("tamper", ["nonce", "audience", "signature"])
async def test_a_forged_or_replayed_id_token_opens_nothing(make_settings, monkeypatch, provider, tamper):
    app = await daemon(make_settings, monkeypatch, provider)
    Users(app.store).add("claire", "cellule", password=None, email="claire.martin@rivebelle.fr")
    provider.tamper = tamper
    base = f"http://127.0.0.1:{app.web_port}"
    try:
        async with browser() as http:
            status, page, _ = await sign_on(http, base)
            assert status == 401 and "jeton d'identité" in page
            async with http.get(f"{base}/api/me") as me:
                assert me.status == 401
    finally:
        await app.stop()


async def test_a_callback_from_another_browser_is_refused(make_settings, monkeypatch, provider):
    """Login CSRF: the state must come back to the browser that started the sign-on."""
    app = await daemon(make_settings, monkeypatch, provider)
    Users(app.store).add("claire", "cellule", password=None, email="claire.martin@rivebelle.fr")
    base = f"http://127.0.0.1:{app.web_port}"
    try:
        async with browser() as attacker:
            async with attacker.get(f"{base}/auth/oidc/login", allow_redirects=False) as response:
                authorize = response.headers["Location"]
            async with attacker.get(authorize, allow_redirects=False) as response:
                callback = response.headers["Location"]
        async with browser() as victim, victim.get(callback, allow_redirects=False) as response:
            assert response.status == 401 and "autre navigateur" in await response.text()
            assert "vigie_session" not in response.cookies
    finally:
        await app.stop()
