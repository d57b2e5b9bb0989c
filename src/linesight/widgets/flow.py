"""A layout that places its widgets left to right and wraps to a new row where the width ends.

The overview puts a plant's lines side by side with it: a small plant fits one screen without
scrolling, a large one wraps and scrolls. Each widget keeps its size hint; a row is as tall as its
tallest widget, and every widget in a row is stretched to that height so the frames line up.

Rows of buttons use it too (``whole_items=True``): on a 1024 px panel with the kiosk's font a row of
actions is wider than the screen, and a QHBoxLayout would squeeze each button below its label; here
they go on to a second row instead, and the layout is never narrower than its widest button.
"""

from __future__ import annotations

from PySide6.QtCore import QMargins, QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QLayout, QLayoutItem, QWidget


class FlowLayout(QLayout):
    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        spacing: int = 12,
        whole_items: bool = False,
        align_right: bool = False,
    ) -> None:
        """``whole_items``: never narrower than the widest item's size hint (labels are not cut);
        ``align_right``: each row against the right edge (a header's buttons)."""
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._gap = spacing
        self._whole = whole_items
        self._right = align_right

    # ------------------------------------------------------------------ QLayout

    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._arrange(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._arrange(rect, move=True)

    def sizeHint(self) -> QSize:
        if not self._whole:
            return self.minimumSize()
        shown = [item for item in self._items if not item.isEmpty()]  # all of them on one row
        width = sum(item.sizeHint().width() for item in shown) + self._gap * max(len(shown) - 1, 0)
        height = max((item.sizeHint().height() for item in shown), default=0)
        margins = self.contentsMargins()
        return QSize(width + margins.left() + margins.right(), height + margins.top() + margins.bottom())

    def minimumSize(self) -> QSize:
        size = QSize()
        for item in self._items:
            if self._whole and item.isEmpty():
                continue
            size = size.expandedTo(item.sizeHint() if self._whole else item.minimumSize())
        margins: QMargins = self.contentsMargins()
        return size + QSize(margins.left() + margins.right(), margins.top() + margins.bottom())

    # ------------------------------------------------------------------ placing

    def rows(self, width: int) -> list[list[QLayoutItem]]:
        """The items of each row at ``width`` (inside the margins)."""
        rows: list[list[QLayoutItem]] = [[]]
        used = 0
        for item in self._items:
            if item.isEmpty():
                continue
            wanted = item.sizeHint().width()
            if rows[-1] and used + self._gap + wanted > width:
                rows.append([])
                used = 0
            used += (self._gap if rows[-1] else 0) + wanted
            rows[-1].append(item)
        return [row for row in rows if row]

    def _arrange(self, rect: QRect, *, move: bool) -> int:
        margins = self.contentsMargins()
        inner = rect.adjusted(margins.left(), margins.top(), -margins.right(), -margins.bottom())
        y = inner.y()
        for row in self.rows(inner.width()):
            height = max(item.sizeHint().height() for item in row)
            x = inner.x()
            if self._right:
                used = sum(min(item.sizeHint().width(), inner.width()) for item in row)
                x += max(inner.width() - used - self._gap * (len(row) - 1), 0)
            for item in row:
                width = min(item.sizeHint().width(), inner.width())
                if move:
                    item.setGeometry(QRect(QPoint(x, y), QSize(width, height)))
                x += width + self._gap
            y += height + self._gap
        bottom = y - (self._gap if y > inner.y() else 0)
        return bottom - rect.y() + margins.bottom()
