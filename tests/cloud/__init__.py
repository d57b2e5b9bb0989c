"""Cloud sync tests: codec, forwarder against a real Mosquitto, the sync toggle."""
