"""The workspace is closed by default: named accounts, sessions, CSRF, lock-out, roles, Host allow-list.

Each test drives the real daemon's web server on loopback as a browser, a script or an attacker would."""

from __future__ import annotations

import logging
import sqlite3
from urllib.parse import parse_qs, urlsplit

import aiohttp
from click.testing import CliRunner

from listener.app import Vigie
from listener.cli import main
from tests.web_helpers import PASSWORD, add_user, browser, csrf, login


async def started(make_settings, **web) -> Vigie:
    app = Vigie(make_settings(pipeline={"classify": False}, web=web) if web else
                make_settings(pipeline={"classify": False}), deliver=False)
    await app.start()
    return app


async def test_without_any_credential_writes_are_refused_reads_closed_and_health_says_so(make_settings, caplog):
    caplog.set_level(logging.WARNING)
    app = await started(make_settings)
    base = f"http://127.0.0.1:{app.web_port}"
    try:
        assert "web API closed" in caplog.text  # said at start-up
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{base}/api/crisis", json={"state": "crise", "actor": "x"}) as response:
                assert response.status == 403
                assert "aucun compte ni jeton" in (await response.json())["error"]
            for path in ("/api/alerts", "/api/?q=tram", "/api/crisis", "/api/posts", "/api/status"):
                async with http.get(base + path) as response:
                    assert response.status == 401, path
            async with http.get(f"{base}/healthz") as response:
                health = await response.json()
                assert health["components"]["web"]["state"] == "closed"
                assert "vigie users add" in health["components"]["web"]["message"]
            async with http.get(f"{base}/metrics") as response:
                assert response.status == 200
            async with http.get(f"{base}/", allow_redirects=False) as response:
                assert response.status == 303 and response.headers["Location"] == "/login?next=/"
        assert app.store.conn.execute("SELECT state FROM crisis_state").fetchone() in (None, ("normal",))
    finally:
        await app.stop()


async def test_login_sets_a_strict_http_only_cookie_and_opens_the_workspace(make_settings):
    app = await started(make_settings)
    add_user(app.store, "claire", "cellule")
    base = f"http://127.0.0.1:{app.web_port}"
    try:
        async with browser() as http:
            async with http.get(f"{base}/?q=tram", allow_redirects=False) as response:
                location = urlsplit(response.headers["Location"])
                assert response.status == 303 and location.path == "/login"
                assert parse_qs(location.query)["next"] == ["/?q=tram"]
            response = await login(http, base, "claire", next_path="/?q=tram")
            assert response.status == 303 and response.headers["Location"] == "/?q=tram"
            cookie = response.cookies["vigie_session"]
            assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/"
            async with http.get(f"{base}/?q=tram") as page:
                assert page.status == 200 and "Claire" in await page.text()
            async with http.get(f"{base}/api/me") as me:
                body = await me.json()
                assert body["username"] == "claire" and body["role"] == "cellule" and "alerts" in body["permissions"]
            stored = app.store.conn.execute("SELECT token_hash FROM user_sessions").fetchone()[0]
            assert stored != cookie.value  # only a hash of the token is kept
    finally:
        await app.stop()


async def test_cookie_is_secure_behind_a_public_host_name(make_settings):
    app = await started(make_settings, allowed_hosts=["vigie.rivebelle.fr"])
    add_user(app.store, "claire", "cellule")
    base = f"http://127.0.0.1:{app.web_port}"
    try:
        async with browser() as http:
            headers = {"Host": "vigie.rivebelle.fr"}
            async with http.get(f"{base}/login", headers=headers) as response:
                assert response.cookies["vigie_login"]["secure"]
            async with http.get(f"{base}/login", headers={"Host": "rebind.attacker.example"}) as response:
                assert response.status == 421  # DNS rebinding: a name not allowed gets nothing
            async with http.get(f"{base}/healthz", headers={"Host": "rebind.attacker.example:8080"}) as response:
                assert response.status == 421
    finally:
        await app.stop()


async def test_wrong_passwords_lock_the_account_and_passwd_unlocks_it(make_settings, tmp_path):
    app = await started(make_settings)
    add_user(app.store, "claire", "cellule")
    base = f"http://127.0.0.1:{app.web_port}"
    try:
        async with browser() as http:
            for _ in range(5):
                response = await login(http, base, "claire", "mauvais mot de passe")
                assert response.status == 401
            response = await login(http, base, "claire")  # the right password, too late
            assert response.status == 401
            async with http.get(f"{base}/api/me") as me:
                assert me.status == 401
            response = await login(http, base, "personne", "x" * 12)
            assert response.status == 401  # unknown name: same answer as a wrong password
        page = await _login_page_text(base, "claire", PASSWORD)
        assert "verrouillé" in page
    finally:
        await app.stop()
    config = tmp_path / "vigie.toml"
    config.write_text(f'[store]\npath = "{tmp_path / "vigie.db"}"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["users", "passwd", "claire", "--config", str(config), "--password-stdin"],
                                input="un nouveau mot de passe\n")
    assert result.exit_code == 0, result.output
    app = await started(make_settings)
    base = f"http://127.0.0.1:{app.web_port}"
    try:
        async with browser() as http:
            assert (await login(http, base, "claire", "un nouveau mot de passe")).status == 303
    finally:
        await app.stop()


async def _login_page_text(base: str, username: str, password: str) -> str:
    import re

    async with browser() as http:
        async with http.get(f"{base}/login") as response:
            token = re.search(r'name="csrf_token" value="([^"]+)"', await response.text()).group(1)
        form = {"username": username, "password": password, "csrf_token": token, "next": "/"}
        async with http.post(f"{base}/login", data=form, allow_redirects=False) as response:
            return await response.text()


async def test_no_state_change_from_a_cross_site_form_or_without_the_csrf_token(make_settings):
    app = await started(make_settings)
    add_user(app.store, "claire", "cellule")
    base = f"http://127.0.0.1:{app.web_port}"
    change = {"state": "crise", "reason": "Inondation", "actor": "quelqu'un d'autre"}
    try:
        async with browser() as http:
            await login(http, base, "claire")
            token = await csrf(http, base)
            # A form on another site: form-encoded, no CSRF header (the cookie is SameSite=Strict anyway).
            async with http.post(f"{base}/api/crisis", data={"state": "crise", "actor": "x"},
                                 headers={"Origin": "https://evil.example"}) as response:
                assert response.status in (403, 415)
            async with http.post(f"{base}/api/crisis", json=change) as response:
                assert response.status == 403 and "CSRF" in (await response.json())["error"]
            async with http.post(f"{base}/api/crisis", json=change, headers={"X-CSRF-Token": "faux"}) as response:
                assert response.status == 403
            async with http.post(f"{base}/api/crisis", json=change,
                                 headers={"X-CSRF-Token": token, "Origin": "https://evil.example"}) as response:
                assert response.status == 403
            assert app.store.conn.execute("SELECT count(*) FROM crisis_log").fetchone()[0] == 0
            async with http.post(f"{base}/api/crisis", json=change,
                                 headers={"X-CSRF-Token": token, "Origin": base}) as response:
                assert response.status == 200, await response.text()
        # Recorded under the account, whatever name the body gives.
        assert app.store.conn.execute("SELECT actor FROM crisis_log").fetchone()[0] == "claire"
        journal = app.store.conn.execute("SELECT actor, action, status FROM user_actions WHERE action LIKE 'POST%'")
        assert ("claire", "POST /api/crisis", 200) in journal.fetchall()
    finally:
        await app.stop()


async def test_roles_decide_who_may_act(make_settings):
    app = await started(make_settings)
    add_user(app.store, "lea", "lecture")
    add_user(app.store, "paul", "cabinet")
    base = f"http://127.0.0.1:{app.web_port}"
    try:
        async with browser() as http:
            await login(http, base, "lea")
            token = await csrf(http, base)
            headers = {"X-CSRF-Token": token}
            async with http.get(f"{base}/api/alerts") as response:
                assert response.status == 200  # reads are open to every role
            async with http.post(f"{base}/api/crisis", json={"state": "vigilance"}, headers=headers) as response:
                assert response.status == 403 and "lecture" in (await response.json())["error"]
        async with browser() as http:
            await login(http, base, "paul")
            headers = {"X-CSRF-Token": await csrf(http, base)}
            async with http.post(f"{base}/api/silences", json={"rule": "x", "duration": "1h"}, headers=headers) as r:
                assert r.status == 403  # the officials' staff do not silence alerts
            async with http.post(f"{base}/api/crisis", json={"state": "vigilance"}, headers=headers) as response:
                assert response.status == 200
    finally:
        await app.stop()


async def test_api_token_for_scripts_compared_in_constant_time(make_settings, monkeypatch):
    monkeypatch.setenv("VIGIE_API_TOKEN", "le-jeton-des-scripts")
    app = await started(make_settings)
    base = f"http://127.0.0.1:{app.web_port}"
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/api/alerts", headers={"Authorization": "Bearer le-jeton-des-script"}) as r:
                assert r.status == 401
            auth = {"Authorization": "Bearer le-jeton-des-scripts"}
            async with http.get(f"{base}/api/alerts", headers=auth) as response:
                assert response.status == 200
            async with http.post(f"{base}/api/crisis", data="state=crise",
                                 headers={**auth, "Content-Type": "application/x-www-form-urlencoded"}) as response:
                assert response.status == 415  # writes take a JSON body only
            async with http.post(f"{base}/api/crisis", json={"state": "vigilance", "actor": "script-nuit"},
                                 headers=auth) as response:
                assert response.status == 200
            async with http.get(f"{base}/healthz") as response:
                assert (await response.json())["components"]["web"]["state"] == "ok"
        assert app.store.conn.execute("SELECT actor FROM crisis_log").fetchone()[0] == "script-nuit"
    finally:
        await app.stop()


async def test_health_and_metrics_can_be_closed_too(make_settings, monkeypatch):
    monkeypatch.setenv("VIGIE_API_TOKEN", "tok")
    app = await started(make_settings, open_healthz=False, open_metrics=False)
    base = f"http://127.0.0.1:{app.web_port}"
    try:
        async with aiohttp.ClientSession() as http:
            for path in ("/healthz", "/metrics"):
                async with http.get(base + path) as response:
                    assert response.status == 401
                async with http.get(base + path, headers={"Authorization": "Bearer tok"}) as response:
                    assert response.status == 200
    finally:
        await app.stop()


async def test_login_form_needs_its_own_token_and_never_redirects_off_site(make_settings):
    app = await started(make_settings)
    add_user(app.store, "claire", "cellule")
    base = f"http://127.0.0.1:{app.web_port}"
    try:
        async with browser() as http:
            form = {"username": "claire", "password": PASSWORD, "csrf_token": "forged", "next": "/"}
            async with http.post(f"{base}/login", data=form, allow_redirects=False) as response:
                assert response.status == 403  # login CSRF: a foreign page cannot log the browser in
            response = await login(http, base, "claire", next_path="//evil.example/")
            assert response.headers["Location"] == "/"
    finally:
        await app.stop()


async def test_disabling_an_account_ends_its_sessions(make_settings, tmp_path):
    app = await started(make_settings)
    add_user(app.store, "claire", "cellule")
    base = f"http://127.0.0.1:{app.web_port}"
    config = tmp_path / "vigie.toml"
    config.write_text(f'[store]\npath = "{tmp_path / "vigie.db"}"\n', encoding="utf-8")
    try:
        async with browser() as http:
            await login(http, base, "claire")
            async with http.get(f"{base}/api/me") as response:
                assert response.status == 200
            result = CliRunner().invoke(main, ["users", "disable", "claire", "--config", str(config)])
            assert result.exit_code == 0 and "désactivé" in result.output
            async with http.get(f"{base}/api/me") as response:
                assert response.status == 401
    finally:
        await app.stop()


def test_users_command_adds_lists_and_refuses_bad_input(tmp_path):
    config = tmp_path / "vigie.toml"
    config.write_text(f'[store]\npath = "{tmp_path / "vigie.db"}"\n', encoding="utf-8")
    runner = CliRunner()
    base = ["--config", str(config)]
    result = runner.invoke(main, ["users", "add", "claire", "--role", "cellule", "--nom", "Claire Martin",
                                  "--password-stdin", *base], input="un mot de passe solide\n")
    assert result.exit_code == 0 and "Compte « claire » créé" in result.output
    result = runner.invoke(main, ["users", "add", "paul", "--role", "cabinet", "--generer", *base])
    assert result.exit_code == 0 and "affiché une seule fois" in result.output
    result = runner.invoke(main, ["users", "add", "court", "--role", "lecture", "--password-stdin", *base],
                           input="court\n")
    assert result.exit_code == 2 and "trop court" in result.output
    result = runner.invoke(main, ["users", "add", "Claire", "--role", "admin", "--generer", *base])
    assert result.exit_code == 2 and "existe déjà" in result.output
    result = runner.invoke(main, ["users", "list", *base])
    assert "claire" in result.output and "cellule" in result.output and "paul" in result.output
    db = sqlite3.connect(tmp_path / "vigie.db")
    hashes = [row[0] for row in db.execute("SELECT password_hash FROM users")]
    assert all(h.startswith("$argon2id$") for h in hashes)
    assert [row[0] for row in db.execute("SELECT action FROM user_actions ORDER BY id")] == ["user-add", "user-add"]
