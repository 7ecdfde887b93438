"""Settings of the workspace's accounts, sessions and optional single sign-on (`[web.auth]`, `[web.oidc]`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from listener.settings_base import StrictModel


class AuthSettings(StrictModel):
    # Hours a session lasts at most, and minutes without a request after which it ends.
    session_hours: float = Field(default=12, gt=0, le=24 * 30)
    idle_minutes: float = Field(default=120, gt=0)
    # Wrong passwords in a row that lock an account, and for how long.
    max_failures: int = Field(default=5, ge=1)
    lockout_minutes: float = Field(default=15, gt=0)
    # Distinct accounts that must approve a held post before it goes back to its schedule.
    held_post_approvals: int = Field(default=2, ge=1, le=5)
    # Secure cookie flag: "auto" sets it except on plain http to a loopback address (the demo).
    secure_cookies: Literal["auto", "always"] = "auto"


class OidcSettings(StrictModel):
    # OpenID Connect single sign-on (ProConnect, or any provider with discovery).
    enabled: bool = False
    # Issuer URL; its /.well-known/openid-configuration is read at the first login.
    issuer: str = ""
    client_id: str = ""
    # Environment variable holding the client secret.
    client_secret_env: str = "VIGIE_OIDC_CLIENT_SECRET"
    # Public address of Vigie's callback, as registered with the provider.
    redirect_uri: str = "http://127.0.0.1:8080/auth/oidc/callback"
    scopes: list[str] = Field(default_factory=lambda: ["openid", "email", "given_name", "usual_name", "uid"])
    # ACR level asked for (ProConnect: "eidas1"); "" for none.
    acr_values: str = ""
    # Accounts are matched by e-mail to existing users; with create_users, unknown agents of allowed
    # e-mail domains get an account with default_role.
    create_users: bool = False
    allowed_domains: list[str] = Field(default_factory=list)
    default_role: Literal["lecture", "cellule", "cabinet", "admin"] = "lecture"
    # Label of the button on the login page.
    button_label: str = "Se connecter avec ProConnect"
