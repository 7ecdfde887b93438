"""Logging in to the workspace as a browser does (form, cookies, CSRF token), for the web tests."""

from __future__ import annotations

import re

import aiohttp

from listener.auth.users import Users

PASSWORD = "correct horse battery staple"


def add_user(store, username: str, role: str, password: str = PASSWORD) -> None:
    Users(store).add(username, role, password=password, display_name=username.title())


def browser() -> aiohttp.ClientSession:
    """A client that keeps cookies for 127.0.0.1 and does not follow redirects by itself."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def login(http: aiohttp.ClientSession, base: str, username: str, password: str = PASSWORD,
                next_path: str = "/") -> aiohttp.ClientResponse:
    async with http.get(f"{base}/login", params={"next": next_path}) as response:
        page = await response.text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = {"username": username, "password": password, "csrf_token": token, "next": next_path}
    async with http.post(f"{base}/login", data=form, allow_redirects=False) as response:
        await response.read()
        return response


async def csrf(http: aiohttp.ClientSession, base: str) -> str:
    async with http.get(f"{base}/api/me") as response:
        return (await response.json())["csrf_token"]
