"""Downtime reasons and rejects: the plant's reason tree, stops coded by operators, and the losses (pure).

A stop is a run of consecutive non-running time (stopped, idle, setup, no data) inside the shift's
timeline. The operator codes a stop, or a part of it, with a reason from the tree; a later coding of
the same time replaces an earlier one, so a stop can be split into parts with different reasons. A
reason marked planned (planned maintenance, no orders) turns its time into planned downtime for OEE,
as ISO 22400 counts it; every other reason stays a loss of availability.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Annotated

from pydantic import Field

from linesight.domain.machine import MachineState, StateSpan
from linesight.domain.schema import ConfigModel, Name

STOP_STATES = frozenset({MachineState.STOPPED, MachineState.IDLE, MachineState.SETUP, MachineState.UNKNOWN})
Colour = Annotated[str, Field(pattern=r"^#[0-9A-Fa-f]{6}$")]


class Labelled(ConfigModel):
    id: Name
    name: Annotated[str, Field(min_length=1)]
    # The name in other languages, keyed by Qt locale name (pt_BR); ``name`` is the English one.
    labels: dict[str, str] = Field(default_factory=dict)

    def label(self, language: str) -> str:
        return self.labels.get(language, self.name)


class ReasonConfig(Labelled):
    planned: bool | None = None  # None: as its category
    colour: Colour | None = None


class ReasonCategory(Labelled):
    planned: bool = False
    colour: Colour = "#8a8f98"
    reasons: list[ReasonConfig] = Field(min_length=1)


class RejectReasonConfig(Labelled):
    pass


@dataclass(frozen=True, kw_only=True)
class Reason:
    """A reason as the screens and OEE use it: its category's defaults applied."""

    id: str
    name: str
    labels: Mapping[str, str]
    category: str
    category_name: str
    category_labels: Mapping[str, str]
    planned: bool
    colour: str

    def label(self, language: str) -> str:
        return self.labels.get(language, self.name)

    def category_label(self, language: str) -> str:
        return self.category_labels.get(language, self.category_name)


class ReasonTree:
    """The reason tree of a plant: categories in file order, each reason found by its id."""

    def __init__(self, categories: Sequence[ReasonCategory]) -> None:
        self.categories = tuple(categories)
        self._reasons: dict[str, Reason] = {}
        for category in categories:
            for item in category.reasons:
                self._reasons[item.id] = Reason(
                    id=item.id,
                    name=item.name,
                    labels=dict(item.labels),
                    category=category.id,
                    category_name=category.name,
                    category_labels=dict(category.labels),
                    planned=category.planned if item.planned is None else item.planned,
                    colour=item.colour or category.colour,
                )

    def __contains__(self, reason_id: object) -> bool:
        return reason_id in self._reasons

    def __getitem__(self, reason_id: str) -> Reason:
        return self._reasons[reason_id]

    def reasons(self, category: str | None = None) -> list[Reason]:
        return [r for r in self._reasons.values() if category is None or r.category == category]


def tree_issues(categories: Sequence[ReasonCategory]) -> list[tuple[tuple[str | int, ...], str]]:
    """Reason ids must be unique across the tree: a coding names only the reason."""
    seen: dict[str, str] = {}
    issues: list[tuple[tuple[str | int, ...], str]] = []
    for c, category in enumerate(categories):
        if category.id in seen:
            issues.append(((c, "id"), f"'{category.id}' is already used by {seen[category.id]}"))
        seen.setdefault(category.id, f"category '{category.id}'")
        for r, item in enumerate(category.reasons):
            if item.id in seen:
                issues.append(((c, "reasons", r, "id"), f"'{item.id}' is already used by {seen[item.id]}"))
            seen.setdefault(item.id, f"reason '{item.id}' of category '{category.id}'")
    return issues


def _category(
    ident: str, name: str, pt: str, colour: str, reasons: list[tuple[str, str, str]], *, planned: bool = False
) -> ReasonCategory:
    return ReasonCategory(
        id=ident,
        name=name,
        labels={"pt_BR": pt},
        planned=planned,
        colour=colour,
        reasons=[ReasonConfig(id=i, name=n, labels={"pt_BR": p}) for i, n, p in reasons],
    )


def default_downtime_reasons() -> list[ReasonCategory]:
    """The reason tree a plant gets until its file has its own: the usual big losses."""
    return [
        _category(
            "breakdown",
            "Breakdown",
            "Quebra",
            "#b03a2e",
            [
                ("mechanical", "Mechanical failure", "Falha mecânica"),
                ("electrical", "Electrical failure", "Falha elétrica"),
                ("tooling", "Tool broken or worn", "Ferramenta quebrada ou gasta"),
            ],
        ),
        _category(
            "material",
            "Material",
            "Material",
            "#a04000",
            [
                ("no_material", "Waiting for material", "Aguardando material"),
                ("wrong_material", "Wrong or bad material", "Material errado ou ruim"),
            ],
        ),
        _category(
            "operator",
            "Operator",
            "Operador",
            "#7d6608",
            [
                ("no_operator", "No operator", "Sem operador"),
                ("adjustment", "Adjustment", "Ajuste"),
                ("quality_check", "Quality check", "Inspeção de qualidade"),
            ],
        ),
        _category(
            "setup",
            "Setup",
            "Setup",
            "#1f618d",
            [
                ("changeover", "Changeover", "Troca de produto"),
                ("tool_change", "Tool change", "Troca de ferramenta"),
            ],
        ),
        _category(
            "planned",
            "Planned",
            "Planejada",
            "#5d6d7e",
            [
                ("maintenance", "Planned maintenance", "Manutenção planejada"),
                ("no_orders", "No orders", "Sem pedidos"),
                ("meeting", "Meeting or training", "Reunião ou treinamento"),
            ],
            planned=True,
        ),
    ]


def default_reject_reasons() -> list[RejectReasonConfig]:
    return [
        RejectReasonConfig(id=i, name=n, labels={"pt_BR": p})
        for i, n, p in (
            ("dimension", "Out of dimension", "Fora de dimensão"),
            ("surface", "Surface defect", "Defeito de superfície"),
            ("assembly", "Assembly defect", "Defeito de montagem"),
            ("setup_scrap", "Setup scrap", "Refugo de setup"),
            ("other", "Other", "Outro"),
        )
    ]


@dataclass(frozen=True, kw_only=True)
class DowntimeCode:
    """An operator's coding of a machine's stop time; ``end`` None means "until the stop ends"."""

    machine: str
    start: datetime
    end: datetime | None
    reason: str
    user: str
    coded_at: datetime
    comment: str = ""

    def touches(self, start: datetime, end: datetime) -> bool:
        """Whether the coding reaches into [start, end); an open coding reaches to its stop's end."""
        return self.start < end and (self.end is None or self.end > start)


@dataclass(frozen=True, kw_only=True)
class RejectEntry:
    machine: str
    ts: datetime
    count: int
    reason: str
    user: str
    comment: str = ""


@dataclass(frozen=True, kw_only=True)
class StopPart:
    start: datetime
    end: datetime
    reason: str | None  # None: not coded yet

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True, kw_only=True)
class Stop:
    """A run of non-running time in a machine's timeline, and how it has been coded."""

    start: datetime
    end: datetime
    state: MachineState  # the state that held longest in the stop
    parts: tuple[StopPart, ...]
    open: bool = False  # still going on

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    @property
    def uncoded_s(self) -> float:
        return sum(part.seconds for part in self.parts if part.reason is None)

    @property
    def coded(self) -> bool:
        return self.uncoded_s == 0


def stops(
    spans: Sequence[StateSpan], codes: Iterable[DowntimeCode], *, now: datetime | None = None
) -> list[Stop]:
    """The stops of a timeline (in time order) with their codings applied, oldest first.

    ``now`` marks the last stop as still going on when it reaches ``now``.
    """
    runs: list[list[StateSpan]] = []
    for span in spans:
        if span.state not in STOP_STATES or span.end <= span.start:
            continue
        if runs and runs[-1][-1].end == span.start:
            runs[-1].append(span)
        else:
            runs.append([span])
    ordered = sorted(codes, key=lambda code: code.coded_at)
    found = []
    for run in runs:
        start, end = run[0].start, run[-1].end
        held: dict[MachineState, float] = {}
        for span in run:
            held[span.state] = held.get(span.state, 0.0) + (span.end - span.start).total_seconds()
        state = max(held, key=lambda s: held[s])
        parts = _coded_parts(start, end, ordered)
        still = now is not None and end >= now
        found.append(Stop(start=start, end=end, state=state, parts=parts, open=still))
    return found


def _coded_parts(start: datetime, end: datetime, codes: Sequence[DowntimeCode]) -> tuple[StopPart, ...]:
    """The stop [start, end) cut by the codings that touch it; later codings paint over earlier ones."""
    parts = [StopPart(start=start, end=end, reason=None)]
    for code in codes:
        if code.end is None and not start <= code.start < end:
            continue  # "until the stop ends" belongs to the stop it starts in
        lo = max(code.start, start)
        hi = min(code.end or end, end)
        if hi <= lo:
            continue
        painted: list[StopPart] = []
        for part in parts:
            if part.end <= lo or part.start >= hi:
                painted.append(part)
                continue
            if part.start < lo:
                painted.append(replace(part, end=lo))
            painted.append(StopPart(start=max(part.start, lo), end=min(part.end, hi), reason=code.reason))
            if part.end > hi:
                painted.append(replace(part, start=hi))
        parts = painted
    merged: list[StopPart] = []
    for part in parts:
        if merged and merged[-1].reason == part.reason and merged[-1].end == part.start:
            merged[-1] = replace(merged[-1], end=part.end)
        else:
            merged.append(part)
    return tuple(merged)


def coded_timeline(
    spans: Sequence[StateSpan], codes: Iterable[DowntimeCode], tree: ReasonTree
) -> list[StateSpan]:
    """The timeline with each stop cut at its codings; a part coded planned becomes PLANNED_STOP.

    A reason missing from the tree (the tree was edited after the coding) keeps its time a loss.
    """
    return cut_at_codings(spans, stops(spans, codes), tree)


def cut_at_codings(spans: Sequence[StateSpan], found: Sequence[Stop], tree: ReasonTree) -> list[StateSpan]:
    """``coded_timeline`` for stops already found from the same spans (no second pass over the codes)."""
    if not found:
        return list(spans)
    result: list[StateSpan] = []
    index = 0
    for span in spans:
        while index < len(found) and found[index].end <= span.start:
            index += 1
        stop = found[index] if index < len(found) and span.state in STOP_STATES else None
        if stop is None or not (stop.start <= span.start and span.end <= stop.end):
            result.append(span)
            continue
        for part in stop.parts:
            lo, hi = max(part.start, span.start), min(part.end, span.end)
            if hi <= lo:
                continue
            planned = part.reason in tree and tree[part.reason].planned if part.reason else False
            state = MachineState.PLANNED_STOP if planned else span.state
            result.append(StateSpan(start=lo, end=hi, state=state, reason=part.reason))
    return result
