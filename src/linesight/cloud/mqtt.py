"""What the edge's forwarder and the backend's consumer both need of aiomqtt beyond its public API."""

from __future__ import annotations

import asyncio

import aiomqtt


def reading_disconnects(client: aiomqtt.Client) -> aiomqtt.Client:
    """``client``, with the reason of a lost connection marked as seen whenever it comes.

    aiomqtt keeps that reason in a future that nothing reads when the connection drops while no call
    waits on it (a broker restart during a quiet moment, or a stop): asyncio then logs "Future
    exception was never retrieved" when the future is collected. A callback reads it as it completes,
    however late that is.
    """
    lost = getattr(client, "_disconnected", None)
    if isinstance(lost, asyncio.Future):
        lost.add_done_callback(_seen)
    return client


def _seen(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()
