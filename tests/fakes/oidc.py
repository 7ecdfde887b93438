"""A local OpenID Connect provider shaped like ProConnect: discovery, authorization (the agent consents at
once), token endpoint with PKCE S256 and client secret, RS256 ID tokens, JWKS, and a userinfo endpoint that
answers a signed JWT (`application/jwt`), as ProConnect does.

Following OpenID Connect Core 1.0 (authorization code flow) and RFC 7636 (PKCE)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from typing import Any
from urllib.parse import urlencode

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.fakes import FakeServer


class FakeOidc(FakeServer):
    def __init__(self, *, client_id: str = "vigie", client_secret: str = "secret-du-client") -> None:
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "cle-1"
        self.agent: dict[str, Any] = {"sub": "agent-42", "email": "claire.martin@rivebelle.fr", "given_name": "Claire",
                                      "usual_name": "Martin", "uid": "42", "siret": "21000000000000"}
        self.codes: dict[str, dict[str, Any]] = {}
        self.tamper: str | None = None  # "nonce" | "audience" | "signature": hand out a bad ID token

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/.well-known/openid-configuration", self.discovery),
            web.get("/authorize", self.authorize),
            web.post("/token", self.token),
            web.get("/jwks", self.jwks),
            web.get("/userinfo", self.userinfo),
        ]

    async def discovery(self, request: web.Request) -> web.Response:
        return web.json_response({
            "issuer": self.url, "authorization_endpoint": f"{self.url}/authorize", "token_endpoint": f"{self.url}/token",
            "jwks_uri": f"{self.url}/jwks", "userinfo_endpoint": f"{self.url}/userinfo",
            "response_types_supported": ["code"], "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"], "acr_values_supported": ["eidas1"],
        })

    async def authorize(self, request: web.Request) -> web.Response:
        q = request.query
        if q.get("client_id") != self.client_id or q.get("response_type") != "code" or "openid" not in q.get("scope", ""):
            return web.json_response({"error": "invalid_request"}, status=400)
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge") or not q.get("nonce"):
            return web.json_response({"error": "invalid_request", "error_description": "PKCE and nonce required"}, status=400)
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"challenge": q["code_challenge"], "nonce": q["nonce"], "redirect_uri": q["redirect_uri"],
                            "acr": q.get("acr_values")}
        return web.Response(status=302, headers={"Location": f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q['state']})}"})

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        grant = self.codes.pop(str(form.get("code")), None)
        if grant is None or form.get("redirect_uri") != grant["redirect_uri"]:
            return web.json_response({"error": "invalid_grant"}, status=400)
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return web.json_response({"error": "invalid_client"}, status=401)
        verifier = str(form.get("code_verifier", ""))
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if challenge != grant["challenge"]:
            return web.json_response({"error": "invalid_grant", "error_description": "PKCE"}, status=400)
        now = int(time.time())
        claims = {"iss": self.url, "sub": self.agent["sub"], "aud": self.client_id, "exp": now + 60, "iat": now,
                  "nonce": grant["nonce"], "acr": grant["acr"] or "eidas1", "amr": ["pwd"]}
        if self.tamper == "nonce":
            claims["nonce"] = "rejoue"
        if self.tamper == "audience":
            claims["aud"] = "un-autre-service"
        id_token = self._sign(claims)
        if self.tamper == "signature":
            other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            id_token = jwt.encode(claims, other, algorithm="RS256", headers={"kid": self.kid})
        return web.json_response({"access_token": "acces-" + secrets.token_urlsafe(8), "token_type": "Bearer",
                                  "expires_in": 60, "id_token": id_token})

    def _sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})

    async def jwks(self, request: web.Request) -> web.Response:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return web.json_response({"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]})

    async def userinfo(self, request: web.Request) -> web.Response:
        if not request.headers.get("Authorization", "").startswith("Bearer acces-"):
            return web.json_response({"error": "invalid_token"}, status=401)
        now = int(time.time())
        body = self._sign({**self.agent, "iss": self.url, "aud": self.client_id, "iat": now, "exp": now + 60})
        return web.Response(text=body, content_type="application/jwt")
