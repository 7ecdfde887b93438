"""Accounts of the demonstration: one per role, plus a second cell member for the « four eyes » approval.

Passwords are drawn anew at each run and printed once (the demo listens on loopback only)."""

from __future__ import annotations

from listener.auth.users import Users, generate_password
from listener.store import Store

DEMO_ACCOUNTS = (
    ("cellule", "cellule", "Camille Leroy (cellule)"),
    ("cellule2", "cellule", "Hugo Bernard (cellule)"),
    ("cabinet", "cabinet", "Inès Moreau (cabinet du maire)"),
    ("lecture", "lecture", "Lucas Petit (lecture)"),
    ("admin", "admin", "Administration"),
)


def create_demo_accounts(store: Store) -> list[tuple[str, str, str]]:
    """(username, role, password) of each demo account, created in the demo's fresh store."""
    users = Users(store)
    created = []
    for username, role, display_name in DEMO_ACCOUNTS:
        password = generate_password()
        users.add(username, role, password=password, display_name=display_name)
        created.append((username, role, password))
    return created
