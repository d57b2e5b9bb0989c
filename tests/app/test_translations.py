"""The Portuguese translation is complete and current: every visible string of the code is in the .ts,
translated, with its placeholders, and the checked-in .qm is what the .ts compiles to."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QLocale
from PySide6.QtWidgets import QApplication

from linesight.app.i18n import TRANSLATIONS, Languages

pytestmark = pytest.mark.gui

ROOT = Path(__file__).resolve().parents[2]
TS = TRANSLATIONS / "linesight_pt_BR.ts"
QM = TRANSLATIONS / "linesight_pt_BR.qm"


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    assert found is not None, f"{name} comes with PySide6-Essentials; the venv lacks it"
    return found


def _messages(ts: Path) -> dict[tuple[str, str], ET.Element]:
    return {
        (context.findtext("name") or "", message.findtext("source") or ""): message
        for context in ET.parse(ts).getroot().iter("context")
        for message in context.iter("message")
    }


def test_every_visible_string_of_the_code_is_in_the_ts_and_translated(tmp_path: Path) -> None:
    fresh = tmp_path / "linesight_pt_BR.ts"
    shutil.copy(TS, fresh)
    sources = sorted(
        str(p) for d in ("app", "widgets") for p in (ROOT / "src" / "linesight" / d).rglob("*.py")
    )
    # The same call as `make translations`: the strings of the code now, the checked-in translations kept.
    subprocess.run(
        [_tool("pyside6-lupdate"), *sources, "-locations", "none", "-no-obsolete", "-ts", str(fresh)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    now, checked_in = _messages(fresh), _messages(TS)
    assert sorted(set(now) - set(checked_in)) == [], "new strings: run `make translations` and translate them"
    assert sorted(set(checked_in) - set(now)) == [], "strings gone from the code: run `make translations`"
    unfinished = [key for key, message in now.items() if message.find("translation").get("type")]  # type: ignore[union-attr]
    assert unfinished == []


def test_each_translation_keeps_the_placeholders_of_its_source() -> None:
    for (context, source), message in _messages(TS).items():
        translation = message.findtext("translation") or ""
        assert translation.strip(), f"{context}: {source!r} has an empty translation"
        wanted = sorted(re.findall(r"%(?:\d|n)", source))
        assert sorted(re.findall(r"%(?:\d|n)", translation)) == wanted, (
            f"{context}: {source!r} → {translation!r}"
        )


def test_the_checked_in_qm_is_what_the_ts_compiles_to(tmp_path: Path) -> None:
    compiled = tmp_path / "linesight_pt_BR.qm"
    subprocess.run(
        [_tool("pyside6-lrelease"), str(TS), "-qm", str(compiled)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    assert compiled.read_bytes() == QM.read_bytes(), "run `make translations` and commit the .qm"


def test_switching_the_language_translates_texts_and_sets_the_locale(qapp: QApplication) -> None:
    languages = Languages(qapp)
    try:
        languages.switch("pt_BR")
        assert QCoreApplication.translate("MainWindow", "No active alarms") == "Nenhum alarme ativo"
        assert QCoreApplication.translate("QPlatformTheme", "Cancel") == "Cancelar"  # Qt's own dialogs too
        assert QLocale().toString(1234.5, "f", 1) == "1.234,5"
        languages.switch("en")
        assert QCoreApplication.translate("MainWindow", "No active alarms") == "No active alarms"
        assert QLocale().toString(1234.5, "f", 1) == "1,234.5"
    finally:
        languages.switch("en")


def test_an_unknown_language_is_refused_by_name(qapp: QApplication) -> None:
    languages = Languages(qapp)
    with pytest.raises(ValueError, match=r"unknown language 'fr'.*pt_BR, en"):
        languages.switch("fr")
    assert languages.current == "en"
