"""The import-linter contracts keep up with the package: a new layer cannot slip past them."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import linesight

PACKAGE = Path(linesight.__file__).parent
PYPROJECT = PACKAGE.parent.parent / "pyproject.toml"
UI = {"linesight.app", "linesight.widgets"}
# The entry point sits above the UI: it opens the HMI and writes report PDFs (headless runs import no Qt,
# which tests/test_cli.py checks on a real run).
ENTRY = {"linesight.cli"}


def contracts() -> list[dict[str, Any]]:
    config = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = config["tool"]["importlinter"]["contracts"]
    return found


def subpackages() -> set[str]:
    return {f"linesight.{p.parent.name}" for p in PACKAGE.glob("*/__init__.py")}


def test_every_subpackage_sits_in_a_layer() -> None:
    (layers,) = [c for c in contracts() if c["type"] == "layers"]
    named = {name for layer in layers["layers"] for name in re.findall(r"linesight(?:\.\w+)*", layer)}
    assert subpackages() <= named, f"add {sorted(subpackages() - named)} to the layers contract"


def test_every_package_below_the_ui_is_forbidden_to_import_qt() -> None:
    (qt,) = [c for c in contracts() if c.get("forbidden_modules") == ["PySide6", "pyqtgraph", "qasync"]]
    assert {"PySide6", "pyqtgraph", "qasync"} <= set(qt["forbidden_modules"])
    below_ui = subpackages() - UI - ENTRY
    missing = below_ui - set(qt["source_modules"])
    assert not missing, f"add {sorted(missing)} to the Qt contract's source_modules"


def test_the_domain_imports_no_io_library() -> None:
    (domain,) = [c for c in contracts() if c.get("source_modules") == ["linesight.domain"]]
    assert {"asyncio", "duckdb", "socket", "PySide6", "sqlalchemy"} <= set(domain["forbidden_modules"])


def test_the_cloud_backend_has_its_contract_once_it_exists() -> None:
    if not (PACKAGE / "cloud" / "backend" / "__init__.py").exists():
        assert "linesight.cloud.backend" not in PYPROJECT.read_text(encoding="utf-8").split("# When")[0]
        return
    apart = [c for c in contracts() if "linesight.cloud.backend" in c.get("source_modules", [])]
    assert apart, "add the contract that keeps linesight.cloud.backend apart from the edge"
    forbidden = set(apart[0]["forbidden_modules"])
    assert {
        "linesight.app",
        "linesight.widgets",
        "linesight.drivers",
        "linesight.runtime",
        "linesight.storage",
    } <= forbidden
