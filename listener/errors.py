"""Errors that reach an operator: each carries a message in French and English."""

from __future__ import annotations


class VigieError(Exception):
    """Base for errors shown to operators without a traceback."""


class ConfigError(VigieError):
    """A configuration problem, naming the file and the key."""

    def __init__(self, path: str, key: str, problem_fr: str, problem_en: str) -> None:
        self.path = path
        self.key = key
        self.problem_fr = problem_fr
        self.problem_en = problem_en
        super().__init__(
            f"{path} : clé « {key} » : {problem_fr}\n{path}: key '{key}': {problem_en}"
        )


class InvalidMention(VigieError):
    """A payload that cannot become a Mention; names the field at fault."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")
