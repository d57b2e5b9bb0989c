"""MTConnect: agents over HTTP (probe, current, sample), followed by sequence number without gaps."""

from linesight.drivers.mtconnect.driver import MTConnectConnection, MTConnectDriver, MTConnectFactory

FACTORY = MTConnectFactory()

__all__ = ["FACTORY", "MTConnectConnection", "MTConnectDriver", "MTConnectFactory"]
