"""The virtual OPC UA line keeps OPC UA's standard address space in the user's cache: a fast start."""

from __future__ import annotations

from pathlib import Path

import pytest
from asyncua import ua

from linesight.virtualplant import opcua_packaging


async def _server_name(server: opcua_packaging.Server) -> str:
    name = await server.get_node(ua.ObjectIds.Server).read_browse_name()
    return str(name.Name)


async def test_the_address_space_is_cached_once_and_read_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    shelf = opcua_packaging._address_space_shelf()
    assert shelf is not None and shelf.is_relative_to(tmp_path)
    built = await opcua_packaging._initialised_server()
    assert shelf.exists()  # what asyncua looks for before it reads the shelf
    cached = await opcua_packaging._initialised_server()
    assert await _server_name(built) == await _server_name(cached) == "Server"


async def test_a_broken_cache_is_built_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    await opcua_packaging._initialised_server()
    shelf = opcua_packaging._address_space_shelf()
    assert shelf is not None
    for part in shelf.parent.glob(shelf.name + "*"):
        part.write_bytes(b"not a shelf")
    server = await opcua_packaging._initialised_server()
    assert await _server_name(server) == "Server"
    assert "unreadable" in caplog.text
