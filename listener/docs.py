"""Reference documentation generated from the code: the configuration reference from the settings models
(with each key's comment in the model or in config.toml), the CLI reference from every command's
`--help`, and the list of every extension point's types in docs/recipes.md.

`python -m listener.docs` rewrites them; `python -m listener.docs --check` says which are out of date.
tests/test_docs_generated.py fails when the committed files differ, or when a setting, a type or a
command has no description (so nothing is added without its documentation).
"""

from __future__ import annotations

import ast
import inspect
import re
import sys
import textwrap
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
CONFIG = REPO / "config.toml"
RECIPES = DOCS / "recipes.md"
BEGIN, END = "<!-- BEGIN generated: python -m listener.docs -->", "<!-- END generated -->"
WIDTH = 100


class Undocumented(Exception):
    """Something a user can set or run has no description."""


# --------------------------------------------------------------------------- configuration reference


@dataclass
class Key:
    path: str
    type: str
    default: str
    description: str


@dataclass
class Section:
    title: str
    note: str = ""
    keys: list[Key] = field(default_factory=list)


def _comment_above(lines: list[str], lineno: int) -> str:
    """The run of `#` comment lines right above line `lineno` (1-based), joined."""
    found: list[str] = []
    i = lineno - 2
    while i >= 0 and lines[i].strip().startswith("#"):
        found.insert(0, lines[i].strip().lstrip("#").strip())
        i -= 1
    return " ".join(part for part in found if part)


def model_comments(model: type[BaseModel]) -> dict[str, str]:
    """Comment lines written above each field in the model's class body (its bases' too)."""
    found: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)) or cls is BaseModel:
            continue
        try:
            source = textwrap.dedent(inspect.getsource(cls))
        except (OSError, TypeError):
            continue
        lines = source.splitlines()
        for node in ast.parse(source).body[0].body:
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                comment = _comment_above(lines, node.lineno)
                if comment:
                    found[node.target.id] = comment
    return found


def config_comments(path: Path = CONFIG) -> dict[tuple[str, str], str]:
    """(table, key) -> the comment above `key = …` in config.toml. Tables are dotted with their dict keys
    replaced by `*` later; an array of tables with a `type` key is named `table(type)`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: dict[tuple[str, str], str] = {}
    table = ""
    pending: list[tuple[str, str]] = []
    block_type: str | None = None

    def flush() -> None:
        for key, comment in pending:
            name = f"{table}({block_type})" if block_type else table
            found.setdefault((name, key), comment)
            found.setdefault((table, key), comment)
        pending.clear()

    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        header = re.fullmatch(r"\[\[?\s*([^\]]+?)\s*\]\]?", line)
        if header:
            flush()
            table, block_type = header.group(1), None
            continue
        assignment = re.match(r"([A-Za-z_][\w-]*)\s*=", line)  # an active key (examples in comments skipped)
        if assignment:
            key = assignment.group(1)
            if key == "type":
                match = re.search(r'=\s*"([^"]+)"', line)
                block_type = match.group(1) if match else None
            comment = _comment_above(lines, number)
            if comment:
                pending.append((key, comment))
    flush()
    return found


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in typing.get_args(annotation) for model in _models_in(arg)]


def _without_none(annotation: Any) -> Any:
    """`X | None` -> X (an optional section is still a section)."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [arg for arg in args if arg is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return annotation


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " | ".join(repr(arg).replace("'", '"') for arg in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(arg) for arg in args if arg is not type(None)) + (
            " (optional)" if type(None) in args else "")
    if origin in (list, tuple, set, frozenset):
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is dict:
        return f"table of {_type_name(args[1])}" if len(args) == 2 else "table"
    if origin is typing.Annotated:
        return _type_name(args[0])
    names = {str: "string", int: "integer", float: "number", bool: "boolean", Path: "path", dict: "table",
             list: "list"}
    if annotation in names:
        return names[annotation]
    return getattr(annotation, "__name__", str(annotation))


def _default(info: Any) -> str:
    if info.default_factory is not None:
        try:
            value = info.default_factory()
        except TypeError:
            return "—"
    elif info.default is PydanticUndefined:
        return "(required)"
    else:
        value = info.default
    if isinstance(value, BaseModel):
        return "(section)"
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, (list, tuple, dict)) and not value:
        return "[]" if not isinstance(value, dict) else "{}"
    text = repr(value).replace("'", '"')
    return text if len(text) <= 60 else text[:57] + "..."


def config_sections(settings_model: type[BaseModel] | None = None, *, include_rule_types: bool = True) -> list[Section]:
    """Every settings section and key with its type, default and description, depth first."""
    if settings_model is None:
        from listener.settings import Settings as settings_model
    toml = config_comments()
    sections: list[Section] = []
    missing: list[str] = []

    def toml_comment(table: str, key: str) -> str:
        for name in (table, re.sub(r"\([^)]*\)$", "", table)):  # a [[sources]] key any type shares
            if (name, key) in toml:
                return toml[(name, key)]
        pattern = re.compile("^" + re.escape(table).replace(r"\*", r"[^.]+") + "$")
        for (name, found_key), comment in toml.items():
            if found_key == key and pattern.match(name):
                return comment
        return ""

    def walk(model: type[BaseModel], table: str, title: str, note: str = "") -> None:
        comments = model_comments(model)
        section = Section(title, note or _first_line(model.__dict__.get("__doc__")))
        sections.append(section)
        nested: list[tuple[type[BaseModel], str, str, str]] = []
        for name, info in model.model_fields.items():
            if info.exclude:
                continue
            annotation = info.annotation
            submodels = _models_in(annotation)
            origin = typing.get_origin(_without_none(annotation))
            description = info.description or comments.get(name) or toml_comment(table, name)
            if name == "type" and table.endswith(")"):  # a typed block: its type key says which block it is
                description = "The block's type: " + _cell(title.split("type = ", 1)[-1]) + "."
            path = f"{table}.{name}" if table else name
            inner = _without_none(annotation)
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                nested.append((inner, path, f"[{path}]", description))
                continue
            if submodels and origin is dict:
                nested.append((submodels[0], f"{path}.*", f"[{path}.<name>]", description))
                if description:
                    section.keys.append(Key(name, f"table of [{path}.<name>]", _default(info), description))
                continue
            if submodels and origin is list and len(submodels) == 1:
                nested.append((submodels[0], path, f"[[{path}]]", description))
                continue
            if submodels:  # a union of models told apart by `type` (the [[sources]] blocks)
                for sub in submodels:
                    kind = typing.get_args(sub.model_fields["type"].annotation)[0] if "type" in sub.model_fields else ""
                    nested.append((sub, f"{path}({kind})", f'[[{path}]] type = "{kind}"', ""))
                continue
            if not description:
                missing.append(path)
            section.keys.append(Key(name, _type_name(annotation), _default(info), description))
        for sub, sub_table, sub_title, sub_note in nested:
            walk(sub, sub_table, sub_title, sub_note)

    walk(settings_model, "", "Top level")
    if include_rule_types:
        from rules.types import RULE_TYPES

        for name, cls in RULE_TYPES.items():  # a rule's options are read by its type's model
            walk(cls.Options, f"rules.rules({name})", f'[[rules.rules]] type = "{name}"', _own_doc(cls))
    if missing:
        raise Undocumented("settings without a description (comment the field or its config.toml line): "
                           + ", ".join(missing))
    return [section for section in sections if section.keys]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_configuration() -> str:
    out = ["# Configuration reference", "",
           "Generated from the settings models by `python -m listener.docs` (do not edit by hand: "
           "tests/test_docs_generated.py fails when it is out of date). Descriptions are the comments above",
           "each field in the model, or above the key in `config.toml`, which shows every section with its "
           "values. Unknown keys are errors; a bad value is reported with its dotted key.", ""]
    for section in config_sections():
        out += [f"## `{section.title}`", ""]
        if section.note:
            out += [section.note, ""]
        out += ["| Key | Type | Default | Description |", "|---|---|---|---|"]
        out += [f"| `{key.path}` | {_cell(key.type)} | `{_cell(key.default)}` | {_cell(key.description)} |"
                for key in section.keys]
        out.append("")
    return "\n".join(out)


# --------------------------------------------------------------------------- CLI reference


def _walk_commands(command: click.Command, ctx: click.Context) -> Iterator[tuple[click.Context, click.Command]]:
    yield ctx, command
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is None or sub.hidden:
                continue
            yield from _walk_commands(sub, click.Context(sub, info_name=name, parent=ctx, terminal_width=WIDTH,
                                                         max_content_width=WIDTH))


def render_cli() -> str:
    from listener.cli import main

    root = click.Context(main, info_name="vigie", terminal_width=WIDTH, max_content_width=WIDTH)
    out = ["# CLI reference", "",
           "Generated from each command's `--help` by `python -m listener.docs` (do not edit by hand: "
           "tests/test_docs_generated.py fails when it is out of date).", ""]
    missing = []
    for ctx, command in _walk_commands(main, root):
        if not (command.help or command.short_help):
            missing.append(ctx.command_path)
        out += [f"## `{ctx.command_path}`", "", "```text", command.get_help(ctx).rstrip(), "```", ""]
    if missing:
        raise Undocumented("commands without a help text: " + ", ".join(missing))
    return "\n".join(out)


# --------------------------------------------------------------------------- extension points


def _first_line(text: str | None) -> str:
    return (text or "").strip().split("\n\n")[0].replace("\n", " ").strip()


def _own_doc(cls: type) -> str:
    """The class's own docstring, else its module's (a rule type's module says what the type does)."""
    return _first_line(cls.__dict__.get("__doc__") or sys.modules[cls.__module__].__doc__)


def extension_types() -> dict[str, list[tuple[str, str]]]:
    """Every registered type of each extension point, with its one-line description."""
    from alerts.registry import PLUGINS as CHANNELS
    from classifiers.detection.settings import DetectorSettings
    from listener.sources.registry import PLUGINS as SOURCES
    from rules.types import RULE_TYPES

    detectors = [(name, info.description or model_comments(DetectorSettings).get(name)
                  or _first_line(info.annotation.__dict__.get("__doc__")))
                 for name, info in DetectorSettings.model_fields.items() if _models_in(info.annotation)]
    found = {
        "Source types (`[[sources]] type = …`)": [(p.type, p.description) for p in SOURCES],
        "Channels (`[alerts.<channel>]`)": [(p.name, p.description) for p in CHANNELS],
        "Rule types (`[[rules.rules]] type = …`)": [(name, _own_doc(cls)) for name, cls in RULE_TYPES.items()],
        "Detectors (`[detectors.<name>]`)": detectors,
    }
    missing = [f"{point}: {name}" for point, items in found.items() for name, text in items if not text]
    if missing:
        raise Undocumented("types without a description: " + ", ".join(missing))
    return found


def render_types() -> str:
    out = [BEGIN, ""]
    for point, items in extension_types().items():
        out += [f"### {point}", "", "| Name | What it is |", "|---|---|"]
        out += [f"| `{name}` | {_cell(text)} |" for name, text in items]
        out.append("")
    out.append(END)
    return "\n".join(out)


def render_recipes(current: str) -> str:
    if BEGIN not in current or END not in current:
        raise Undocumented(f"{RECIPES} lost its generated block markers")
    before, rest = current.split(BEGIN, 1)
    after = rest.split(END, 1)[1]
    return before + render_types() + after


# --------------------------------------------------------------------------- entry point


def outputs() -> dict[Path, str]:
    """Each generated file and the text it must hold."""
    return {
        DOCS / "configuration.md": render_configuration(),
        DOCS / "cli.md": render_cli(),
        RECIPES: render_recipes(RECIPES.read_text(encoding="utf-8")),
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    stale = []
    for path, text in outputs().items():
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(path)
        if "--check" not in args:
            path.write_text(text, encoding="utf-8")
    for path in stale:
        shown = path.relative_to(REPO) if path.is_relative_to(REPO) else path
        print(f"{'out of date' if '--check' in args else 'written'}: {shown}")
    return 1 if stale and "--check" in args else 0


if __name__ == "__main__":
    sys.exit(main())
