"""Simulated devices that speak real protocols over the network, for demos and integration tests.

Unlike the ``simulator`` driver, which lives inside LineSight, these are servers a driver connects to:
the bytes on the wire are the protocol's. They sit beside the runtime (``linesight demo`` starts them)
and use the simulator's machine models, never the runtime, storage or the UI.
"""

from linesight.virtualplant.mtconnect_agent import DEFAULT_BUFFER_SIZE, MTConnectAgent, SimulatedMachine

__all__ = ["DEFAULT_BUFFER_SIZE", "MTConnectAgent", "SimulatedMachine"]
