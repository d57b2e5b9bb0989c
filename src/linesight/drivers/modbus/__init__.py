"""Modbus TCP: holding and input registers, coils, discrete inputs; coalesced reads (pymodbus)."""

from linesight.drivers.modbus.driver import ModbusConnection, ModbusDriver, ModbusFactory

FACTORY = ModbusFactory()

__all__ = ["FACTORY", "ModbusConnection", "ModbusDriver", "ModbusFactory"]
