"""The fleet web page in headless Chromium against a real uvicorn over a two-tenant SQLite database:
a key given in the address (``#key=...``, for a kiosk or a TV) shows that tenant's machines and never
another's, in English and in Brazilian Portuguese; a wrong key gets the key form and a message.

The pictures go to the test's temporary folder; with LINESIGHT_DOC_SHOTS=1 (`make screenshots`) to
docs/screenshots/fleet/ (fleet-web-en.png, fleet-web-pt_BR.png)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from linesight.cloud.backend.api import create_app

from .fleet_fixtures import Fleet, fill, serve

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots" / "fleet"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Chromium (apt-get install chromium)"),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Fleet]]:
    fleet = fill(tmp_path_factory.mktemp("web") / "cloud.db")
    with serve(create_app(fleet.engine)) as url:
        yield url, fleet
    fleet.engine.dispose()


def chromium(url: str, profile: Path, screenshot: Path | None = None) -> str:
    """The page's DOM after its scripts ran (virtual time lets the fetch finish first)."""
    command = [
        CHROMIUM,
        "--headless=new",
        "--no-sandbox",  # tests run as root in CI containers
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--window-size=1440,900",
        "--virtual-time-budget=8000",
        "--dump-dom",
    ]
    if screenshot is not None:
        command.append(f"--screenshot={screenshot}")
    process = subprocess.Popen(
        [*command, url], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True
    )
    try:
        dom, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)  # the browser and its helpers, nothing else
            process.wait()
    assert process.returncode == 0, f"chromium exited with {process.returncode}"
    return dom


def machines_in(dom: str) -> set[str]:
    return set(re.findall(r'data-machine="([^"]+)"', dom))


@pytest.mark.parametrize(
    ("language", "words"), [("en", ("Stopped", "Idle")), ("pt_BR", ("Parada", "Ociosa"))]
)
def test_the_page_shows_the_keys_tenant_machines_and_no_other_tenants(
    site: tuple[str, Fleet], tmp_path: Path, language: str, words: tuple[str, str]
) -> None:
    url, fleet = site
    folder = SHOTS if os.environ.get("LINESIGHT_DOC_SHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    shot = folder / f"fleet-web-{language}.png"
    lang = "pt-BR" if language == "pt_BR" else "en"
    dom = chromium(f"{url}/#key={fleet.key_a}&lang={lang}", tmp_path / "profile", shot)
    assert machines_in(dom) == {"sp-edge/cnc-01", "sp-edge/cnc-02", "sp-edge/prensa-01", "cwb-edge/forno-01"}
    assert "globex" not in dom.lower()
    assert "Detroit" not in dom
    assert 'class="badge state-stopped"' in dom  # the stopped press: the one red thing on the page
    for word in words:
        assert word in dom
    assert "ACME Indústria" in dom
    assert f'lang="{lang}"' in dom
    assert shot.stat().st_size > 10_000


def test_the_other_tenants_key_shows_only_its_own_machine_for_the_period_asked(
    site: tuple[str, Fleet], tmp_path: Path
) -> None:
    url, fleet = site
    dom = chromium(f"{url}/#key={fleet.key_b}&lang=en&period=week", tmp_path / "profile")
    assert machines_in(dom) == {"det-edge/globex-lathe"}
    assert re.search(r'data-period="week"[^>]*aria-pressed="true"', dom)  # the period from the address
    assert "cnc-01" not in dom and "São Paulo" not in dom


def test_a_wrong_key_shows_the_key_form_and_says_the_key_was_refused(
    site: tuple[str, Fleet], tmp_path: Path
) -> None:
    url, _fleet = site
    dom = chromium(f"{url}/#key=lsk_000000000000_wrong&lang=en", tmp_path / "profile")
    assert machines_in(dom) == set()
    assert "The API key was refused" in dom
    assert re.search(r'<section id="login" class="login">', dom)  # shown, no longer hidden
