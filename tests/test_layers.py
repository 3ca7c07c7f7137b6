"""The direction of dependencies: cli → broadcast/chat/web → store/wechat/index, wechat on its
own; web (the archive's pages) and chat/broadcast know nothing of each other.

Every import in every module is read with `ast` (those inside functions too), so a lazy import
cannot slip a dependency past the rule.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = ("bot", "index")

# package (as a dotted prefix) -> the packages of ours it may not import
FORBIDDEN = {
    "index": ("bot",),
    "bot.store": ("bot.chat", "bot.broadcast", "bot.cli", "bot.web"),
    "bot.chat": ("bot.broadcast", "bot.cli", "bot.web"),
    "bot.broadcast": ("bot.chat", "bot.cli", "bot.web"),
    "bot.web": ("bot.chat", "bot.broadcast", "bot.cli", "bot.store"),
    "bot.menu": ("bot.chat", "bot.broadcast", "bot.cli", "bot.web"),
    "bot.scenes": ("bot.chat", "bot.broadcast", "bot.cli", "bot.web"),
    "bot.account": ("bot.chat", "bot.broadcast", "bot.cli", "bot.web"),
    "bot.metrics": ("bot.chat", "bot.broadcast", "bot.cli", "bot.store", "bot.web"),
    "bot.shared": ("bot.chat", "bot.broadcast", "bot.cli", "bot.store", "bot.web"),
}
# packages that may import nothing of ours outside themselves
SELF_CONTAINED = ("bot.wechat",)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(name: str, source: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, module) for every import in module `name`, relative ones made absolute."""
    package = name if is_package else name.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.extend((node.lineno, f"{base}.{alias.name}") for alias in node.names)
    return found


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _modules() -> list[Path]:
    return sorted(p for top in OURS for p in (ROOT / top).rglob("*.py"))


def _violations(name: str, source: str, label: str, is_package: bool = False) -> list[str]:
    broken = []
    for line, imported in _imports(name, source, is_package):
        if not any(_within(imported, top) for top in OURS):
            continue
        for package, banned in FORBIDDEN.items():
            if _within(name, package) and any(_within(imported, b) for b in banned):
                broken.append(f"{label}:{line} imports {imported}")
        for package in SELF_CONTAINED:
            if _within(name, package) and not _within(imported, package):
                broken.append(f"{label}:{line} imports {imported}")
    return broken


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down_the_layers(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    label = str(path.relative_to(ROOT))
    assert _violations(_module_name(path), source, label, path.name == "__init__.py") == []


@pytest.mark.parametrize(
    ("name", "source", "caught"),
    [
        ("bot.wechat.api", "def f():\n    from bot.config import Settings\n", True),
        ("bot.wechat.api", "from .errors import FatalError\n", False),
        ("bot.wechat.api", "from ..errors import UserError\n", True),
        ("bot.chat.replies", "import bot.broadcast.compose\n", True),
        ("bot.chat.replies", "from bot.render import entry_line\n", False),
        ("bot.store.store", "from bot.cli.main import cli\n", True),
        ("index.search", "from bot.config import Settings\n", True),
        ("bot.cli.main", "from bot.chat import app\n", False),
        ("bot.chat.app", "from bot.web import mount\n", True),
        ("bot.web.routes", "from bot.chat.app import Webhook\n", True),
        ("bot.web.routes", "from index.search import Archive\n", False),
    ],
)
def test_the_check_sees_a_wrong_import(name: str, source: str, caught: bool) -> None:
    assert bool(_violations(name, source, name)) is caught
