"""Single sign-on with OpenID Connect (authorization code + PKCE), ready for ProConnect.

What it does, in order: read the provider's discovery document (`{issuer}/.well-known/openid-configuration`);
send the browser to `authorization_endpoint` with `state`, `nonce`, a PKCE S256 challenge and `acr_values`;
at the callback, check `state` against the browser's cookie, exchange the code at `token_endpoint`
(client secret from the environment), verify the ID token's signature against the provider's JWKS and its
`iss`, `aud`, `exp` and `nonce`; read `userinfo_endpoint` (JSON, or a signed JWT as ProConnect answers).
The agent is matched to a Vigie account by subject, then by e-mail; with `create_users`, an agent of an
allowed e-mail domain gets a new account with `default_role`. Nothing about the agent is trusted that
the provider did not sign.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
import jwt

from listener.auth.settings import OidcSettings
from listener.auth.users import User, UserError, Users
from listener.settings_base import secret_from_env

log = logging.getLogger("vigie.web.oidc")

PENDING_SECONDS = 600
ALGORITHMS = ["RS256", "ES256", "PS256"]


class OidcError(Exception):
    """A failed sign-on (message in French, safe to show)."""


@dataclass
class Pending:
    nonce: str
    verifier: str
    next: str
    created: float


class OidcClient:
    def __init__(self, settings: OidcSettings, users: Users, http: aiohttp.ClientSession | None = None) -> None:
        self.settings = settings
        self.users = users
        self._http = http
        self._metadata: dict[str, Any] | None = None
        self._jwks: dict[str, Any] | None = None
        self._pending: dict[str, Pending] = {}

    async def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            url = self.settings.issuer.rstrip("/") + "/.well-known/openid-configuration"
            data = await self._get_json(url)
            for field in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(data.get(field), str):
                    raise OidcError(f"configuration du fournisseur d'identité incomplète ({field})")
            if data["issuer"].rstrip("/") != self.settings.issuer.rstrip("/"):
                raise OidcError("le fournisseur d'identité annonce un autre émetteur que celui configuré")
            self._metadata = data
        return self._metadata

    async def _get_json(self, url: str) -> dict[str, Any]:
        http = await self._session()
        try:
            async with http.get(url) as response:
                if response.status != 200:
                    raise OidcError(f"fournisseur d'identité injoignable ({response.status})")
                return await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise OidcError("fournisseur d'identité injoignable") from exc

    async def _keys(self, refresh: bool = False) -> dict[str, Any]:
        if self._jwks is None or refresh:
            self._jwks = await self._get_json((await self.metadata())["jwks_uri"])
        return self._jwks

    # -- the two legs --------------------------------------------------------------------------------

    async def authorization_url(self, next_path: str) -> tuple[str, str]:
        """(URL to send the browser to, state to keep in its cookie)."""
        meta = await self.metadata()
        self._forget_old()
        state, nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        self._pending[state] = Pending(nonce, verifier, next_path, time.monotonic())
        params = {"response_type": "code", "client_id": self.settings.client_id, "redirect_uri": self.settings.redirect_uri,
                  "scope": " ".join(self.settings.scopes), "state": state, "nonce": nonce,
                  "code_challenge": challenge, "code_challenge_method": "S256"}
        if self.settings.acr_values:
            params["acr_values"] = self.settings.acr_values
        return f"{meta['authorization_endpoint']}?{urlencode(params)}", state

    def _forget_old(self) -> None:
        cutoff = time.monotonic() - PENDING_SECONDS
        for state in [s for s, p in self._pending.items() if p.created < cutoff]:
            del self._pending[state]
        while len(self._pending) > 1000:
            self._pending.pop(next(iter(self._pending)))

    async def complete(self, *, state: str, cookie_state: str | None, code: str) -> tuple[User, str]:
        """Check the callback and verify the tokens. Returns (claims, next path); `account(claims)` (a store
        write: the caller runs it off the event loop) then finds or creates the account."""
        if not state or not cookie_state or not secrets.compare_digest(state, cookie_state):
            raise OidcError("connexion expirée ou lancée depuis un autre navigateur : recommencer")
        pending = self._pending.pop(state, None)
        if pending is None or time.monotonic() - pending.created > PENDING_SECONDS:
            raise OidcError("connexion expirée : recommencer")
        meta = await self.metadata()
        tokens = await self._exchange(meta, code, pending.verifier)
        claims = await self._verify(tokens.get("id_token"), pending.nonce)
        info = await self._userinfo(meta, tokens.get("access_token"), claims["sub"])
        return {**claims, **info}, pending.next

    async def _exchange(self, meta: dict[str, Any], code: str, verifier: str) -> dict[str, Any]:
        secret = secret_from_env(self.settings.client_secret_env)
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.settings.redirect_uri,
                "client_id": self.settings.client_id, "code_verifier": verifier}
        if secret:
            form["client_secret"] = secret
        http = await self._session()
        try:
            async with http.post(meta["token_endpoint"], data=form, headers={"Accept": "application/json"}) as response:
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise OidcError("échange du code refusé par le fournisseur d'identité") from exc
        if response.status != 200 or not isinstance(body, dict) or "id_token" not in body:
            log.warning("oidc token endpoint answered %s: %s", response.status, str(body)[:200])
            raise OidcError("échange du code refusé par le fournisseur d'identité")
        return body

    async def _verify(self, token: str | None, nonce: str | None) -> dict[str, Any]:
        if not token:
            raise OidcError("jeton d'identité absent")
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as exc:
            raise OidcError("jeton d'identité illisible") from exc
        key = await self._key_for(kid)
        try:
            claims = jwt.decode(token, key=key, algorithms=ALGORITHMS, audience=self.settings.client_id,
                                issuer=(await self.metadata())["issuer"], options={"require": ["exp", "iat", "sub"]},
                                leeway=60)
        except jwt.PyJWTError as exc:
            raise OidcError(f"jeton d'identité invalide ({type(exc).__name__})") from exc
        if nonce is not None and not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
            raise OidcError("jeton d'identité rejoué (nonce)")
        return claims

    async def _key_for(self, kid: str | None) -> Any:
        for refresh in (False, True):  # a key rotated at the provider is fetched again once
            for entry in (await self._keys(refresh)).get("keys", []):
                if kid is None or entry.get("kid") == kid:
                    return jwt.PyJWK(entry).key
        raise OidcError("clé de signature du fournisseur d'identité inconnue")

    async def _userinfo(self, meta: dict[str, Any], access_token: str | None, subject: str) -> dict[str, Any]:
        endpoint = meta.get("userinfo_endpoint")
        if not endpoint or not access_token:
            return {}
        http = await self._session()
        try:
            async with http.get(endpoint, headers={"Authorization": f"Bearer {access_token}"}) as response:
                kind = response.headers.get("Content-Type", "")
                raw = await response.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise OidcError("informations de l'agent indisponibles") from exc
        if response.status != 200:
            raise OidcError("informations de l'agent refusées par le fournisseur d'identité")
        info = await self._verify(raw.strip(), None) if "jwt" in kind else json.loads(raw)
        if info.get("sub") != subject:
            raise OidcError("informations d'un autre agent que celui connecté")
        return info

    def account(self, claims: dict[str, Any]) -> User:
        subject = str(claims["sub"])
        user = self.users.by_subject(subject)
        email = str(claims.get("email") or "").strip().lower()
        if user is None and email:
            found = [u for u in self.users.list() if (u.email or "").lower() == email]
            if found:
                user = found[0]
                self.users.bind_subject(user.username, subject)
        if user is None and email and self.settings.create_users:
            domain = email.rpartition("@")[2]
            if domain not in {d.lower() for d in self.settings.allowed_domains}:
                raise OidcError(f"aucun compte Vigie pour {email} (domaine non autorisé)")
            name = " ".join(str(claims.get(k) or "") for k in ("given_name", "usual_name")).strip()
            user = self.users.add(self._free_username(email), self.settings.default_role, password=None,
                                  display_name=name, email=email, oidc_subject=subject)
        if user is None:
            raise OidcError(f"aucun compte Vigie pour {email or 'cet agent'} : demander à un administrateur")
        if user.disabled:
            raise OidcError("compte désactivé")
        return user

    def _free_username(self, email: str) -> str:
        base = re.sub(r"[^a-z0-9._-]", "", email.partition("@")[0].lower())[:40] or "agent"
        if len(base) < 2:
            base += "-agent"
        name, n = base, 1
        while self.users.get(name) is not None:
            n += 1
            name = f"{base}{n}"
        try:
            from listener.auth.users import normalize_username

            return normalize_username(name)
        except UserError:
            return f"agent{secrets.randbelow(10**6)}"
