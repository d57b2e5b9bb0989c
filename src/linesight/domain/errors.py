"""The error vocabulary shared by every layer; drivers translate their library's errors into these."""

from __future__ import annotations


class LineSightError(Exception):
    """Root of every error LineSight raises on purpose; the message is meant for a person."""


class ConfigError(LineSightError):
    """A plant file or setting is wrong; the message names the place."""


class DriverError(LineSightError):
    """Root of the errors a driver raises at its boundary."""


class DeviceUnreachable(DriverError):
    """The device did not answer or the connection could not be made or was lost."""


class DeviceTimeout(DeviceUnreachable):
    """The device did not answer within the configured timeout."""


class BadAddress(DriverError):
    """The device answered, but refused one tag's address (illegal address, unknown node...)."""

    def __init__(self, message: str, *, tags: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.tags = tags


class HistorianError(LineSightError):
    """The historian file cannot be opened, read or written; the message names the file."""


class PermissionDenied(LineSightError):
    """The user's role may not do this; the refusal is audited."""


class InvalidEntry(LineSightError):
    """What a person entered (a reason, a count, a time) is refused; the message says what and why."""
