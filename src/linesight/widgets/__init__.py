"""Reusable Qt widgets of the HMI: trend plot, OEE gauge, machine tile, state timeline, keypad, palette."""
