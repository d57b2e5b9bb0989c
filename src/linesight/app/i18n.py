"""Brazilian Portuguese and English through Qt's translation system, switchable while running.

English is the source language; Portuguese comes from ``resources/translations/linesight_pt_BR.qm``
(compiled from the ``.ts`` file beside it by ``make translations``). Switching installs or removes the
translator and sets the default QLocale, so that numbers and dates follow the language; every
widget then receives a LanguageChange event and relabels itself.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

log = logging.getLogger(__name__)

TRANSLATIONS = Path(__file__).resolve().parent.parent / "resources" / "translations"
LOCALES = {
    "pt_BR": QLocale(QLocale.Language.Portuguese, QLocale.Country.Brazil),
    "en": QLocale(QLocale.Language.English, QLocale.Country.UnitedStates),
}


class Languages:
    """The language of the running application: LineSight's own texts and Qt's (dialog buttons)."""

    def __init__(self, app: QCoreApplication) -> None:
        self._app = app
        self._translators: list[QTranslator] = []
        self.current = "en"

    def switch(self, language: str) -> None:
        if language not in LOCALES:
            raise ValueError(f"unknown language {language!r}; LineSight speaks {', '.join(LOCALES)}")
        for translator in self._translators:
            self._app.removeTranslator(translator)
        self._translators = []
        if language != "en":
            ours = TRANSLATIONS / f"linesight_{language}.qm"
            qt = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)) / f"qtbase_{language}.qm"
            for qm, required in ((ours, True), (qt, False)):
                translator = QTranslator(self._app)
                if translator.load(str(qm)):
                    self._app.installTranslator(translator)
                    self._translators.append(translator)
                elif required:
                    log.warning("no translation file %s: showing English", qm)
        QLocale.setDefault(LOCALES[language])
        self.current = language
