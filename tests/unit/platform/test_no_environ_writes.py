"""No code of the project configures a process by writing `os.environ` (docs/adr/0035).

Settings are made once from an environment (`Settings()`, or `Settings.from_env(mapping)`)
and passed; a child process gets its variables through `env=` (a copy). This scans every
Python file of the project for writes to `os.environ`: item assignment or deletion,
`update`/`setdefault`/`pop`/`popitem`/`clear`, rebinding it, and `os.putenv`/`os.unsetenv`,
however `os` or `environ` was imported. pytest's `monkeypatch.setenv` in tests of the edge
(what `Settings()` reads) is not a write of the code under test, and pytest undoes it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SKIPPED = {".venv", ".git", ".tools", ".agentshop", "node_modules", "__pycache__"}
MUTATORS = {"update", "setdefault", "pop", "popitem", "clear", "__setitem__", "__delitem__"}

# Writes that cannot be avoided, each with its reason. None so far.
ALLOWED: dict[str, str] = {}


def python_files() -> list[Path]:
    return sorted(
        path
        for path in ROOT.rglob("*.py")
        if not SKIPPED.intersection(path.relative_to(ROOT).parts)
    )


class _Writes(ast.NodeVisitor):
    def __init__(self) -> None:
        self.os_names = {"os"}  # `import os` / `import os as o`
        self.environ_names: set[str] = set()  # `from os import environ [as e]`
        self.putenv_names: set[str] = set()  # `from os import putenv`
        self.found: list[tuple[int, str]] = []

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name == "os":
                self.os_names.add(alias.asname or "os")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module == "os":
            for alias in node.names:
                if alias.name == "environ":
                    self.environ_names.add(alias.asname or alias.name)
                if alias.name in ("putenv", "unsetenv"):
                    self.putenv_names.add(alias.asname or alias.name)

    def is_environ(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.environ_names
        return (
            isinstance(node, ast.Attribute)
            and node.attr == "environ"
            and isinstance(node.value, ast.Name)
            and node.value.id in self.os_names
        )

    def _target(self, target: ast.expr, line: int) -> None:
        if isinstance(target, ast.Subscript) and self.is_environ(target.value):
            self.found.append((line, "os.environ[...] = ..."))
        elif self.is_environ(target):
            self.found.append((line, "os.environ rebound"))
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._target(element, line)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._target(target, node.lineno)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._target(node.target, node.lineno)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self._target(node.target, node.lineno)
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            if isinstance(target, ast.Subscript) and self.is_environ(target.value):
                self.found.append((node.lineno, "del os.environ[...]"))
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        function = node.func
        if isinstance(function, ast.Attribute):
            if function.attr in MUTATORS and self.is_environ(function.value):
                self.found.append((node.lineno, f"os.environ.{function.attr}(...)"))
            if (
                function.attr in ("putenv", "unsetenv")
                and isinstance(function.value, ast.Name)
                and function.value.id in self.os_names
            ):
                self.found.append((node.lineno, f"os.{function.attr}(...)"))
        elif isinstance(function, ast.Name) and function.id in self.putenv_names:
            self.found.append((node.lineno, f"{function.id}(...)"))
        self.generic_visit(node)


def writes(source: str) -> list[tuple[int, str]]:
    finder = _Writes()
    finder.visit(ast.parse(source))
    return finder.found


def test_no_code_of_the_project_writes_os_environ() -> None:
    files = python_files()
    assert len(files) > 100  # the scan sees the project (not an empty folder)
    found = []
    for path in files:
        name = path.relative_to(ROOT).as_posix()
        for line, what in writes(path.read_text(encoding="utf-8")):
            if name not in ALLOWED:
                found.append(f"{name}:{line}: {what}")
    assert not found, "configure through Settings / env= instead:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "source",
    [
        "import os\nos.environ['A'] = '1'",
        "import os\nos.environ['A'] += '1'",
        "import os\nos.environ.update(A='1')",
        "import os\nos.environ.setdefault('A', '1')",
        "import os\nos.environ.pop('A', None)",
        "import os\nos.environ.clear()",
        "import os\ndel os.environ['A']",
        "import os\nos.environ = {}",
        "import os\nos.putenv('A', '1')",
        "import os\nos.unsetenv('A')",
        "import os as system\nsystem.environ['A'] = '1'",
        "from os import environ\nenviron['A'] = '1'",
        "from os import environ as env\nenv.update({'A': '1'})",
        "from os import putenv\nputenv('A', '1')",
        "import os\ndef f():\n    os.environ['A'], b = '1', 2",
    ],
)
def test_the_scan_finds_each_kind_of_write(source: str) -> None:
    assert writes(source)


@pytest.mark.parametrize(
    "source",
    [
        "import os\nvalue = os.environ.get('A')",
        "import os\nenv = {**os.environ, 'A': '1'}",
        "import os\nenv = dict(os.environ)\nenv['A'] = '1'\nenv.pop('B', None)",
        "import os\nenv = os.environ.copy()\nenv.update(A='1')",
        "def f(monkeypatch):\n    monkeypatch.setenv('A', '1')",
    ],
)
def test_reads_and_copies_are_not_writes(source: str) -> None:
    assert not writes(source)
