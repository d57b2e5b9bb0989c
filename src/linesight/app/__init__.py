"""The Qt shell of LineSight: window, screens, kiosk mode, login, and the bridge to the runtime."""
