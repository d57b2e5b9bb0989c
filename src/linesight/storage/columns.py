"""Column tables for DuckDB: a dict of NumPy arrays, one per column.

DuckDB scans such a dict in place (``cursor.register(name, columns)``) and hands query results back in
the same shape (``fetchnumpy``), so the historian needs no other columnar library. A NULL is a masked
element of a ``numpy.ma.MaskedArray``; strings are object arrays (``None`` is NULL there too).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

Columns = Mapping[str, npt.NDArray[Any]]


def strings(values: Iterable[str | None]) -> npt.NDArray[np.object_]:
    """A VARCHAR column (``None`` is NULL)."""
    items = list(values)
    column = np.empty(len(items), dtype=object)
    column[:] = items  # element-wise: a list of equal-length strings must not become a 2-D array
    return column


def optional(values: Iterable[Any], dtype: npt.DTypeLike) -> npt.NDArray[Any]:
    """A numeric column in which ``None`` is NULL (masked only when there is one)."""
    items = list(values)
    missing = [item is None for item in items]
    if not any(missing):
        return np.array(items, dtype=dtype)
    filled = [0 if item is None else item for item in items]
    return np.ma.masked_array(np.array(filled, dtype=dtype), mask=missing)


def timestamps_us(values: Iterable[int | None]) -> npt.NDArray[Any]:
    """A TIMESTAMP column from UTC microseconds since the epoch (``None`` is NULL)."""
    column = optional(values, np.int64)
    if isinstance(column, np.ma.MaskedArray):
        return np.ma.masked_array(column.data.view("datetime64[us]"), mask=column.mask)
    return column.view("datetime64[us]")


def as_timestamps(column: Any, name: str = "ts") -> npt.NDArray[Any]:
    """A TIMESTAMP column from what a caller passed: datetime64 of any unit, or int64 microseconds."""
    array = np.asarray(column)
    if array.dtype.kind == "M":
        return array.astype("datetime64[us]")
    if array.dtype.kind in "iu":
        return array.astype(np.int64).view("datetime64[us]")
    raise TypeError(f"column {name!r}: expected datetime64 or int64 microseconds, got {array.dtype}")
