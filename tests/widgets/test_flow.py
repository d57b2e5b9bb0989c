"""The flow layout: side by side while they fit, wrapped to a new row where the width ends."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from linesight.widgets.flow import FlowLayout


class Box(QWidget):
    def __init__(self, width: int, height: int) -> None:
        super().__init__()
        self._size = QSize(width, height)

    def sizeHint(self) -> QSize:
        return self._size


def test_widgets_sit_side_by_side_and_wrap_where_the_width_ends(qtbot: QtBot) -> None:
    host = QWidget()
    qtbot.addWidget(host)
    flow = FlowLayout(host, spacing=10)
    flow.setContentsMargins(0, 0, 0, 0)
    boxes = [Box(500, 200), Box(400, 150), Box(300, 100)]
    for box in boxes:
        flow.addWidget(box)
    assert [len(row) for row in flow.rows(1300)] == [3]
    assert [len(row) for row in flow.rows(1000)] == [2, 1]
    assert flow.heightForWidth(1000) == 200 + 10 + 100
    host.resize(1000, 400)
    host.show()
    qtbot.waitExposed(host)
    assert boxes[1].geometry().left() == 510 and boxes[1].height() == 200  # a row's frames line up
    assert boxes[2].geometry().top() == 210 and boxes[2].geometry().left() == 0


def test_a_row_of_buttons_keeps_whole_labels_and_can_sit_against_the_right_edge(qtbot: QtBot) -> None:
    host = QWidget()
    qtbot.addWidget(host)
    flow = FlowLayout(host, spacing=6, whole_items=True, align_right=True)
    flow.setContentsMargins(0, 0, 0, 0)
    boxes = [Box(200, 50), Box(300, 50), Box(100, 50)]
    for box in boxes:
        flow.addWidget(box)
    assert flow.sizeHint() == QSize(200 + 300 + 100 + 2 * 6, 50)  # all on one row
    assert flow.minimumSize().width() == 300  # never narrower than the widest label
    host.resize(520, 200)
    host.show()
    qtbot.waitExposed(host)
    # 200 + 6 + 300 fit in 520, against the right edge; the third goes on to the next row.
    assert [b.geometry().left() for b in boxes] == [520 - 506, 520 - 300, 520 - 100]
    assert [b.width() for b in boxes] == [200, 300, 100]
    assert boxes[2].geometry().top() == 56
