"""Placeholder: the owning area replaces this with its real setup(app)."""


def setup(app):
    return None
