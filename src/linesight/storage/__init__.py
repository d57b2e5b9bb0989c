"""The DuckDB historian: batched ingest with sequence numbers, rollups, retention, trend queries, export."""

from linesight.storage.historian import (
    Historian,
    HistorianStats,
    RetentionPolicy,
    RetentionResult,
    TagInfo,
    TrendSeries,
    default_historian_path,
    to_us,
)
from linesight.storage.resolution import Resolution

__all__ = [
    "Historian",
    "HistorianStats",
    "Resolution",
    "RetentionPolicy",
    "RetentionResult",
    "TagInfo",
    "TrendSeries",
    "default_historian_path",
    "to_us",
]
