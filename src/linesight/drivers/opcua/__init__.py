"""OPC UA (asyncua): subscriptions or polling, source timestamps, security None or Basic256Sha256."""

from linesight.drivers.opcua.driver import OpcUaConnection, OpcUaDriver, OpcUaFactory

FACTORY = OpcUaFactory()

__all__ = ["FACTORY", "OpcUaConnection", "OpcUaDriver", "OpcUaFactory"]
