"""Protocol drivers: each knows one protocol and nothing of storage, UI or cloud."""
