"""Shared base for every settings model: unknown keys are errors, never silently ignored."""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def secret_from_env(env_name: str | None) -> str | None:
    """Secrets never live in config files: the config names an environment variable."""
    if not env_name:
        return None
    value = os.environ.get(env_name)
    return value or None
