"""LineSight: a shop-floor operator application (PLC/CNC polling, historian, OEE, alarms, cloud sync)."""

__version__ = "0.1.0"
