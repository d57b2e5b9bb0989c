"""The behaviour of a simulated machine as a pure, seeded function of time (no I/O, no clock).

A machine moves through states (running, idle, fault stop, micro-stop, setup, planned stop) whose
durations are drawn from log-normal distributions; while running it completes cycles, each a little
slower than ideal, and some parts are rejects. Analogue signals follow the state: spindle speed and
feed jump, temperatures approach their target with a first-order lag, energy integrates power.
Noise is a hash of (seed, signal, time), so the same seed read at the same times gives the same values
whatever the reading pattern was; the event timeline uses a seeded ``random.Random``.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from linesight.domain.machine import MachineState

Value = bool | int | float | str

STATE_CODES: Mapping[MachineState, int] = {
    MachineState.RUNNING: 1,
    MachineState.IDLE: 2,
    MachineState.STOPPED: 3,
    MachineState.SETUP: 4,
    MachineState.PLANNED_STOP: 5,
}

# (execution, controller mode) the way an MTConnect agent reports each state.
_EXECUTION: Mapping[MachineState, tuple[str, str]] = {
    MachineState.RUNNING: ("ACTIVE", "AUTOMATIC"),
    MachineState.IDLE: ("READY", "AUTOMATIC"),
    MachineState.STOPPED: ("STOPPED", "AUTOMATIC"),
    MachineState.SETUP: ("READY", "MANUAL"),
    MachineState.PLANNED_STOP: ("STOPPED", "MANUAL"),
}

_MASK64 = (1 << 64) - 1
_DRIFT_PERIOD_S = 6 * 3600.0


def _mix(x: int) -> int:
    """splitmix64's finaliser: a fast, well-spread 64-bit hash of an integer."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


# Bell-shaped noise values in (-1, 1) (sums of two uniforms), looked up by a cheap hash of signal and time:
# the simulator draws one per simulated value, up to hundreds of thousands a second.
_NOISE_BITS = 16
_NOISE_TABLE = tuple(
    ((h & 0xFFFFFFFF) + (h >> 32)) / 4294967296.0 - 1.0 for h in (_mix(i) for i in range(1 << _NOISE_BITS))
)
_NOISE_MASK = (1 << _NOISE_BITS) - 1


def noise(key: int, t: float) -> float:
    """Deterministic noise in (-1, 1), bell-shaped, for signal ``key`` at time ``t`` (1 ms resolution)."""
    return _NOISE_TABLE[((key ^ int(t * 1000.0)) * 0x9E3779B1 >> 7) & _NOISE_MASK]


# ---------------------------------------------------------------------- profiles


@dataclass(frozen=True, kw_only=True)
class Duration:
    """A log-normal duration: ``median`` seconds, ``spread`` the sigma of its logarithm, clamped."""

    median: float
    spread: float
    low: float
    high: float

    def draw(self, rng: random.Random) -> float:
        return min(self.high, max(self.low, self.median * math.exp(rng.gauss(0.0, self.spread))))


@dataclass(frozen=True, kw_only=True)
class Level:
    """A value that follows the state at once: a target per state, scaled in cutting, plus noise."""

    running: float
    other: Mapping[MachineState, float] = field(default_factory=dict)
    noise: float = 0.0  # relative amplitude
    per_program: bool = False  # the running target depends on the active program
    only_cutting: bool = False  # zero during the load/unload part of each cycle
    wear: float = 0.0  # relative growth from a fresh tool to the end of its life
    per_cycle: bool = False  # ``running`` is a share of the ideal rate in cycles per minute


@dataclass(frozen=True, kw_only=True)
class Thermal:
    """A temperature that approaches its state's target with time constant ``tau`` seconds."""

    targets: Mapping[MachineState, float]
    tau: float
    noise: float = 0.05  # absolute °C
    drift: float = 0.0  # amplitude of a slow (6 h) drift in °C
    setpoint: str | None = None  # a writable signal that replaces the running/idle/stopped target


@dataclass(frozen=True, kw_only=True)
class Alarm:
    code: int
    text: str


@dataclass(frozen=True, kw_only=True)
class Profile:
    name: str
    ideal_cycle_s: float
    reject_rate: float
    cycle_slowdown: float  # mean relative extra time per cycle (performance loss)
    load_fraction: float  # share of each cycle spent loading and unloading
    durations: Mapping[MachineState | str, Duration]
    transitions: Mapping[MachineState, tuple[tuple[MachineState | str, float], ...]]
    power_kw: Mapping[MachineState, float]
    levels: Mapping[str, Level]
    thermals: Mapping[str, Thermal]
    writable: Mapping[str, float]  # writable signal → initial value
    faults: tuple[Alarm, ...]
    warnings: tuple[Alarm, ...]
    warning_every_s: float
    programs: tuple[str, ...]
    tool_life_parts: int = 400

    def signals(self) -> dict[str, type]:
        """Every address this profile answers, with the Python type of its value."""
        found: dict[str, type] = {
            "state_code": int,
            "running": bool,
            "fault": bool,
            "execution": str,
            "controller_mode": str,
            "program": str,
            "part_count": int,
            "reject_count": int,
            "good_count": int,
            "cycle_time": float,
            "energy_kwh": float,
            "alarm_code": int,
            "alarm_text": str,
        }
        found.update(dict.fromkeys(self.levels, float))
        found.update(dict.fromkeys(self.thermals, float))
        found.update(dict.fromkeys(self.writable, float))
        return found


MICRO_STOP = "micro_stop"  # a short unplanned stop (jam, sensor, operator away) with no fault alarm

_S = MachineState
_COMMON_DURATIONS: Mapping[MachineState | str, Duration] = {
    _S.RUNNING: Duration(median=20 * 60, spread=0.6, low=60, high=3 * 3600),
    _S.IDLE: Duration(median=3 * 60, spread=0.7, low=20, high=40 * 60),
    _S.STOPPED: Duration(median=6 * 60, spread=0.8, low=60, high=90 * 60),
    MICRO_STOP: Duration(median=45, spread=0.4, low=10, high=110),
    _S.SETUP: Duration(median=18 * 60, spread=0.3, low=5 * 60, high=60 * 60),
    _S.PLANNED_STOP: Duration(median=25 * 60, spread=0.3, low=10 * 60, high=60 * 60),
}
_COMMON_TRANSITIONS: Mapping[MachineState, tuple[tuple[MachineState | str, float], ...]] = {
    _S.RUNNING: (
        (_S.IDLE, 0.30),
        (_S.STOPPED, 0.25),
        (MICRO_STOP, 0.30),
        (_S.SETUP, 0.08),
        (_S.PLANNED_STOP, 0.07),
    ),
    _S.IDLE: ((_S.RUNNING, 0.8), (_S.SETUP, 0.2)),
    _S.STOPPED: ((_S.RUNNING, 0.85), (_S.IDLE, 0.15)),
    _S.SETUP: ((_S.RUNNING, 1.0),),
    _S.PLANNED_STOP: ((_S.RUNNING, 0.6), (_S.IDLE, 0.4)),
}

PROFILES: dict[str, Profile] = {
    "cnc": Profile(
        name="cnc",
        ideal_cycle_s=45.0,
        reject_rate=0.02,
        cycle_slowdown=0.08,
        load_fraction=0.12,
        durations=_COMMON_DURATIONS,
        transitions=_COMMON_TRANSITIONS,
        power_kw={_S.RUNNING: 18.0, _S.IDLE: 4.0, _S.STOPPED: 2.5, _S.SETUP: 3.0, _S.PLANNED_STOP: 1.2},
        levels={
            "spindle_speed": Level(running=8000.0, noise=0.004, per_program=True, only_cutting=True),
            "feed_rate": Level(running=2200.0, noise=0.01, per_program=True, only_cutting=True),
            "spindle_load": Level(running=38.0, noise=0.05, only_cutting=True, wear=0.35),
        },
        thermals={
            "spindle_temp": Thermal(
                targets={
                    _S.RUNNING: 41.0,
                    _S.IDLE: 31.0,
                    _S.STOPPED: 27.0,
                    _S.SETUP: 28.0,
                    _S.PLANNED_STOP: 25.0,
                },
                tau=900.0,
                drift=0.6,
            ),
            "coolant_temp": Thermal(
                targets={
                    _S.RUNNING: 24.5,
                    _S.IDLE: 22.0,
                    _S.STOPPED: 21.5,
                    _S.SETUP: 21.5,
                    _S.PLANNED_STOP: 21.0,
                },
                tau=1800.0,
                drift=0.8,
            ),
        },
        writable={"feed_override": 100.0},
        faults=(
            Alarm(code=1001, text="SV0401 SERVO V-READY OFF"),
            Alarm(code=1002, text="SP9012 SPINDLE OVERLOAD"),
            Alarm(code=1003, text="EX1034 TOOL BREAKAGE DETECTED"),
            Alarm(code=1004, text="EX1101 DOOR INTERLOCK OPEN"),
            Alarm(code=1005, text="EX1207 CHIP CONVEYOR JAM"),
        ),
        warnings=(
            Alarm(code=2001, text="EX2051 COOLANT LEVEL LOW"),
            Alarm(code=2002, text="EX2060 LUBRICATION PRESSURE LOW"),
            Alarm(code=2003, text="EX2077 TOOL LIFE NEARLY EXPIRED"),
        ),
        warning_every_s=2 * 3600.0,
        programs=("O1001", "O1002", "O2040", "O3105", "O4410"),
    ),
    "press": Profile(
        name="press",
        ideal_cycle_s=3.0,
        reject_rate=0.015,
        cycle_slowdown=0.1,
        load_fraction=0.0,
        durations=_COMMON_DURATIONS,
        transitions=_COMMON_TRANSITIONS,
        power_kw={_S.RUNNING: 35.0, _S.IDLE: 9.0, _S.STOPPED: 6.0, _S.SETUP: 7.0, _S.PLANNED_STOP: 2.0},
        levels={
            "stroke_rate": Level(running=0.92, noise=0.01, per_cycle=True),
            "tonnage": Level(running=172.0, noise=0.02, per_program=True),
            "hydraulic_pressure": Level(
                running=185.0, other={_S.IDLE: 60.0, _S.SETUP: 40.0, _S.STOPPED: 15.0}, noise=0.01
            ),
        },
        thermals={
            "oil_temp": Thermal(
                targets={
                    _S.RUNNING: 49.0,
                    _S.IDLE: 43.0,
                    _S.STOPPED: 38.0,
                    _S.SETUP: 38.0,
                    _S.PLANNED_STOP: 32.0,
                },
                tau=2400.0,
                drift=0.5,
            ),
        },
        writable={},
        faults=(
            Alarm(code=3001, text="E310 LIGHT CURTAIN INTERRUPTED"),
            Alarm(code=3002, text="E322 DIE PROTECTION MISFEED"),
            Alarm(code=3003, text="E340 OVERLOAD TRIPPED"),
            Alarm(code=3004, text="E351 HYDRAULIC PRESSURE LOW"),
        ),
        warnings=(
            Alarm(code=4001, text="W410 COIL END APPROACHING"),
            Alarm(code=4002, text="W415 OIL FILTER DIRTY"),
        ),
        warning_every_s=3 * 3600.0,
        programs=("FERR-2210", "FERR-2230", "SUP-0455", "TAMPA-118"),
        tool_life_parts=20000,
    ),
    "packaging": Profile(
        name="packaging",
        ideal_cycle_s=0.5,
        reject_rate=0.01,
        cycle_slowdown=0.12,
        load_fraction=0.0,
        durations=_COMMON_DURATIONS,
        transitions=_COMMON_TRANSITIONS,
        power_kw={_S.RUNNING: 12.0, _S.IDLE: 7.5, _S.STOPPED: 6.5, _S.SETUP: 5.0, _S.PLANNED_STOP: 1.0},
        levels={
            "line_speed": Level(running=0.9, noise=0.015, per_cycle=True),
            "film_tension": Level(running=118.0, other={_S.IDLE: 35.0, _S.STOPPED: 20.0}, noise=0.03),
        },
        thermals={
            "sealer_temp": Thermal(
                targets={_S.SETUP: 150.0, _S.PLANNED_STOP: 45.0},
                tau=300.0,
                noise=0.3,
                setpoint="sealer_setpoint",
            ),
        },
        writable={"sealer_setpoint": 165.0},
        faults=(
            Alarm(code=5001, text="F12 FILM BREAK"),
            Alarm(code=5002, text="F19 PRODUCT JAM AT INFEED"),
            Alarm(code=5003, text="F27 SEALER TEMPERATURE OUT OF RANGE"),
        ),
        warnings=(Alarm(code=6001, text="A05 FILM REEL LOW"), Alarm(code=6002, text="A09 LABEL STOCK LOW")),
        warning_every_s=1.5 * 3600.0,
        programs=("PCT-500G", "PCT-1KG", "FARDO-12X"),
        tool_life_parts=1_000_000,
    ),
    "oven": Profile(
        name="oven",
        ideal_cycle_s=20.0,
        reject_rate=0.005,
        cycle_slowdown=0.05,
        load_fraction=0.0,
        durations=_COMMON_DURATIONS,
        transitions=_COMMON_TRANSITIONS,
        power_kw={_S.RUNNING: 120.0, _S.IDLE: 95.0, _S.STOPPED: 80.0, _S.SETUP: 90.0, _S.PLANNED_STOP: 30.0},
        levels={"conveyor_speed": Level(running=0.8, noise=0.01, per_program=True)},
        thermals={
            f"zone{zone}_temp": Thermal(
                targets={_S.PLANNED_STOP: 600.0},
                tau=1800.0,
                noise=0.8,
                drift=1.5,
                setpoint=f"zone{zone}_setpoint",
            )
            for zone in (1, 2, 3)
        },
        writable={"zone1_setpoint": 850.0, "zone2_setpoint": 880.0, "zone3_setpoint": 860.0},
        faults=(
            Alarm(code=7001, text="TC-2 THERMOCOUPLE OPEN"),
            Alarm(code=7002, text="BURNER 3 FLAME FAILURE"),
            Alarm(code=7003, text="CONVEYOR MOTOR OVERCURRENT"),
        ),
        warnings=(
            Alarm(code=8001, text="ATMOSPHERE DEW POINT HIGH"),
            Alarm(code=8002, text="GAS PRESSURE LOW"),
        ),
        warning_every_s=4 * 3600.0,
        programs=("TEMPERA-A", "TEMPERA-B", "RECOZIMENTO"),
        tool_life_parts=1_000_000,
    ),
}


# ---------------------------------------------------------------------- the timeline


@dataclass(kw_only=True)
class _Segment:
    start: float
    end: float
    state: MachineState
    micro: bool = False
    alarm: Alarm | None = None
    program: int = 0
    parts_before: int = 0
    rejects_before: int = 0
    energy_before: float = 0.0
    power_kw: float = 0.0
    parts_since_setup_before: int = 0
    # For running segments: the end time of each completed cycle and the rejects counted by then.
    cycle_ends: list[float] = field(default_factory=list)
    rejects_cum: list[int] = field(default_factory=list)

    def counts_at(self, t: float) -> tuple[int, int]:
        done = bisect.bisect_right(self.cycle_ends, t)
        rejects = self.rejects_cum[done - 1] if done else 0
        return self.parts_before + done, self.rejects_before + rejects


@dataclass(kw_only=True)
class _Anchor:
    """A first-order lag's value ``value`` at time ``at``, heading for ``target``."""

    at: float
    value: float
    target: float


class MachineModel:
    """One simulated machine. Time only moves forward; ``advance_to`` then read values with ``value``."""

    def __init__(
        self,
        profile: Profile,
        *,
        seed: int,
        start: float,
        ideal_cycle_s: float | None = None,
        reject_rate: float | None = None,
        time_scale: float = 1.0,
    ) -> None:
        self.profile = profile
        self.seed = seed
        self.ideal_cycle_s = ideal_cycle_s or profile.ideal_cycle_s
        self.reject_rate = profile.reject_rate if reject_rate is None else reject_rate
        self._wall_start = start
        self._time_scale = time_scale
        self._rng = random.Random(f"linesight-sim/{profile.name}/{seed}")
        self._warn_rng = random.Random(f"linesight-sim/{profile.name}/{seed}/warnings")
        self._key = _mix(seed * 1_000_003 + sum(map(ord, profile.name)))
        self._phase = (self._key % 10_000) / 10_000.0 * 2.0 * math.pi
        self._writes: dict[str, float] = dict(profile.writable)
        self._now = start
        # A machine counter is never at zero on the day it is first read.
        first = _Segment(
            start=start,
            end=start,
            state=MachineState.RUNNING,
            program=self._rng.randrange(len(profile.programs)),
            parts_before=10_000 + seed * 7919 % 90_000,
            rejects_before=150 + seed * 31 % 900,
            energy_before=20_000.0 + (seed * 104729 % 60_000) / 7.0,
            parts_since_setup_before=self._rng.randrange(profile.tool_life_parts // 2 + 1),
        )
        # Start somewhere inside a running period, not at its beginning.
        duration = profile.durations[MachineState.RUNNING].draw(self._rng) * self._rng.uniform(0.2, 1.0)
        self._fill(first, duration)
        self._segments: list[_Segment] = [first]
        self._current = first
        self._update_counts()
        self._warnings: list[tuple[float, float, Alarm]] = []
        self._active_warning: Alarm | None = None
        self._next_warning_at = start + self._warn_rng.expovariate(1.0 / profile.warning_every_s)
        self._anchors = {
            name: _Anchor(at=start, value=self._thermal_target(name, first.state), target=0.0)
            for name in profile.thermals
        }
        for name, anchor in self._anchors.items():
            anchor.target = self._thermal_target(name, first.state)
        self._analog = [0.0] * (len(profile.levels) + len(profile.thermals))
        self._program_factor = [1.0 + 0.12 * ((i * 5) % 7 - 3) / 3.0 for i in range(len(profile.programs))]
        self._tq = 0
        self._update_analog()
        self._readers = self._make_readers()

    # ------------------------------------------------------------------ time

    @property
    def now(self) -> float:
        return self._now

    def sim_time(self, wall: float) -> float:
        return self._wall_start + (wall - self._wall_start) * self._time_scale

    def advance_to(self, wall: float) -> None:
        """Move the machine to wall-clock time ``wall`` (seconds); earlier times are ignored."""
        t = self.sim_time(wall)
        if t <= self._now:
            return
        while self._segments[-1].end <= t:
            self._append_segment()
        # Re-anchor the thermal lags at every state change between the last read and now.
        for segment in self._segments:
            if self._now < segment.start <= t:
                self._retarget(segment.start, segment.state)
        self._now = t
        self._current = self._find_current()
        self._update_counts()
        self._update_warning()
        self._update_analog()
        # Keep the current segment and its predecessor; older ones are never read again.
        while len(self._segments) > 2 and self._segments[1].end <= t:
            del self._segments[0]

    @property
    def segment(self) -> _Segment:
        """The state period the machine is in now."""
        return self._current

    def _find_current(self) -> _Segment:
        t = self._now
        for segment in reversed(self._segments):
            if segment.start <= t:
                return segment
        return self._segments[0]

    @property
    def state(self) -> MachineState:
        return self.segment.state

    def _append_segment(self) -> None:
        previous = self._segments[-1]
        options = self.profile.transitions[previous.state]
        choice = self._rng.choices([target for target, _w in options], [w for _t, w in options])[0]
        micro = choice == MICRO_STOP
        state = MachineState.STOPPED if micro else MachineState(choice)
        parts, rejects = previous.counts_at(previous.end)
        since_setup = previous.parts_since_setup_before + len(previous.cycle_ends)
        segment = _Segment(
            start=previous.end,
            end=previous.end,
            state=state,
            micro=micro,
            program=previous.program,
            parts_before=parts,
            rejects_before=rejects,
            energy_before=previous.energy_before
            + previous.power_kw * (previous.end - previous.start) / 3600.0,
            parts_since_setup_before=since_setup,
        )
        if state is MachineState.SETUP:
            segment.program = self._rng.randrange(len(self.profile.programs))
            segment.parts_since_setup_before = 0
        if state is MachineState.STOPPED and not micro:
            segment.alarm = self._rng.choice(self.profile.faults)
        self._fill(segment, self.profile.durations[MICRO_STOP if micro else state].draw(self._rng))
        self._segments.append(segment)

    def _fill(self, segment: _Segment, duration: float) -> None:
        """Set the segment's end, power and, when running, its cycles and rejects."""
        rng = self._rng
        segment.end = segment.start + duration
        segment.power_kw = self.profile.power_kw[segment.state] * rng.uniform(0.93, 1.07)
        if segment.state is not MachineState.RUNNING:
            return
        ideal = self.ideal_cycle_s
        slowdown = self.profile.cycle_slowdown
        t = segment.start
        rejects = 0
        since_setup = segment.parts_since_setup_before
        while True:
            t += ideal * (1.0 + slowdown * rng.expovariate(1.0))
            if t > segment.end:
                break
            # The first parts after a setup are rejected more often while the process settles.
            rate = self.reject_rate * (4.0 if since_setup < 5 else 1.0)
            if rng.random() < rate:
                rejects += 1
            since_setup += 1
            segment.cycle_ends.append(t)
            segment.rejects_cum.append(rejects)

    # ------------------------------------------------------------------ thermal lags

    def _thermal_target(self, name: str, state: MachineState) -> float:
        spec = self.profile.thermals[name]
        if state in spec.targets or spec.setpoint is None:
            return spec.targets[state]
        return self._writes[spec.setpoint]

    def _lagged(self, anchor: _Anchor, tau: float, t: float) -> float:
        return anchor.target + (anchor.value - anchor.target) * math.exp(-(t - anchor.at) / tau)

    def _retarget(self, at: float, state: MachineState) -> None:
        for name, anchor in self._anchors.items():
            tau = self.profile.thermals[name].tau
            anchor.value = self._lagged(anchor, tau, at)
            anchor.at = at
            anchor.target = self._thermal_target(name, state)

    # ------------------------------------------------------------------ writes

    def write(self, address: str, value: float) -> None:
        if address not in self._writes:
            raise KeyError(address)
        self._writes[address] = float(value)
        self._retarget(self._now, self.state)
        self._update_analog()

    # ------------------------------------------------------------------ values

    def value(self, address: str) -> Value:
        return self._readers[address]()

    def reader(self, address: str) -> Callable[[], Value] | None:
        """A function giving the signal's value at the current time, or None for an unknown address."""
        return self._readers.get(address)

    def _update_counts(self) -> None:
        """Cycles completed in the current period and the machine's counters (once per time step)."""
        segment = self._current
        done = bisect.bisect_right(segment.cycle_ends, self._now)
        self._done = done
        self._parts = segment.parts_before + done
        self._rejects = segment.rejects_before + (segment.rejects_cum[done - 1] if done else 0)

    def _update_warning(self) -> None:
        """Start the warnings due by now and find the one showing (called once per time step)."""
        t = self._now
        while self._next_warning_at <= t:
            begin = self._next_warning_at
            end = begin + self._warn_rng.uniform(60.0, 300.0)
            self._warnings.append((begin, end, self._warn_rng.choice(self.profile.warnings)))
            self._next_warning_at = begin + self._warn_rng.expovariate(1.0 / self.profile.warning_every_s)
        self._warnings = [w for w in self._warnings if w[1] > t]
        self._active_warning = next((alarm for begin, end, alarm in self._warnings if begin <= t < end), None)

    def _alarm(self) -> Alarm | None:
        segment = self.segment
        return segment.alarm or self._active_warning

    def _cutting(self, segment: _Segment) -> bool:
        """True inside the machining part of a cycle, false while the part is loaded and unloaded."""
        fraction = self.profile.load_fraction
        if segment.state is not MachineState.RUNNING:
            return False
        if fraction <= 0.0:
            return True
        done = self._done
        cycle_start = segment.cycle_ends[done - 1] if done else segment.start
        return (self._now - cycle_start) >= fraction * self.ideal_cycle_s

    def _update_analog(self) -> None:
        """The noiseless value of every level and temperature now (once per time step, for all tags)."""
        segment = self._current
        state = segment.state
        t = self._now
        self._tq = int(t * 1000.0)
        running = state is MachineState.RUNNING
        cutting = running and self._cutting(segment)
        life = self.profile.tool_life_parts
        for index, (name, spec) in enumerate(self.profile.levels.items()):
            if running and (cutting or not spec.only_cutting):
                target = spec.running * (self._program_factor[segment.program] if spec.per_program else 1.0)
                if spec.per_cycle:
                    target *= 60.0 / self.ideal_cycle_s
                if name == "feed_rate":
                    target *= self._writes.get("feed_override", 100.0) / 100.0
                if spec.wear:
                    done = segment.parts_since_setup_before + self._done
                    target *= 1.0 + spec.wear * (done % life) / life
            else:
                target = spec.other.get(state, 0.0)
            self._analog[index] = target
        offset = len(self.profile.levels)
        for index, (name, thermal) in enumerate(self.profile.thermals.items()):
            anchor = self._anchors[name]
            drift = thermal.drift * math.sin(2.0 * math.pi * t / _DRIFT_PERIOD_S + self._phase + index)
            self._analog[offset + index] = self._lagged(anchor, thermal.tau, t) + drift

    def _analog_reader(self, slot: int, key: int, relative: float, absolute: float) -> Callable[[], Value]:
        """Noise on top of a value from ``_update_analog``: relative to it (levels) or absolute (°C)."""
        analog = self._analog
        table, mask = _NOISE_TABLE, _NOISE_MASK

        def read() -> Value:
            base = analog[slot]
            if base == 0.0 and relative:
                return 0.0  # a stopped spindle reads exactly zero
            n = table[((key ^ self._tq) * 0x9E3779B1 >> 7) & mask]
            return base * (1.0 + relative * n) + absolute * n

        return read

    def _make_readers(self) -> dict[str, Callable[[], Value]]:
        def last_cycle() -> Value:
            segment = self._current
            done = self._done
            if done >= 2:
                return segment.cycle_ends[done - 1] - segment.cycle_ends[done - 2]
            if done == 1:
                return segment.cycle_ends[0] - segment.start
            return self.ideal_cycle_s

        def energy() -> Value:
            segment = self.segment
            return segment.energy_before + segment.power_kw * (self._now - segment.start) / 3600.0

        def execution() -> Value:
            segment = self.segment
            if segment.micro:
                return "INTERRUPTED"
            return _EXECUTION[segment.state][0]

        def alarm_code() -> Value:
            alarm = self._alarm()
            return alarm.code if alarm else 0

        def alarm_text() -> Value:
            alarm = self._alarm()
            return alarm.text if alarm else ""

        readers: dict[str, Callable[[], Value]] = {
            "state_code": lambda: STATE_CODES[self.state],
            "running": lambda: self.state is MachineState.RUNNING,
            "fault": lambda: self.segment.alarm is not None,
            "execution": execution,
            "controller_mode": lambda: _EXECUTION[self.state][1],
            "program": lambda: self.profile.programs[self.segment.program],
            "part_count": lambda: self._parts,
            "reject_count": lambda: self._rejects,
            "good_count": lambda: self._parts - self._rejects,
            "cycle_time": last_cycle,
            "energy_kwh": energy,
            "alarm_code": alarm_code,
            "alarm_text": alarm_text,
        }
        for index, (name, level) in enumerate(self.profile.levels.items()):
            readers[name] = self._analog_reader(index, self._key + index * 7_777_777, level.noise, 0.0)
        offset = len(self.profile.levels)
        for index, (name, thermal) in enumerate(self.profile.thermals.items()):
            key = self._key + (offset + index) * 7_777_777
            readers[name] = self._analog_reader(offset + index, key, 0.0, thermal.noise)
        for name in self.profile.writable:
            readers[name] = self._setpoint_reader(name)
        return readers

    def _setpoint_reader(self, name: str) -> Callable[[], Value]:
        def read() -> Value:
            return self._writes[name]

        return read
