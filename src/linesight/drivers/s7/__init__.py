"""Siemens S7 over ISO-on-TCP: DB, M, I, Q areas, struct layouts, multi-variable reads (python-snap7)."""

from linesight.drivers.s7.driver import S7Connection, S7Driver, S7Factory

FACTORY = S7Factory()

__all__ = ["FACTORY", "S7Connection", "S7Driver", "S7Factory"]
