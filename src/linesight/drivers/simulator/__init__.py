"""Simulated CNCs, presses, packaging machines and ovens: seeded, deterministic, 1–100 Hz per tag."""

from linesight.drivers.simulator.driver import SimulatorConnection, SimulatorDriver, SimulatorFactory

FACTORY = SimulatorFactory()

__all__ = ["FACTORY", "SimulatorConnection", "SimulatorDriver", "SimulatorFactory"]
