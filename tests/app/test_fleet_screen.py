"""The HMI's Fleet screen against a real fleet API (uvicorn over a two-tenant SQLite backend), the
cloud panel of the diagnostics screen, and who sees what."""

from __future__ import annotations

import importlib.util
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from linesight.app.screens.fleet import ENV_KEY, ENV_URL, FleetScreen, FleetSource, fleet_source
from linesight.cloud.backend.api import create_app
from linesight.domain.cloud import CloudConfig
from linesight.domain.users import Role
from linesight.runtime.commands import Actor

from .harness import Hmi, plant, running_hmi

pytestmark = pytest.mark.gui


def _fleet_fixtures() -> ModuleType:
    """The backend tests' two-tenant fleet (tests/cloud/backend/fleet_fixtures.py), loaded by path."""
    name = "linesight_test_fleet_fixtures"
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).resolve().parents[1] / "cloud" / "backend" / "fleet_fixtures.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    fixtures = _fleet_fixtures()
    fleet = fixtures.fill(tmp_path_factory.mktemp("fleet-api") / "cloud.db")
    with fixtures.serve(create_app(fleet.engine)) as url:
        yield url, fleet
    fleet.engine.dispose()


@pytest.fixture(scope="module")
def hmi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hmi]:
    """One running HMI (runtime thread, bridge, window) for this module's tests."""
    with running_hmi(tmp_path_factory.mktemp("hmi")) as running:
        yield running


def machine_names(screen: FleetScreen) -> set[str]:
    names: set[str] = set()
    root = screen.tree.invisibleRootItem()
    for s in range(root.childCount()):
        site = root.child(s)
        for line_index in range(site.childCount()):
            line = site.child(line_index)
            names.update(line.child(m).text(0) for m in range(line.childCount()))
    return names


def test_the_fleet_screen_shows_the_keys_tenant_and_no_other(
    qtbot: QtBot, hmi: Hmi, api: tuple[str, Any]
) -> None:
    url, fleet = api
    screen = FleetScreen(hmi.bridge, plant(), source=FleetSource(url=url, key=fleet.key_a))
    qtbot.addWidget(screen)
    screen.refresh()
    qtbot.waitUntil(lambda: screen.fleet is not None or screen.error is not None, timeout=15000)
    assert screen.error is None
    assert machine_names(screen) == {"Centro CNC 01", "Centro CNC 02", "Prensa 01", "Forno 01"}
    assert "ACME Indústria" in screen.tenant.text()
    assert screen.chips[next(s for s in screen.chips if s.value == "stopped")].text().startswith("1")
    sites = [screen.tree.topLevelItem(i).text(0) for i in range(screen.tree.topLevelItemCount())]
    assert sorted(sites) == ["Curitiba", "São Paulo"]
    assert not screen.message.isVisibleTo(screen)
    # The week's OEE differs from the shift's: the period buttons switch what the tree shows.
    shift_oee = screen.tree.topLevelItem(0).text(3)
    screen.set_period("week")
    assert screen.tree.topLevelItem(0).text(3) != shift_oee


def test_a_refused_key_and_an_unreachable_api_say_so_and_show_nothing(
    qtbot: QtBot, hmi: Hmi, api: tuple[str, Any]
) -> None:
    url, _fleet = api
    refused = FleetScreen(hmi.bridge, plant(), source=FleetSource(url=url, key="lsk_000000000000_wrong"))
    qtbot.addWidget(refused)
    refused.refresh()
    qtbot.waitUntil(lambda: refused.error is not None, timeout=15000)
    assert refused.error is not None and refused.error.kind == "refused"
    assert "refused the API key" in refused.message.text()
    assert machine_names(refused) == set()

    nowhere = f"http://127.0.0.1:{_fleet_fixtures().free_port()}"
    unreachable = FleetScreen(hmi.bridge, plant(), source=FleetSource(url=nowhere, key="lsk_x_y"))
    qtbot.addWidget(unreachable)
    unreachable.refresh()
    qtbot.waitUntil(lambda: unreachable.error is not None, timeout=15000)
    assert unreachable.error is not None and unreachable.error.kind == "unreachable"
    assert "cannot be reached" in unreachable.message.text()
    assert nowhere in unreachable.message.text()


def test_without_an_address_or_key_the_screen_says_how_to_set_it_up(qtbot: QtBot, hmi: Hmi) -> None:
    screen = FleetScreen(hmi.bridge, plant(), source=FleetSource())
    qtbot.addWidget(screen)
    screen.refresh()
    assert screen.error is not None and screen.error.kind == "not_configured"
    assert ENV_URL in screen.message.text() and "api_url" in screen.message.text()
    assert screen.tree.topLevelItemCount() == 0


def test_the_address_and_key_come_from_the_plant_file_or_the_environment() -> None:
    assert not fleet_source(plant(), {}).configured
    source = fleet_source(plant(), {ENV_URL: "http://fleet:8000", ENV_KEY: "lsk_a_b"})
    assert source == FleetSource(url="http://fleet:8000", key="lsk_a_b")
    assert not fleet_source(plant(), {ENV_URL: "http://fleet:8000"}).configured
    base = {"host": "broker", "tenant": "acme", "site": "sp", "edge": "edge-1"}
    in_file = CloudConfig.model_validate(
        {**base, "api_url": "https://fleet.acme", "api_key_env": "FLEET_KEY"}
    )
    with_file = plant().model_copy(update={"cloud": in_file})
    found = fleet_source(with_file, {ENV_URL: "http://elsewhere:8000", "FLEET_KEY": "lsk_c_d"})
    assert found == FleetSource(url="https://fleet.acme", key="lsk_c_d")
    with pytest.raises(ValueError, match=r"only one of api_key, api_key_file, api_key_env"):
        CloudConfig.model_validate({**base, "api_key": "lsk_c_d", "api_key_env": "FLEET_KEY"})
    with pytest.raises(ValueError, match=r"api_url"):
        CloudConfig.model_validate({**base, "api_url": "fleet.acme"})


def test_only_managers_and_administrators_get_the_fleet_button(hmi: Hmi) -> None:
    window = hmi.window
    assert not window.nav_fleet.isVisibleTo(window)
    for role, visible in ((Role.OPERATOR, False), (Role.MANAGER, True), (Role.ADMIN, True)):
        window.session.set_actor(Actor(name="x", role=role))
        assert window.nav_fleet.isVisibleTo(window) is visible, role
    window.nav_fleet.click()
    assert window.stack.currentWidget() is window.fleet
    window.session.logout(reason="test")
    assert not window.nav_fleet.isVisibleTo(window)
    assert window.stack.currentWidget() is window.overview  # the fleet does not stay on screen


def cloud_plant(port: int) -> Any:
    """The test plant with a cloud section whose broker is not there (sync off, as shipped)."""
    data = plant().model_dump(mode="json", exclude_unset=True)
    data["cloud"] = {
        "host": "127.0.0.1",
        "port": port,
        "tenant": "acme",
        "site": "sp",
        "edge": "edge-01",
        "reconnect": {"initial": 0.1, "cap": 0.5, "jitter": 0.0},
    }
    return type(plant()).model_validate(data)


@pytest.mark.expect_log_warnings  # the forwarder warns that the broker refused the connection
def test_the_cloud_panel_shows_backlog_health_and_only_a_manager_may_switch(
    qtbot: QtBot, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = _fleet_fixtures().free_port()  # nothing listens: sync switched on keeps retrying
    with running_hmi(tmp_path, plant_config=cloud_plant(port)) as hmi:
        window = hmi.window
        panel = window.diagnostics.cloud
        assert panel.cloud is hmi.engine.cloud_sync is not None
        panel.refresh()
        assert "nothing leaves" in panel.status.text()
        assert panel.switch.text() == "Switch on"
        window.session.set_actor(Actor(name="ana", role=Role.OPERATOR))
        assert not panel.switch.isEnabled()
        assert "Only a manager" in panel.note.text()
        window.session.set_actor(Actor(name="carla", role=Role.ADMIN))
        assert panel.switch.isEnabled()
        panel.switch.click()
        qtbot.waitUntil(lambda: panel.enabled, timeout=10000)
        assert panel.switch.text() == "Switch off"
        # On, with no broker: not connected, retrying, the error shown; the switch was audited.
        qtbot.waitUntil(lambda: panel.health is not None and panel.health.retries >= 1, timeout=15000)
        qtbot.waitUntil(lambda: panel.values["error"].text() != "none", timeout=15000)
        assert "not connected" in panel.status.text()
        assert panel.values["rows"].text() != ""
        qtbot.waitUntil(panel.switch.isEnabled, timeout=10000)  # the switch is done (and audited)
        entries = [e for e in hmi.historian.audit_entries() if e.action == "switch_cloud_sync"]
        assert [(e.user, e.old, e.new, e.outcome) for e in entries] == [("carla", "off", "on", "done")]
        qtbot.waitUntil(panel.switch.isEnabled, timeout=10000)  # the switch is done (and audited)
        panel.switch.click()
        qtbot.waitUntil(lambda: not panel.enabled, timeout=10000)
        assert "nothing leaves" in panel.status.text()
    loud = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert loud and all(f"127.0.0.1:{port}" in message for message in loud), loud


def test_the_cloud_panel_says_when_the_plant_has_no_cloud_section(hmi: Hmi) -> None:
    panel = hmi.window.diagnostics.cloud
    panel.refresh()
    assert "no cloud section" in panel.status.text()
    assert not panel.switch.isVisibleTo(panel)
