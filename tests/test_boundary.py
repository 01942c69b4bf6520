"""The core never imports a chat platform SDK: adapters translate, the core decides."""

from __future__ import annotations

import ast

from tests.conftest import ROOT

SDKS = ("slack_bolt", "slack_sdk", "botbuilder", "botframework", "aiohttp")


def test_bot_imports_no_platform_sdk() -> None:
    offenders = []
    for path in (ROOT / "bot").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [
                f"{path.relative_to(ROOT)}: {name}" for name in names if name.split(".")[0] in SDKS
            ]
            # Adapters are discovered (importlib), never imported by name from the core.
            offenders += [
                f"{path.relative_to(ROOT)}: imports {name}"
                for name in names
                if name.startswith("adapters.")
            ]
    assert offenders == []
