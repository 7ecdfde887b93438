"""Vigie's service: sources, pipeline, store, web, CLI.

sqlite-utils imports pandas whenever it is installed (the dev extra installs it for the NAB scorer of
`make bench`), only for DataFrame helpers Vigie never calls: 34 MiB of every process and 0.3 s of every
command's start-up (measured here). So while `sqlite_utils.db` runs, and only then, pandas looks absent;
`import pandas` works as usual before and after."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType


class _WithoutPandas(importlib.abc.Loader):
    def __init__(self, loader: importlib.abc.Loader) -> None:
        self.loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        hidden = "pandas" not in sys.modules
        if hidden:
            sys.modules["pandas"] = None  # type: ignore[assignment]  # importing it raises ImportError
        try:
            self.loader.exec_module(module)
        finally:
            if hidden and "pandas" in sys.modules and sys.modules["pandas"] is None:
                del sys.modules["pandas"]


class _SqliteUtilsWithoutPandas(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: Sequence[str] | None, target: ModuleType | None = None
                  ) -> importlib.machinery.ModuleSpec | None:
        if name != "sqlite_utils.db":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _WithoutPandas(spec.loader)
        return spec


if not any(isinstance(finder, _SqliteUtilsWithoutPandas) for finder in sys.meta_path):
    sys.meta_path.insert(0, _SqliteUtilsWithoutPandas())
