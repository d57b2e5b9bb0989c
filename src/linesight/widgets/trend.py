"""The trend plot of the live machine screen and the history screen: lines, min/max bands and a cursor.

Live screens hand it copies of the live cache's rings up to 30 times a second and it follows the
newest point. History screens hand it a historian answer decimated to the plot's width, drawn as a
min/max band around the average so that a one-sample spike is never averaged away, and re-query
when ``rangeChanged`` says the user zoomed or panned.
"""

from __future__ import annotations

import html
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
import shiboken6
from PySide6.QtCore import QDateTime, QEvent, QLocale, QObject, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QMouseEvent, QPainter, QPainterPath, QPalette
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from linesight.storage.resolution import US_PER_S
from linesight.widgets import texts
from linesight.widgets.palette import LIGHT, Palette

if TYPE_CHECKING:
    from linesight.storage.historian import TrendSeries

FloatArray = npt.NDArray[np.float64]

MAX_SERIES = 8
# A wheel turn or a drag is a burst of range changes: one rangeChanged after a pause of a frame. The
# history screen keeps one query in flight (the newest range wins), so a pause within a drag costs at
# most one extra query, and shows the new data while the drag goes on; a longer wait shows on every
# gesture (target: input to repaint of the new data in 100 ms; 150 ms measured 287 ms, 30 ms 101 ms).
RANGE_DEBOUNCE_MS = 16
# The live cache keeps 10 minutes at 1 Hz (runtime.live.RING_POINTS).
DEFAULT_LIVE_WINDOW_S = 600.0
# Below a second the time axis has nothing left to say and float seconds since 1970 lose precision.
MIN_X_RANGE_S = 1.0
# A band is its line's colour mixed with the plot's background at this weight (of 255), painted
# opaque and below every line: blending a translucent fill was 14.6 of a 15.2 ms repaint (4 bands of
# 1,000 buckets), opaque 6.1 ms, and a pan repaints on every step. Where two bands overlap the later
# one covers the earlier; the lines always stay on top.
BAND_ALPHA = 64
BAND_Z = -10
# Narrower buckets on screen are painted as rectangles, wider ones as a polygon (see _Band).
DENSE_BUCKET_PX = 3.0
# Axis and readout text must be readable from 2 m on a panel PC; the application font may be smaller.
MIN_POINT_SIZE = 11.0

_NO_VALUE = "—"


@dataclass(frozen=True, kw_only=True)
class SeriesSpec:
    """One line of a trend: a tag and how it is labelled."""

    key: str  # the tag key, as show_live/show_envelope name it
    label: str  # already translated by the caller (it comes from the plant file)
    unit: str = ""
    colour_index: int | None = None  # into Palette.trend_lines; None: the series' position
    decimals: int = 1  # of the cursor readout
    # A longer interval between two points is drawn as a break (no data). None: only NaN values break
    # the line, because on-change (OPC UA, MTConnect) tags have long gaps that are not missing data.
    max_gap_s: float | None = None


@dataclass(eq=False)
class _Series:
    spec: SeriesSpec
    colour: str
    line: _Line  # the values, or the average of each bucket
    band: _Band
    x: FloatArray = field(default_factory=lambda: np.zeros(0))  # seconds, as given (no breaks added)
    value: FloatArray = field(default_factory=lambda: np.zeros(0))
    lo_values: FloatArray | None = None  # set while the series shows an envelope
    hi_values: FloatArray | None = None
    bucket_s: float = 0.0


class _LocalTimeAxis(pg.DateAxisItem):  # type: ignore[misc]
    """A time axis in the computer's local time, labelled by Qt in the current locale.

    pyqtgraph places the ticks on local-time boundaries (it asks QDateTime for the offset, so DST is
    followed), but names days and months with strftime, which speaks the C locale: "Tue", never "ter.".
    """

    _QT_FORMATS: ClassVar[dict[str, str]] = {
        "%Y": "yyyy",
        "%b": "MMM",
        "%d": "d",
        "%a %d": "ddd d",
        "%H:%M": "HH:mm",
        "%H:%M:%S": "HH:mm:ss",
        "%S.%f": "ss.zzz",
    }

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        spec = next((s for s in self.zoomLevel.tickSpecs if s.spacing == spacing), None)
        qt_format = None if spec is None else self._QT_FORMATS.get(spec.format)
        if qt_format is None:
            strings: list[str] = super().tickStrings(values, scale, spacing)
            return strings
        locale = QLocale()
        return [locale.toString(local_time(value), qt_format) for value in values]


class _LocaleAxis(pg.AxisItem):  # type: ignore[misc]
    """A value axis with the locale's separators (1.234,5 in Portuguese), as the cursor readout."""

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        step = spacing * scale
        places = max(0, math.ceil(-math.log10(step))) if step > 0 and math.isfinite(step) else 0
        return [texts.number(float(value) * scale, places) for value in values]


class _Line(pg.PlotCurveItem):  # type: ignore[misc]
    """A series' line: its data as given, drawn peak-downsampled to about a min and a max a pixel.

    pyqtgraph's PlotDataItem can do the same (clipToView, autoDownsample), but does it again for every
    curve at every view change: while following live, each frame did it twice (the data, then the
    move), and each step of a pan once. Here the data is decimated when it arrives and when the view's
    scale has settled (TrendPlot._decimate), and its bounds are kept with it: PlotCurveItem measures
    them again after every view change, and the ViewBox measures the visible part at every repaint.
    """

    def __init__(self) -> None:
        super().__init__(antialias=False, connect="finite")  # NaN (bad quality, no data) breaks it
        self._x: FloatArray = np.zeros(0)  # as given (oldest first), with NaN rows at the breaks
        self._y: FloatArray = np.zeros(0)
        self._factor = 1
        self._bounds: tuple[tuple[float, float], tuple[float, float]] | None = None

    def set_source(self, x: FloatArray, y: FloatArray, factor: int) -> None:
        self._x, self._y, self._factor = x, y, factor
        finite = y[np.isfinite(y)]
        self._bounds = None
        if finite.size:
            self._bounds = ((float(x[0]), float(x[-1])), (float(finite.min()), float(finite.max())))
        self._draw()

    def set_factor(self, factor: int) -> None:
        if factor != self._factor:
            self._factor = factor
            self._draw()

    def _draw(self) -> None:
        x, y = _peaks(self._x, self._y, self._factor)
        self.setData(x=x, y=y)

    def getOriginalDataset(self) -> tuple[FloatArray, FloatArray]:
        """The data as given (with NaN where a gap breaks it); ``getData`` is what is drawn."""
        return self._x, self._y

    def dataBounds(
        self, ax: int, frac: float = 1.0, orthoRange: Sequence[float] | None = None
    ) -> tuple[float | None, float | None]:
        if self._bounds is None:
            return None, None
        if ax == 0 or orthoRange is None:
            return self._bounds[ax]
        # The values within a time range (the ViewBox fits the value axis to the visible part).
        first = int(np.searchsorted(self._x, orthoRange[0], side="left"))
        last = int(np.searchsorted(self._x, orthoRange[1], side="right"))
        part = self._y[first:last]
        part = part[np.isfinite(part)]
        if not part.size:
            return None, None
        return float(part.min()), float(part.max())


def _peaks(x: FloatArray, y: FloatArray, factor: int) -> tuple[FloatArray, FloatArray]:
    """A group's lowest and highest value for each ``factor`` samples (pyqtgraph's peak mode), so
    that a one-sample spike stays; a NaN in a group breaks the line there. The groups end at the
    newest sample, which is always drawn (pyqtgraph drops the samples that do not fill a group)."""
    groups = x.size // factor
    if factor <= 1 or groups == 0:
        return x, y
    rest = x.size - groups * factor  # the oldest samples: one shorter group of their own
    values = y[rest:].reshape(groups, factor)
    times = x[rest + factor // 2 :: factor][:groups]  # a middle sample's time for each group
    peak_x = np.repeat(times, 2)
    peak_y = np.empty((groups, 2))
    peak_y[:, 0] = values.max(axis=1)
    peak_y[:, 1] = values.min(axis=1)
    if rest:
        head = y[:rest]
        peak_x = np.concatenate((np.repeat(x[rest // 2], 2), peak_x))
        peak_y = np.concatenate(((head.max(), head.min()), peak_y.reshape(-1)))
    return peak_x, peak_y.reshape(-1)


class _Band(pg.GraphicsObject):  # type: ignore[misc]
    """A series' min/max band: over each bucket, its lowest to its highest sample.

    Painted as a rectangle per bucket while the buckets are narrower than DENSE_BUCKET_PX on screen,
    which is how the historian answers (at the plot's width), and as one polygon from bucket to bucket
    when zoomed in further. Qt's polygon fill slows down with the edges each pixel row crosses: a
    noisy band of 1,008 buckets (7 days of a tag that swings every few minutes) took 20 ms to fill,
    four of them 45 ms a repaint; the same buckets as rectangles take 0.3 ms. Only the rectangles'
    look differs, by less than a pixel at that density.

    The band gives the view its value range (the visible buckets' lowest and highest) and keeps its
    arrays whatever the view: a pan or zoom moves it without rebuilding anything.
    """

    def __init__(self) -> None:
        super().__init__()
        self._x: FloatArray = np.zeros(0)  # bucket starts, NaN rows where the band breaks
        self._low: FloatArray = np.zeros(0)
        self._high: FloatArray = np.zeros(0)
        self._width_s = 0.0  # a bucket's width, for the last bucket and after a break
        self._rects: FloatArray = np.zeros((0, 4))  # x, y, width, height per finite bucket
        self._outline: QPainterPath | None = None  # built when first needed
        self._bounds: tuple[tuple[float, float], tuple[float, float]] | None = None
        self._brush = QBrush(QColor("#c0c0c0"))

    def set_data(self, x: FloatArray, low: FloatArray, high: FloatArray, bucket_s: float) -> None:
        """Buckets from their start times (oldest first), with NaN rows where the band breaks."""
        self.prepareGeometryChange()
        self._x, self._low, self._high = x, low, high
        finite = np.isfinite(x) & np.isfinite(low) & np.isfinite(high)
        spacing = np.diff(x[finite]) if finite.sum() > 1 else np.zeros(0)
        self._width_s = bucket_s if bucket_s > 0 else (float(np.median(spacing)) if spacing.size else 0.0)
        # A bucket reaches to the next one (as the polygon does, across missing buckets of a series
        # without max_gap_s), or its own width before a break and at the end.
        right = x + self._width_s
        follows = finite[:-1] & finite[1:]
        right[:-1][follows] = x[1:][follows]
        rects = np.empty((int(finite.sum()), 4))
        rects[:, 0] = x[finite]
        rects[:, 1] = low[finite]
        rects[:, 2] = right[finite] - x[finite]
        rects[:, 3] = high[finite] - low[finite]
        self._rects = rects
        self._outline = None
        if rects.shape[0]:
            self._bounds = (
                (float(rects[:, 0].min()), float((rects[:, 0] + rects[:, 2]).max())),
                (float(rects[:, 1].min()), float((rects[:, 1] + rects[:, 3]).max())),
            )
        else:
            self._bounds = None
        self.informViewBoundsChanged()
        self.update()

    def setBrush(self, brush: QColor | QBrush) -> None:
        self._brush = QBrush(brush)
        self.update()

    def brush(self) -> QBrush:
        return self._brush

    def path(self) -> QPainterPath:
        """The outline: one closed polygon per run of finite buckets."""
        if self._outline is None:
            self._outline = _band_path(self._x, self._low, self._high, Qt.FillRule.WindingFill)
        return self._outline

    def dataBounds(
        self, ax: int, frac: float = 1.0, orthoRange: Sequence[float] | None = None
    ) -> tuple[float | None, float | None]:
        # What the ViewBox asks to fit the value axis to the visible time range (setAutoVisible).
        if self._bounds is None:
            return None, None
        if ax == 0 or orthoRange is None:
            return self._bounds[ax]
        rects = self._rects
        visible = (rects[:, 0] + rects[:, 2] >= orthoRange[0]) & (rects[:, 0] <= orthoRange[1])
        if not visible.any():
            return None, None
        shown = rects[visible]
        return float(shown[:, 1].min()), float((shown[:, 1] + shown[:, 3]).max())

    def boundingRect(self) -> QRectF:
        if self._bounds is None:
            return QRectF()
        (left, right), (bottom, top) = self._bounds
        return QRectF(left, bottom, right - left, top - bottom)

    def paint(self, painter: QPainter, *_args: object) -> None:
        if self._bounds is None:
            return
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self._brush)
        px_per_s = abs(painter.worldTransform().m11())
        bucket_px = self._width_s * px_per_s
        if not 0 < bucket_px < DENSE_BUCKET_PX:
            painter.drawPath(self.path())
            return
        rects = self._rects
        if bucket_px < 1:
            # Without antialiasing a rectangle fills the pixels whose centre it covers: narrower than
            # a pixel, it may fill none, and a spike in a bucket would vanish when zoomed out.
            rects = rects.copy()
            np.maximum(rects[:, 2], 1 / px_per_s, out=rects[:, 2])
        # Qt reads the rectangles in place, straight from the array (kept referenced until it returns):
        # a QRectF per bucket built in Python took 2.4 ms for 1,000 buckets.
        first = cast(QRectF, shiboken6.wrapInstance(rects.ctypes.data, QRectF))
        painter.drawRects(first, rects.shape[0])


def _band_path(x: FloatArray, low: FloatArray, high: FloatArray, rule: Qt.FillRule) -> QPainterPath:
    """One closed polygon per run of finite points: along the lower edge, back along the upper one."""
    finite = np.isfinite(x) & np.isfinite(low) & np.isfinite(high)
    if not finite.any():
        return QPainterPath()
    edges = np.flatnonzero(np.diff(np.concatenate(([False], finite, [False])).astype(np.int8)))
    xs: list[FloatArray] = []
    ys: list[FloatArray] = []
    for start, end in zip(edges[::2], edges[1::2], strict=True):
        xs += [x[start:end], x[start:end][::-1]]
        ys += [low[start:end], high[start:end][::-1]]
    px, py = np.concatenate(xs), np.concatenate(ys)
    connect = np.ones(px.size, dtype=np.int32)
    connect[np.cumsum([part.size for part in xs[1::2]]) * 2 - 1] = 0  # the last point of each polygon
    path: QPainterPath = pg.arrayToQPath(px, py, connect=connect)
    path.setFillRule(rule)
    return path


def band_colour(line: str, background: str) -> str:
    """The opaque colour of a min/max band: ``line`` over ``background`` at BAND_ALPHA."""
    top, bottom = QColor(line), QColor(background)
    weight = BAND_ALPHA / 255

    def mix(a: int, b: int) -> int:
        return round(a * weight + b * (1 - weight))

    return QColor(
        mix(top.red(), bottom.red()), mix(top.green(), bottom.green()), mix(top.blue(), bottom.blue())
    ).name()


def local_time(seconds: float) -> QDateTime:
    """A UTC time in seconds since the epoch as a QDateTime in the computer's local time zone."""
    return QDateTime.fromMSecsSinceEpoch(round(seconds * 1000))


class TrendPlot(QWidget):
    """Up to 8 series on one value axis against local time, live or from the historian.

    Time comes in as UTC microseconds (int64 arrays, oldest first) and is plotted as float seconds
    since the epoch, which keeps sub-microsecond precision for the coming centuries.

    ``rangeChanged(start_us, end_us, width_px)`` fires RANGE_DEBOUNCE_MS after the last change of a user
    gesture (wheel, drag, or a call on the ViewBox from outside this class), after ``set_range``,
    after "reset view", and after a resize while the view is not following live: whenever the
    history behind the view must be fetched again at the plot's width. Following live never emits
    it (that would be 30 queries a second); ``followingChanged`` says when following stops or resumes.
    """

    rangeChanged = Signal("qlonglong", "qlonglong", int)  # type: ignore[arg-type]  # µs beyond 32 bits: Signal(int) overflows
    followingChanged = Signal(bool)

    def __init__(self, parent: QWidget | None = None, *, palette: Palette = LIGHT) -> None:
        super().__init__(parent)
        self._palette = palette
        self._series: dict[str, _Series] = {}
        self._live_window_s: float | None = DEFAULT_LIVE_WINDOW_S  # None: history mode
        self._following = True
        self._home_range: tuple[float, float] | None = None  # the last set_range, for "reset view"
        self._newest_s: float | None = None
        self._applying = 0  # > 0 while this class moves the view itself
        self._batch = 0  # > 0 while show_trends hands over several series
        self._fit_pending = False  # the value axis is to be fitted to the live window (_fit_values)
        self._cursor_x: float | None = None
        self._cursor_pinned = False  # placed by a tap: stays when the pointer leaves
        self._pointer_y: float | None = None  # viewport pixels; None: the label sits at the top
        self._cursor_plain = ""
        self._date_caption = ""
        self._value_caption = ""
        self._caption_point_size = MIN_POINT_SIZE

        self._time_axis = _LocalTimeAxis(orientation="bottom")
        self._value_axis = _LocaleAxis(orientation="left")
        self._value_axis.enableAutoSIPrefix(False)  # the unit is in the legend: "12k" would hide it
        self._plot = pg.PlotWidget(
            parent=self, axisItems={"bottom": self._time_axis, "left": self._value_axis}
        )
        self._plot.setAntialiasing(False)
        self._item = self._plot.getPlotItem()
        self._view = self._item.getViewBox()
        self._item.setMenuEnabled(False)  # an operator panel has no right button and no use for it
        self._item.hideButtons()
        self._item.showGrid(x=True, y=True)
        for axis in (self._time_axis, self._value_axis):
            axis.setStyle(tickAlpha=255)  # the grid in palette.grid exactly, not faded by density
        # Grid lines only at labelled values: minor lines every unit turned the plot into graph paper.
        self._value_axis.setStyle(maxTickLevel=0)
        self._view.setMouseEnabled(x=True, y=False)
        self._view.disableAutoRange(axis=pg.ViewBox.XAxis)
        self._view.enableAutoRange(axis=pg.ViewBox.YAxis, enable=True)
        self._view.setAutoVisible(y=True)
        self._view.setLimits(minXRange=MIN_X_RANGE_S)

        self._cursor_line = pg.InfiniteLine(angle=90, movable=False)
        self._cursor_line.hide()
        self._view.addItem(self._cursor_line, ignoreBounds=True)
        self._cursor_label = QLabel(self._plot.viewport())
        self._cursor_label.setObjectName("trendCursor")
        self._cursor_label.setTextFormat(Qt.TextFormat.RichText)
        self._cursor_label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self._cursor_label.hide()

        self._legend = QLabel(self)
        self._legend.setObjectName("trendLegend")
        self._legend.setTextFormat(Qt.TextFormat.RichText)
        self._legend.setWordWrap(True)
        self._follow_button = QPushButton(self)
        self._follow_button.setObjectName("trendFollow")
        self._follow_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        policy = self._follow_button.sizePolicy()
        policy.setRetainSizeWhenHidden(True)  # the legend must not jump when the button shows
        self._follow_button.setSizePolicy(policy)
        self._follow_button.hide()
        self._follow_button.clicked.connect(self.reset_view)

        header = QHBoxLayout()
        header.setContentsMargins(0, 0, 0, 0)
        header.addWidget(self._legend, 1)
        header.addWidget(self._follow_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 4)
        layout.setSpacing(4)
        layout.addLayout(header)
        layout.addWidget(self._plot, 1)
        self._legend.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(RANGE_DEBOUNCE_MS)
        self._debounce.timeout.connect(self._emit_range)
        self._cursor_moved = QTimer(self)
        self._cursor_moved.setSingleShot(True)
        self._cursor_moved.setInterval(0)
        self._cursor_moved.timeout.connect(self._refresh_cursor)

        self._apply_fonts()
        self.apply_palette(palette)
        self._retranslate()
        self._apply_follow()
        self._choose_value_fit()
        # After the ViewBox's own handler (connected when it joined the scene): see _fit_values.
        self._plot.scene().sigPrepareForPaint.connect(self._fit_values)
        # Connected last: the ranges set while building are not the user's.
        self._view.sigXRangeChanged.connect(self._on_x_range_changed)
        self._view.sigResized.connect(self._on_view_resized)
        # Pointer moves come from the viewport, not from the scene's sigMouseMoved: that one is
        # rate-limited and drops the last move of a burst, leaving the cursor short of the pointer.
        self._plot.viewport().installEventFilter(self)
        self._plot.scene().sigMouseClicked.connect(self._on_mouse_clicked)

    # ------------------------------------------------------------------ series and data

    def set_series(self, series: Sequence[SeriesSpec]) -> None:
        """Replace the series (and drop their data); at most 8, each key once."""
        if len(series) > MAX_SERIES:
            raise ValueError(f"a trend shows at most {MAX_SERIES} series, got {len(series)}")
        keys = [spec.key for spec in series]
        if len(set(keys)) != len(keys):
            raise ValueError(f"each series key may appear once in a trend: {keys}")
        for old in self._series.values():
            for item in (old.band, old.line):
                self._item.removeItem(item)
        self._series = {}
        self._newest_s = None
        lines = self._palette.trend_lines
        for position, spec in enumerate(series):
            index = position if spec.colour_index is None else spec.colour_index
            colour = lines[index % len(lines)]
            line = _Line()
            band = _Band()
            band.hide()
            self._item.addItem(band)  # it gives the view the bounds of its visible buckets
            self._item.addItem(line)
            self._series[spec.key] = _Series(spec=spec, colour=colour, line=line, band=band)
        self._style_series()
        self._update_legend()
        self._update_value_caption()
        self._refresh_cursor()

    def series(self) -> list[SeriesSpec]:
        return [entry.spec for entry in self._series.values()]

    def curve(self, key: str) -> Any:
        """The pg.PlotCurveItem of a series' line (the average when it shows an envelope);
        ``getData()`` is what it draws, ``getOriginalDataset()`` what it was given."""
        return self._entry(key).line

    def point_count(self, key: str) -> int:
        """How many points (samples, or buckets of an envelope) a series holds now."""
        return int(self._entry(key).x.size)

    def band(self, key: str) -> Any:
        """The graphics item of a series' min/max band (hidden while it shows live data); its
        ``path()`` is the band's outline."""
        return self._entry(key).band

    @property
    def view_box(self) -> Any:
        """The pg.ViewBox: range changes made on it from outside count as the user's."""
        return self._view

    def show_live(self, key: str, ts_us: npt.ArrayLike, values: npt.ArrayLike) -> None:
        """Replace a series' data with samples (UTC µs, oldest first); NaN values break the line."""
        entry = self._entry(key)
        x = _seconds(ts_us)
        y = _floats(values, x.size, "values")
        if (
            entry.lo_values is None
            and np.array_equal(x, entry.x)
            and np.array_equal(y, entry.value, equal_nan=True)
        ):
            # The ring has not changed since the last frame (a 1 Hz tag is read up to 30 times a
            # second): the same data again would only repaint all the same pixels.
            return
        entry.x, entry.value, entry.bucket_s = x, y, 0.0
        if entry.lo_values is not None:
            entry.lo_values = entry.hi_values = None
            entry.band.hide()
            entry.band.set_data(np.zeros(0), np.zeros(0), np.zeros(0), 0.0)
        shown_x, (shown_y,) = _with_breaks(x, (y,), _gap_limit(entry.spec, 0.0))
        entry.line.set_source(shown_x, shown_y, self._downsampling(x))
        self._data_arrived(x)

    def show_envelope(
        self,
        key: str,
        ts_us: npt.ArrayLike,
        lo: npt.ArrayLike,
        hi: npt.ArrayLike,
        avg: npt.ArrayLike,
        *,
        bucket_us: int = 0,
    ) -> None:
        """Replace a series' data with buckets: a min/max band around the average line.

        A bucket of one sample has lo == hi == avg, so the band collapses onto the line. ``bucket_us``
        (TrendSeries.bucket_us) lets a missing bucket be told from the next one when the series has a
        ``max_gap_s``, and tells the cursor how far a bucket reaches.
        """
        entry = self._entry(key)
        x = _seconds(ts_us)
        low = _floats(lo, x.size, "lo")
        high = _floats(hi, x.size, "hi")
        mean = _floats(avg, x.size, "avg")
        entry.x, entry.value, entry.lo_values, entry.hi_values = x, mean, low, high
        entry.bucket_s = max(0, bucket_us) / US_PER_S
        shown_x, (shown_lo, shown_hi, shown_avg) = _with_breaks(
            x, (low, high, mean), _gap_limit(entry.spec, entry.bucket_s)
        )
        entry.band.set_data(shown_x, shown_lo, shown_hi, entry.bucket_s)
        entry.line.set_source(shown_x, shown_avg, self._downsampling(x))
        entry.band.setVisible(x.size > 0)
        self._data_arrived(x)

    def show_trend(self, key: str, trend: TrendSeries) -> None:
        """A historian answer for one tag, as ``show_envelope``."""
        self.show_envelope(key, trend.ts_us, trend.min, trend.max, trend.avg, bucket_us=trend.bucket_us)

    def show_trends(self, trends: Mapping[str, TrendSeries]) -> None:
        """Historian answers for several tags, as ``show_trend`` each; the cursor readout is written
        once (its text and size cost about a millisecond, and a history answer has up to 8 tags)."""
        self._batch += 1
        try:
            for key, trend in trends.items():
                self.show_trend(key, trend)
        finally:
            self._batch -= 1
        self._refresh_cursor()

    def _data_arrived(self, x: FloatArray) -> None:
        if x.size:
            newest = float(x[-1])
            if self._newest_s is None or newest > self._newest_s:
                self._newest_s = newest
                if self._following:
                    self._apply_follow()
        self._fit_pending = self._following
        if not self._batch:
            self._refresh_cursor()

    def _entry(self, key: str) -> _Series:
        try:
            return self._series[key]
        except KeyError:
            raise KeyError(f"no series {key!r} in this trend; set_series() names them") from None

    def _downsampling(self, x: FloatArray) -> int:
        """The peak-downsampling factor that draws ``x`` with about a min and a max a pixel in the
        view: the live window while following, else the visible range."""
        width = float(self._view.width())  # 0 until the widget is laid out (then it resizes)
        if x.size < 2 or not x[-1] > x[0] or width <= 0:
            return 1
        if self._following and self._live_window_s is not None:
            span = self._live_window_s
        else:
            start, end = self._view.viewRange()[0]
            span = end - start
        spacing = (x[-1] - x[0]) / (x.size - 1)
        return max(1, int(span / spacing / width))

    def _decimate(self, entry: _Series) -> None:
        """Decimate a line for the view again: when a gesture ends, on a resize, when following
        starts. A pan changes nothing, and a zoom shows the previous decimation until its gesture
        ends (as a history view shows the previous answer)."""
        entry.line.set_factor(self._downsampling(entry.x))

    def _decimate_all(self) -> None:
        for entry in self._series.values():
            self._decimate(entry)

    # ------------------------------------------------------------------ the visible range

    def set_live_window(self, seconds: float) -> None:
        """Show the last ``seconds`` and follow the newest point until the user pans or zooms."""
        if not seconds > 0:
            raise ValueError(f"a live window must be longer than 0 s, got {seconds}")
        self._live_window_s = float(seconds)
        self._home_range = None
        self._set_following(True)

    def set_range(self, start_us: int, end_us: int) -> None:
        """Show [start, end) (history mode) and emit ``rangeChanged`` once, so the screen queries it."""
        if end_us <= start_us:
            raise ValueError(f"the end of a trend range must be after its start ({start_us}, {end_us})")
        self._live_window_s = None
        self._home_range = (start_us / US_PER_S, end_us / US_PER_S)
        self._set_following(False)
        self._follow_button.hide()
        self._retranslate_button()
        self._set_x_range(*self._home_range)
        self._debounce.start()

    def reset_view(self) -> None:
        """What the button does: follow live again, or go back to the range of the last set_range."""
        if self._live_window_s is not None:
            self._set_following(True)
        elif self._home_range is not None:
            start, end = self._home_range
            self.set_range(round(start * US_PER_S), round(end * US_PER_S))

    @property
    def is_following(self) -> bool:
        return self._following

    def visible_range_us(self) -> tuple[int, int]:
        start, end = self._view.viewRange()[0]
        return round(start * US_PER_S), round(end * US_PER_S)

    def plot_width(self) -> int:
        """The width of the data area in pixels: one historian bucket per pixel is enough."""
        return max(1, round(float(self._view.width())))

    def _set_following(self, following: bool) -> None:
        changed = following != self._following
        self._following = following
        if following:
            self._follow_button.hide()
            self._apply_follow()
            self._decimate_all()  # for the live window
        self._choose_value_fit()
        if changed:
            self.followingChanged.emit(following)

    def _choose_value_fit(self) -> None:
        # While following, this class fits the value axis (_fit_values); otherwise the ViewBox's
        # auto-range fits it to what is visible, as the user pans and zooms.
        if self._following:
            self._view.disableAutoRange(axis=pg.ViewBox.YAxis)
            self._fit_pending = True
            self._view.update()
        else:
            self._view.enableAutoRange(axis=pg.ViewBox.YAxis, enable=True)

    def _fit_values(self) -> None:
        """While following, fit the value axis to the live window's data before a repaint, as the
        ViewBox's auto-range would (the visible part, its padding), unless both ends would move by
        less than a pixel.

        The auto-range measures every curve again at every repaint, and its answer moved by a hair
        at almost every frame (a counter's newest value is its maximum): the value axis was laid out
        again and the plot painted twice per frame, for no visible change.
        """
        if not (self._fit_pending and self._following):
            return
        self._fit_pending = False
        start, end = self._view.viewRange()[0]
        low, high = math.inf, -math.inf
        for entry in self._series.values():
            for item in (entry.line, entry.band):
                if item.isVisible():
                    item_low, item_high = item.dataBounds(1, orthoRange=(start, end))
                    if item_low is not None and item_high is not None:
                        low, high = min(low, item_low), max(high, item_high)
        if low > high:
            return  # nothing to show yet
        bottom, top = self._view.viewRange()[1]
        if high > low:
            padding = (high - low) * self._view.suggestPadding(pg.ViewBox.YAxis)
            low, high = low - padding, high + padding
        else:  # a flat line: centred at the present scale, as ViewBox.setRange does
            half = (top - bottom) / 2
            low, high = low - half, high + half
        pixel = (top - bottom) / max(1.0, float(self._view.height()))
        if abs(low - bottom) < pixel and abs(high - top) < pixel:
            return
        self._view.setYRange(low, high, padding=0)
        self._view.updateMatrix()  # this repaint is already under way: it must use the new range

    def _apply_follow(self) -> None:
        if self._live_window_s is None:
            return
        newest = self._newest_s if self._newest_s is not None else time.time()
        end = newest
        width = float(self._view.width())
        if width > 0:
            # The view moves in whole pixels: the newest point stays in the last pixel column, and a
            # frame whose point does not reach the next column leaves the view, its axes and the
            # curves' bounds as they were (an hour on 533 pixels: a move every 7th frame at 1 Hz).
            pixel_s = self._live_window_s / width
            end = math.ceil(newest / pixel_s) * pixel_s
        self._set_x_range(end - self._live_window_s, end)

    def _set_x_range(self, start_s: float, end_s: float) -> None:
        self._applying += 1
        try:
            self._view.setXRange(start_s, end_s, padding=0)
        finally:
            self._applying -= 1
        self._update_date_caption()

    def _on_x_range_changed(self, _view: object, _range: object) -> None:
        self._update_date_caption()
        self._place_cursor()
        if self._applying:
            return
        # The user zoomed or panned (or someone drove the ViewBox as a mouse would).
        self._set_following(False)
        self._retranslate_button()
        self._follow_button.show()
        self._debounce.start()

    def _on_view_resized(self, _view: object) -> None:
        self._place_cursor()
        self._decimate_all()
        self._fit_pending = self._following
        if not self._following:
            self._debounce.start()  # the history behind the view is needed at the new width

    def _emit_range(self) -> None:
        self._decimate_all()  # the gesture is over: the lines at the new scale
        start, end = self.visible_range_us()
        self.rangeChanged.emit(start, end, self.plot_width())

    # ------------------------------------------------------------------ cursor readout

    def set_cursor(self, ts_us: int | None) -> None:
        """Put the cursor at a time (UTC µs), or remove it (None); what a tap does."""
        self._cursor_pinned = ts_us is not None
        self._cursor_x = None if ts_us is None else ts_us / US_PER_S
        self._pointer_y = None
        self._refresh_cursor()

    def cursor_text(self) -> str:
        """The readout as plain text, a line each: the local time, then each series with data."""
        if self._cursor_moved.isActive():
            self._refresh_cursor()
        return self._cursor_plain

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._plot.viewport():
            if event.type() == QEvent.Type.MouseMove and isinstance(event, QMouseEvent):
                self._on_mouse_moved(self._plot.mapToScene(event.position().toPoint()))
            elif event.type() == QEvent.Type.Leave and not self._cursor_pinned:
                self._move_cursor(None, None)
        return super().eventFilter(watched, event)

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        if self._view.sceneBoundingRect().contains(scene_pos):
            self._move_cursor(self._view.mapSceneToView(scene_pos).x(), self._pointer_of(scene_pos))
        elif not self._cursor_pinned:
            self._move_cursor(None, None)

    def _on_mouse_clicked(self, event: Any) -> None:
        # A tap on a touch panel arrives as a click: it pins the cursor where the finger was.
        scene_pos = event.scenePos()
        if self._view.sceneBoundingRect().contains(scene_pos):
            self._cursor_pinned = True
            self._move_cursor(self._view.mapSceneToView(scene_pos).x(), self._pointer_of(scene_pos))

    def _pointer_of(self, scene_pos: QPointF) -> float:
        return float(self._plot.mapFromScene(scene_pos).y())

    def _move_cursor(self, x: float | None, pointer_y: float | None) -> None:
        # The pointer's moves are written out once the events at hand are handled: a drag sends
        # several moves between two repaints, and the readout's text and size took about 0.5 ms each.
        self._cursor_x = x
        self._pointer_y = pointer_y
        self._cursor_moved.start()

    def _refresh_cursor(self) -> None:
        self._cursor_moved.stop()
        x = self._cursor_x
        if x is None:
            self._cursor_line.hide()
            self._cursor_label.hide()
            self._cursor_plain = ""
            return
        self._cursor_line.setValue(x)
        self._cursor_line.show()
        rows: list[tuple[str | None, str]] = [(None, _time_text(x))]
        for entry in self._series.values():
            if entry.x.size:
                rows.append((entry.colour, f"{entry.spec.label}: {_value_text(entry, x)}"))
        self._cursor_plain = "\n".join(text for _colour, text in rows)
        self._cursor_label.setText("<br>".join(self._legend_row(colour, text) for colour, text in rows))
        self._cursor_label.adjustSize()
        self._cursor_label.show()
        self._place_cursor()

    def _place_cursor(self) -> None:
        if self._cursor_x is None:
            return
        scene_pos = self._view.mapViewToScene(QPointF(self._cursor_x, self._view.viewRange()[1][1]))
        at = self._plot.mapFromScene(scene_pos)
        view_rect = self._plot.mapFromScene(self._view.sceneBoundingRect()).boundingRect()
        label = self._cursor_label
        left = at.x() + 8
        if left + label.width() > view_rect.right():
            left = at.x() - 8 - label.width()  # near the right edge: show it on the left of the line
        if self._pointer_y is None:
            top = view_rect.top() + 4
        else:
            # Beside the pointer, which the operator moves off what the label would hide (a fixed
            # place at the top hid exactly the spikes a trend is read for). Above it first: the
            # arrow and a finger both point down.
            top = round(self._pointer_y) - 12 - label.height()
            if top < view_rect.top():
                top = round(self._pointer_y) + 20
            top = max(view_rect.top(), min(top, view_rect.bottom() - label.height()))
        label.move(max(view_rect.left(), left), top)
        label.raise_()

    # ------------------------------------------------------------------ look

    def apply_palette(self, palette: Palette) -> None:
        """Recolour everything: background, axes, grid, text, series, band, cursor, button."""
        self._palette = palette
        qt_palette = self.palette()
        qt_palette.setColor(QPalette.ColorRole.Window, QColor(palette.panel))
        qt_palette.setColor(QPalette.ColorRole.WindowText, QColor(palette.text))
        self.setPalette(qt_palette)
        self.setAutoFillBackground(True)
        self._plot.setBackground(palette.panel)
        for axis in (self._time_axis, self._value_axis):
            axis.setPen(pg.mkPen(palette.border, width=1))
            axis.setTickPen(pg.mkPen(palette.grid, width=1))
            axis.setTextPen(pg.mkPen(palette.text_muted))
        self._cursor_line.setPen(pg.mkPen(palette.text_muted, width=1))
        self._legend.setStyleSheet(f"color: {palette.text}; background: transparent;")
        self._cursor_label.setStyleSheet(
            f"QLabel#trendCursor {{ color: {palette.text}; background: {palette.panel_raised};"
            f" border: 1px solid {palette.border}; padding: 4px 6px; }}"
        )
        self._follow_button.setStyleSheet(
            f"QPushButton#trendFollow {{ color: {palette.text}; background: {palette.panel_raised};"
            f" border: 1px solid {palette.border}; border-radius: 4px; padding: 6px 16px;"
            " min-height: 28px; }"
            f" QPushButton#trendFollow:pressed {{ background: {palette.border}; }}"
        )
        lines = palette.trend_lines
        for position, entry in enumerate(self._series.values()):
            index = position if entry.spec.colour_index is None else entry.spec.colour_index
            entry.colour = lines[index % len(lines)]
        self._style_series()
        self._update_legend()
        self._update_axis_captions()
        self._refresh_cursor()

    @property
    def current_palette(self) -> Palette:
        return self._palette

    def _style_series(self) -> None:
        for entry in self._series.values():
            entry.line.setPen(pg.mkPen(entry.colour, width=1))
            entry.band.setBrush(QColor(band_colour(entry.colour, self._palette.panel)))
            entry.band.setZValue(BAND_Z)

    def _apply_fonts(self) -> None:
        font = QFont(self.font())
        if font.pointSizeF() < MIN_POINT_SIZE:
            font.setPointSizeF(MIN_POINT_SIZE)
        for axis in (self._time_axis, self._value_axis):
            axis.setStyle(tickFont=font)
        for widget in (self._legend, self._cursor_label, self._follow_button):
            widget.setFont(font)
        self._caption_point_size = font.pointSizeF()
        self._update_axis_captions()

    def _legend_row(self, colour: str | None, text: str) -> str:
        swatch = "" if colour is None else f'<span style="color:{colour}">━━</span>&nbsp;'
        return swatch + html.escape(text).replace(" ", "&nbsp;")

    def _update_legend(self) -> None:
        entries = []
        for entry in self._series.values():
            if entry.spec.unit:
                name = texts.translate("TrendPlot", "%1 (%2)", "series label (unit) in the legend")
                name = name.replace("%1", entry.spec.label).replace("%2", entry.spec.unit)
            else:
                name = entry.spec.label
            entries.append(self._legend_row(entry.colour, name))
        self._legend.setText(" &emsp; ".join(entries))
        self._legend.setVisible(bool(entries))

    def _update_value_caption(self) -> None:
        # One value axis: it names the unit when all series share one; otherwise the legend does.
        units = {entry.spec.unit for entry in self._series.values()}
        caption = units.pop() if len(units) == 1 else ""
        if caption != self._value_caption:
            self._value_caption = caption
            self._update_axis_captions()

    def _update_date_caption(self) -> None:
        # The ticks show hours and minutes; the date (and year) of the visible range is said once here.
        start, end = self._view.viewRange()[0]
        locale = QLocale()
        first = locale.toString(local_time(start).date(), QLocale.FormatType.ShortFormat)
        last = locale.toString(local_time(end).date(), QLocale.FormatType.ShortFormat)
        caption = first if first == last else f"{first} – {last}"
        if caption != self._date_caption:
            self._date_caption = caption
            self._update_axis_captions()

    def _update_axis_captions(self) -> None:
        style = {"color": self._palette.text_muted, "font-size": f"{self._caption_point_size:g}pt"}
        self._time_axis.setLabel(self._date_caption, **style)
        self._value_axis.setLabel(self._value_caption, **style)

    # ------------------------------------------------------------------ language

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.LanguageChange, QEvent.Type.LocaleChange):
            self._retranslate()
        elif event.type() == QEvent.Type.FontChange:
            self._apply_fonts()
        super().changeEvent(event)

    def _retranslate(self) -> None:
        self._retranslate_button()
        self._update_legend()
        self._date_caption = ""  # month and day names may have changed: rebuild
        self._update_date_caption()
        for axis in (self._time_axis, self._value_axis):
            axis.setStyle()  # drops the cached tick labels
        self._refresh_cursor()

    def _retranslate_button(self) -> None:
        if self._live_window_s is not None:
            self._follow_button.setText(texts.translate("TrendPlot", "Follow live"))
            self._follow_button.setToolTip(texts.translate("TrendPlot", "Show the newest values again"))
        else:
            self._follow_button.setText(texts.translate("TrendPlot", "Reset view"))
            self._follow_button.setToolTip(texts.translate("TrendPlot", "Go back to the chosen time range"))

    # ------------------------------------------------------------------ snapshot

    def save_png(self, path: str | Path) -> None:
        """Save what the widget shows (legend, plot, cursor) as a PNG."""
        target = Path(path)
        if not self.grab().save(str(target), "PNG"):
            raise OSError(f"could not save the trend snapshot to {target}")


def _seconds(ts_us: npt.ArrayLike) -> FloatArray:
    us = np.asarray(ts_us)
    if us.ndim != 1:
        raise ValueError(f"timestamps must be a 1-D array, got shape {us.shape}")
    return us.astype(np.float64) / US_PER_S


def _floats(values: npt.ArrayLike, size: int, name: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (size,):
        raise ValueError(f"{name} must have one value per timestamp ({size}), got shape {array.shape}")
    return array


def _gap_limit(spec: SeriesSpec, bucket_s: float) -> float | None:
    return None if spec.max_gap_s is None else bucket_s + spec.max_gap_s


def _with_breaks(
    x: FloatArray, columns: tuple[FloatArray, ...], limit_s: float | None
) -> tuple[FloatArray, tuple[FloatArray, ...]]:
    """The data with a NaN point inserted in every interval longer than ``limit_s`` (vectorised)."""
    if limit_s is None or x.size < 2:
        return x, columns
    after = np.flatnonzero(np.diff(x) > limit_s) + 1
    if after.size == 0:
        return x, columns
    middle = (x[after - 1] + x[after]) / 2
    return np.insert(x, after, middle), tuple(np.insert(column, after, np.nan) for column in columns)


def _time_text(x: float) -> str:
    moment = local_time(x)
    # 24-hour time with seconds, as on the axis; the date in the locale's own order.
    date = QLocale().toString(moment.date(), QLocale.FormatType.ShortFormat)
    return f"{date} {moment.toString('HH:mm:ss')}"


def _value_text(entry: _Series, x: float) -> str:
    index = _index_at(entry, x)
    if index is None:
        return _NO_VALUE
    decimals = entry.spec.decimals
    if entry.lo_values is not None and entry.hi_values is not None:
        low, high = float(entry.lo_values[index]), float(entry.hi_values[index])
        if math.isfinite(low) and math.isfinite(high) and low != high:
            span = texts.translate("TrendPlot", "%1 – %2", "min – max of a bucket at the cursor")
            text = span.replace("%1", texts.number(low, decimals)).replace("%2", texts.number(high, decimals))
            return f"{text} {entry.spec.unit}".rstrip()
    value = float(entry.value[index])
    if not math.isfinite(value):
        return _NO_VALUE
    return f"{texts.number(value, decimals)} {entry.spec.unit}".rstrip()


def _index_at(entry: _Series, x: float) -> int | None:
    """The sample nearest the cursor, or the bucket it falls in; None outside the data."""
    times = entry.x
    count = times.size
    if entry.lo_values is not None:
        index = int(np.searchsorted(times, x, side="right")) - 1
        if index < 0:
            return None
        reach = entry.bucket_s if entry.bucket_s > 0 else _interval(times, index)
        return index if x - times[index] <= reach else None
    after = int(np.searchsorted(times, x))
    if after == 0:
        return 0 if times[0] - x <= _interval(times, 0) else None
    if after == count:
        return count - 1 if x - times[-1] <= _interval(times, count - 1) else None
    return after if times[after] - x < x - times[after - 1] else after - 1


def _interval(times: FloatArray, index: int) -> float:
    """How far a sample reaches at the ends of the data: the interval to its neighbour."""
    if times.size < 2:
        return 0.0
    neighbour = index + 1 if index + 1 < times.size else index - 1
    return abs(float(times[neighbour] - times[index]))
