"""An MTConnect agent for simulated machines: /probe, /current and /sample over real HTTP.

It answers as a real agent does (cppagent is the model): MTConnect 1.x/2.x XML, one buffer of
observations with sequence numbers (fixed size: the oldest fall out, and a ``from`` before the first
still held is an OUT_OF_RANGE error document), and an instanceId that is new each time the agent
starts. Each machine is a ``MachineModel`` of the simulator, sampled every ``sample_every`` seconds;
an observation goes into the buffer only when its value changed, as an adapter would send it.

The HTTP server is the standard library's, in a thread, with a lock around the buffer; it speaks
HTTP/1.0 (one request per connection) so that stopping never waits for an idle keep-alive connection.
Streaming (``?interval=``) and XPath filters are not offered: clients poll ``/sample``.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape, quoteattr

from linesight.drivers.simulator.model import PROFILES, MachineModel

log = logging.getLogger(__name__)

DEFAULT_BUFFER_SIZE = 131_072  # cppagent's default (2^17 observations)
DEFAULT_COUNT = 100
SENDER = "linesight-virtualplant"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$")

Category = Literal["SAMPLE", "EVENT", "CONDITION"]
_GROUPS: Mapping[str, str] = {"SAMPLE": "Samples", "EVENT": "Events", "CONDITION": "Condition"}


# ---------------------------------------------------------------------- the device model


@dataclass(frozen=True, kw_only=True)
class _Component:
    element: str
    suffix: str  # of the id: <device>_<suffix>
    name: str
    parent: str | None  # None: directly under the Device


_COMPONENTS: Mapping[str, _Component] = {
    "axes": _Component(element="Axes", suffix="axes", name="axes", parent=None),
    "spindle": _Component(element="Rotary", suffix="c", name="C", parent="axes"),
    "controller": _Component(element="Controller", suffix="cont", name="controller", parent=None),
    "path": _Component(element="Path", suffix="path", name="path", parent="controller"),
    "systems": _Component(element="Systems", suffix="systems", name="systems", parent=None),
    "coolant": _Component(element="Coolant", suffix="coolant", name="coolant", parent="systems"),
}


@dataclass(frozen=True, kw_only=True)
class _ItemDef:
    """One data item the agent reports, fed by a signal of the simulated machine."""

    suffix: str  # of the id: <device>_<suffix>
    name: str  # the simulator's signal name, so that a plant file reads the same either way
    component: str  # "device" or a key of _COMPONENTS
    category: Category
    type: str
    sub_type: str = ""
    units: str = ""
    native_units: str = ""
    factor: float = 1.0  # native value x factor = reported value
    decimals: int = 2


_ITEMS: tuple[_ItemDef, ...] = (
    _ItemDef(suffix="avail", name="avail", component="device", category="EVENT", type="AVAILABILITY"),
    _ItemDef(
        suffix="mode",
        name="controller_mode",
        component="controller",
        category="EVENT",
        type="CONTROLLER_MODE",
    ),
    _ItemDef(suffix="system", name="system", component="controller", category="CONDITION", type="SYSTEM"),
    _ItemDef(suffix="exec", name="execution", component="path", category="EVENT", type="EXECUTION"),
    _ItemDef(suffix="program", name="program", component="path", category="EVENT", type="PROGRAM"),
    _ItemDef(
        suffix="pc", name="part_count", component="path", category="EVENT", type="PART_COUNT", sub_type="ALL"
    ),
    _ItemDef(
        suffix="pcbad",
        name="reject_count",
        component="path",
        category="EVENT",
        type="PART_COUNT",
        sub_type="BAD",
    ),
    _ItemDef(
        suffix="feed",
        name="feed_rate",
        component="path",
        category="SAMPLE",
        type="PATH_FEEDRATE",
        sub_type="ACTUAL",
        units="MILLIMETER/SECOND",
        native_units="MILLIMETER/MINUTE",
        factor=1.0 / 60.0,
    ),
    _ItemDef(
        suffix="srpm",
        name="spindle_speed",
        component="spindle",
        category="SAMPLE",
        type="ROTARY_VELOCITY",
        sub_type="ACTUAL",
        units="REVOLUTION/MINUTE",
        decimals=1,
    ),
    _ItemDef(
        suffix="sload",
        name="spindle_load",
        component="spindle",
        category="SAMPLE",
        type="LOAD",
        units="PERCENT",
        decimals=1,
    ),
    _ItemDef(
        suffix="stemp",
        name="spindle_temp",
        component="spindle",
        category="SAMPLE",
        type="TEMPERATURE",
        units="CELSIUS",
    ),
    _ItemDef(
        suffix="ctemp",
        name="coolant_temp",
        component="coolant",
        category="SAMPLE",
        type="TEMPERATURE",
        units="CELSIUS",
    ),
)
_DERIVED = {"avail", "system"}  # not a signal of the model: made by the agent


def _element_name(item_type: str) -> str:
    """EXECUTION → Execution, PATH_FEEDRATE → PathFeedrate: the observation's element name."""
    return "".join(part.capitalize() for part in item_type.split("_"))


@dataclass(frozen=True, kw_only=True)
class SimulatedMachine:
    """A simulated machine the agent speaks for, as one MTConnect device."""

    name: str  # the device name (also in the URL: /<name>/sample)
    model: MachineModel
    uuid: str = ""

    @classmethod
    def from_profile(
        cls,
        name: str,
        profile: str = "cnc",
        *,
        seed: int = 0,
        time_scale: float = 1.0,
        start: float | None = None,
    ) -> SimulatedMachine:
        model = MachineModel(
            PROFILES[profile], seed=seed, start=time.time() if start is None else start, time_scale=time_scale
        )
        return cls(name=name, model=model)


@dataclass(frozen=True, kw_only=True)
class _Item:
    id: str
    device: int  # index into the agent's machines
    component: str
    definition: _ItemDef
    element: str
    stream_attributes: str  # dataItemId, name, subType (and type for a condition), pre-rendered


@dataclass(frozen=True, kw_only=True)
class _Entry:
    """One observation in the buffer, already rendered as its XML element."""

    sequence: int
    item: _Item
    xml: str


@dataclass(kw_only=True)
class _Device:
    machine: SimulatedMachine
    uuid: str
    items: list[_Item]
    by_name: dict[str, _Item]
    components: list[str]  # keys of _COMPONENTS that have data items somewhere below
    available: bool = True
    last: dict[str, str | None] = field(default_factory=dict)  # item id → last text recorded
    active_code: str = ""  # the condition's active nativeCode, "" when normal


# ---------------------------------------------------------------------- the agent


_instance_lock = threading.Lock()
_last_instance = 0


def _new_instance_id() -> int:
    """Milliseconds since the epoch, and never the same twice in a process (restarts in tests are quick)."""
    global _last_instance
    with _instance_lock:
        _last_instance = max(int(time.time() * 1000), _last_instance + 1)
        return _last_instance


class MTConnectAgent:
    """``async with MTConnectAgent(machines=[...], port=0) as agent:`` serves ``agent.url`` until exit.

    ``sample_every=None`` samples nothing by itself: tests then call ``sample()`` or ``record()``.
    """

    def __init__(
        self,
        machines: Sequence[SimulatedMachine],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        buffer_size: int = DEFAULT_BUFFER_SIZE,
        sample_every: float | None = 0.1,
        version: str = "2.0",
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not machines:
            raise ValueError("an MTConnect agent needs at least one machine")
        if buffer_size < 1:
            raise ValueError(f"buffer_size must be at least 1, got {buffer_size}")
        if not re.fullmatch(r"[12]\.\d+", version):
            raise ValueError(f"version is an MTConnect schema version such as 1.3 or 2.0, got {version!r}")
        names = [machine.name for machine in machines]
        for name in names:
            if not _NAME.match(name):
                raise ValueError(
                    f"device name {name!r}: use letters, digits, '_' and '-', starting with a letter"
                )
        if len(set(names)) != len(names):
            raise ValueError(f"device names must be unique, got {names}")
        self._host = host
        self._requested_port = port
        self._buffer_size = buffer_size
        self._sample_every = sample_every
        self._version = version
        self._clock = clock
        self._devices = [self._device(index, machine) for index, machine in enumerate(machines)]
        self._lock = threading.RLock()  # RLock: a restart records observations while holding it
        self._ring: list[_Entry | None] = [None] * buffer_size
        self._next = 1
        self._latest: dict[str, _Entry] = {}
        self.instance_id = 0
        self._server: _Server | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    @staticmethod
    def _device(index: int, machine: SimulatedMachine) -> _Device:
        signals = machine.model.profile.signals()
        definitions = [d for d in _ITEMS if d.name in _DERIVED or d.name in signals]
        items = []
        for definition in definitions:
            item_id = f"{machine.name}_{definition.suffix}"
            attributes = f"dataItemId={quoteattr(item_id)} name={quoteattr(definition.name)}"
            if definition.sub_type:
                attributes += f" subType={quoteattr(definition.sub_type)}"
            if definition.category == "CONDITION":
                attributes += f" type={quoteattr(definition.type)}"
            items.append(
                _Item(
                    id=item_id,
                    device=index,
                    component=definition.component,
                    definition=definition,
                    element=_element_name(definition.type),
                    stream_attributes=attributes,
                )
            )
        used: list[str] = []
        for item in items:
            key: str | None = item.component
            while key is not None and key != "device":
                if key not in used:
                    used.append(key)
                key = _COMPONENTS[key].parent
        return _Device(
            machine=machine,
            uuid=machine.uuid or f"linesight-{machine.name}",
            items=items,
            by_name={item.definition.name: item for item in items} | {item.id: item for item in items},
            components=used,
        )

    # ------------------------------------------------------------------ life cycle

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the agent is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}/"

    @property
    def buffer_size(self) -> int:
        return self._buffer_size

    def start(self) -> None:
        """Bind the port, take the first sample and serve in background threads."""
        if self._server is not None:
            raise RuntimeError("the agent is already running")
        self._reset()
        server = _Server((self._host, self._requested_port), _Handler)
        server.agent = self
        self._server = server
        # Started again after a stop, it comes back at the same address, as a restarted agent does.
        self._requested_port = self.port
        self._stopping.clear()
        self._threads = [
            threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="mtconnect-agent",
                daemon=True,
            )
        ]
        if self._sample_every is not None:
            self._threads.append(
                threading.Thread(target=self._sample_loop, name="mtconnect-agent-sampler", daemon=True)
            )
        for thread in self._threads:
            thread.start()
        log.info("MTConnect agent serving %d machines at %s", len(self._devices), self.url)

    def restart(self) -> None:
        """As if the agent process restarted between two requests: a new instanceId, an empty buffer
        (sequence numbers start again at 1), every data item unavailable and then sampled afresh."""
        self._reset()

    def _reset(self) -> None:
        # One lock for all of it: no request may see the buffer half emptied.
        with self._lock:
            self.instance_id = _new_instance_id()
            self._ring = [None] * self._buffer_size
            self._next = 1
            self._latest.clear()
            for device in self._devices:
                device.last.clear()
                device.active_code = ""
                # A real agent starts with every data item unavailable until its adapter sends values.
                for item in device.items:
                    self._record(item, None)
            self._sample_all(self._clock())

    def stop(self) -> None:
        """Stop serving and sampling; returns once every thread (and every request in flight) ended."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()  # joins the handler threads still answering
        for thread in self._threads:
            thread.join()
        self._threads = []

    async def __aenter__(self) -> MTConnectAgent:
        await _in_a_thread(self.start)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await _in_a_thread(self.stop)

    def __enter__(self) -> MTConnectAgent:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ observations

    def _sample_loop(self) -> None:
        assert self._sample_every is not None
        while not self._stopping.wait(self._sample_every):
            try:
                self.sample()
            except Exception:
                # A simulator bug must not silently freeze the agent's data: say so, keep serving.
                log.exception("sampling the simulated machines failed")

    def sample(self) -> None:
        """Move every available machine to now and record each value that changed."""
        with self._lock:  # the models and the last values are shared with restart() and record()
            self._sample_all(self._clock())

    def _sample_all(self, now: float) -> None:
        for device in self._devices:
            if not device.available:
                continue
            model = device.machine.model
            model.advance_to(now)
            for item in device.items:
                definition = item.definition
                if definition.name == "avail":
                    self._change(device, item, "AVAILABLE")
                elif definition.category == "CONDITION":
                    self._condition(device, item)
                else:
                    value = model.value(definition.name)
                    self._change(device, item, _text(value, definition))

    def _change(self, device: _Device, item: _Item, text: str | None) -> None:
        if item.id in device.last and device.last[item.id] == text:
            return
        device.last[item.id] = text
        self._record(item, text)

    def _condition(self, device: _Device, item: _Item) -> None:
        model = device.machine.model
        code = model.value("alarm_code")
        message = str(model.value("alarm_text"))
        native = str(code) if code else ""
        if item.id in device.last and native == device.active_code:
            return
        if device.active_code:
            self._record(item, "NORMAL")  # a Normal without a code clears every activity
        device.active_code = native
        device.last[item.id] = native
        if native:
            self._record(
                item, "FAULT" if model.value("fault") else "WARNING", native_code=native, message=message
            )
        elif item.id not in self._latest or self._latest[item.id].xml.startswith("<Unavailable"):
            self._record(item, "NORMAL")

    def record(self, device: str, item: str, text: str | None, *, native_code: str = "") -> int:
        """Put one observation into the buffer (``None`` is UNAVAILABLE) and return its sequence number.

        ``item`` is a data item's name or id; for a condition ``text`` is NORMAL, WARNING or FAULT.
        """
        found = self._device_named(device)
        if found is None:
            raise KeyError(f"no device {device!r}")
        target = found.by_name.get(item)
        if target is None:
            raise KeyError(f"device {device} has no data item {item!r}")
        with self._lock:
            found.last[target.id] = text
            return self._record(target, text, native_code=native_code)

    def set_available(self, device: str, available: bool) -> None:
        """As if the machine's adapter disconnected (every item UNAVAILABLE) or came back."""
        found = self._device_named(device)
        if found is None:
            raise KeyError(f"no device {device!r}")
        with self._lock:
            found.available = available
            if not available:
                for item in found.items:
                    self._record(item, None)
                found.last.clear()
                found.active_code = ""
            else:
                self._sample_all(self._clock())

    def _record(self, item: _Item, text: str | None, *, native_code: str = "", message: str = "") -> int:
        definition = item.definition
        stamp = _timestamp(self._clock())
        if definition.category == "CONDITION":
            element = {"NORMAL": "Normal", "WARNING": "Warning", "FAULT": "Fault", None: "Unavailable"}.get(
                text, "Unavailable"
            )
            code = f" nativeCode={quoteattr(native_code)}" if native_code else ""
            body = escape(message)
        else:
            element = item.element
            code = ""
            body = "UNAVAILABLE" if text is None else escape(text)
        with self._lock:
            sequence = self._next
            self._next += 1
            head = f'<{element} {item.stream_attributes} sequence="{sequence}" timestamp="{stamp}"{code}'
            xml = f"{head}>{body}</{element}>" if body else f"{head}/>"
            entry = _Entry(sequence=sequence, item=item, xml=xml)
            self._ring[sequence % self._buffer_size] = entry
            self._latest[item.id] = entry
        return sequence

    def sequences(self) -> tuple[int, int]:
        """(firstSequence, nextSequence): the oldest observation still held and the next to come."""
        with self._lock:
            return max(1, self._next - self._buffer_size), self._next

    def _device_named(self, name: str) -> _Device | None:
        return next((d for d in self._devices if name in (d.machine.name, d.uuid)), None)

    # ------------------------------------------------------------------ documents

    def answer(self, target: str) -> tuple[int, str]:
        """The HTTP status and XML body for a request target such as ``/lathe1/sample?from=5``."""
        parts = urlsplit(target)
        segments = [unquote(s) for s in parts.path.split("/") if s]
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        devices = self._devices
        if len(segments) == 2:
            found = self._device_named(segments[0])
            if found is None:
                return self._error(404, "NO_DEVICE", f"Could not find the device '{segments[0]}'")
            devices = [found]
            segments = segments[1:]
        if len(segments) != 1 or segments[0] not in ("probe", "current", "sample"):
            return self._error(404, "INVALID_URI", f"{parts.path} is not a request this agent answers")
        request = segments[0]
        if "interval" in query or "path" in query or "at" in query:
            return self._error(400, "UNSUPPORTED", "interval (streaming), path and at are not supported")
        if request == "probe":
            return 200, self._probe(devices)
        if request == "current":
            return 200, self._current(devices)
        return self._sample(devices, query)

    def _namespace(self, kind: str) -> str:
        urn = f"urn:mtconnect.org:MTConnect{kind}:{self._version}"
        return (
            f'<MTConnect{kind} xmlns="{urn}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            f'xsi:schemaLocation="{urn} http://schemas.mtconnect.org/schemas/MTConnect{kind}_{self._version}.xsd">'
        )

    def _header(self, extra: str = "") -> str:
        return (
            f'<Header creationTime="{_timestamp(self._clock())}" sender="{SENDER}" '
            f'instanceId="{self.instance_id}" version="{self._version}.0" bufferSize="{self._buffer_size}"'
            f"{extra}/>"
        )

    def _error(self, status: int, code: str, text: str) -> tuple[int, str]:
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            + self._namespace("Error")
            + self._header()
            + f"<Errors><Error errorCode={quoteattr(code)}>{escape(text)}</Error></Errors></MTConnectError>"
        )
        return status, body

    def _probe(self, devices: Sequence[_Device]) -> str:
        out = ['<?xml version="1.0" encoding="UTF-8"?>\n', self._namespace("Devices")]
        out.append(self._header(' assetBufferSize="0" assetCount="0"'))
        out.append("<Devices>")
        for device in devices:
            name = device.machine.name
            profile = device.machine.model.profile.name
            out.append(f"<Device id={quoteattr(name)} name={quoteattr(name)} uuid={quoteattr(device.uuid)}>")
            out.append(
                f'<Description manufacturer="LineSight" model="simulated {profile}">'
                f"Simulated {profile}, seed {device.machine.model.seed}</Description>"
            )
            out.append(self._probe_items(device, "device"))
            out.append(self._probe_components(device, None))
            out.append("</Device>")
        out.append("</Devices></MTConnectDevices>")
        return "".join(out)

    def _probe_items(self, device: _Device, component: str) -> str:
        items = [item for item in device.items if item.component == component]
        if not items:
            return ""
        out = ["<DataItems>"]
        for item in items:
            d = item.definition
            attributes = f"category={quoteattr(d.category)} id={quoteattr(item.id)} name={quoteattr(d.name)}"
            attributes += f" type={quoteattr(d.type)}"
            if d.sub_type:
                attributes += f" subType={quoteattr(d.sub_type)}"
            if d.units:
                attributes += f" units={quoteattr(d.units)}"
            if d.native_units:
                attributes += f" nativeUnits={quoteattr(d.native_units)}"
            out.append(f"<DataItem {attributes}/>")
        out.append("</DataItems>")
        return "".join(out)

    def _probe_components(self, device: _Device, parent: str | None) -> str:
        children = [key for key in device.components if _COMPONENTS[key].parent == parent]
        if not children:
            return ""
        out = ["<Components>"]
        for key in children:
            component = _COMPONENTS[key]
            component_id = f"{device.machine.name}_{component.suffix}"
            out.append(f"<{component.element} id={quoteattr(component_id)} name={quoteattr(component.name)}>")
            out.append(self._probe_items(device, key))
            out.append(self._probe_components(device, key))
            out.append(f"</{component.element}>")
        out.append("</Components>")
        return "".join(out)

    def _current(self, devices: Sequence[_Device]) -> str:
        with self._lock:
            first, following = max(1, self._next - self._buffer_size), self._next
            entries = [self._latest[item.id] for device in devices for item in device.items]
        entries.sort(key=lambda entry: entry.sequence)
        return self._streams(devices, entries, first, following)

    def _sample(self, devices: Sequence[_Device], query: Mapping[str, str]) -> tuple[int, str]:
        try:
            count = int(query.get("count", min(DEFAULT_COUNT, self._buffer_size)))
            start = int(query["from"]) if "from" in query else None
        except ValueError:
            return self._error(400, "INVALID_REQUEST", "'from' and 'count' must be integers")
        if count < 1:
            return self._error(400, "INVALID_REQUEST", "'count' must be a positive integer")
        if count > self._buffer_size:
            return self._error(
                400, "OUT_OF_RANGE", f"'count' must be less than or equal to {self._buffer_size}"
            )
        indices = {self._devices.index(device) for device in devices}
        entries: list[_Entry] = []
        with self._lock:
            first, following = max(1, self._next - self._buffer_size), self._next
            start = first if start is None else start
            if first <= start <= following:
                sequence = start
                while sequence < following and len(entries) < count:
                    entry = self._ring[sequence % self._buffer_size]
                    assert entry is not None and entry.sequence == sequence
                    if entry.item.device in indices:
                        entries.append(entry)
                    sequence += 1
        if not first <= start <= following:
            return self._error(
                400,
                "OUT_OF_RANGE",
                f"'from' must be from {first} (firstSequence) to {following} (nextSequence), got {start}",
            )
        return 200, self._streams(devices, entries, first, following, sequence)

    def _streams(
        self,
        devices: Sequence[_Device],
        entries: Sequence[_Entry],
        first: int,
        following: int,
        resume: int | None = None,
    ) -> str:
        sequences = f' nextSequence="{following if resume is None else resume}" firstSequence="{first}"'
        sequences += f' lastSequence="{following - 1}"'
        out = [
            '<?xml version="1.0" encoding="UTF-8"?>\n',
            self._namespace("Streams"),
            self._header(sequences),
        ]
        out.append("<Streams>")
        by_component: dict[tuple[int, str], dict[str, list[str]]] = {}
        for entry in entries:
            groups = by_component.setdefault((entry.item.device, entry.item.component), {})
            groups.setdefault(_GROUPS[entry.item.definition.category], []).append(entry.xml)
        for device in devices:
            index = self._devices.index(device)
            name = device.machine.name
            out.append(f"<DeviceStream name={quoteattr(name)} uuid={quoteattr(device.uuid)}>")
            for key in ("device", *device.components):
                found = by_component.get((index, key))
                if not found:
                    continue
                if key == "device":
                    element, component_name, component_id = "Device", name, name
                else:
                    component = _COMPONENTS[key]
                    element, component_name = component.element, component.name
                    component_id = f"{name}_{component.suffix}"
                out.append(
                    f"<ComponentStream component={quoteattr(element)} name={quoteattr(component_name)} "
                    f"componentId={quoteattr(component_id)}>"
                )
                for group in ("Samples", "Events", "Condition"):
                    if group in found:
                        out.append(f"<{group}>{''.join(found[group])}</{group}>")
                out.append("</ComponentStream>")
            out.append("</DeviceStream>")
        out.append("</Streams></MTConnectStreams>")
        return "".join(out)


async def _in_a_thread(call: Callable[[], None]) -> None:
    """Run a blocking call (bind, shutdown) off the event loop, in a thread of its own.

    Not ``asyncio.to_thread``: that needs the loop's default executor, which an application may have
    shut down by the time the agent stops (the runtime's engine shut its own down when it stopped).
    """
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def settle(error: BaseException | None) -> None:
        if done.cancelled():
            return
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)

    def run() -> None:
        try:
            call()
        except BaseException as error:  # noqa: BLE001 (handed to the awaiting task: raised there)
            loop.call_soon_threadsafe(settle, error)
        else:
            loop.call_soon_threadsafe(settle, None)

    threading.Thread(target=run, name="mtconnect-agent-control", daemon=True).start()
    await done


def _text(value: bool | int | float | str, definition: _ItemDef) -> str:
    if isinstance(value, float):
        return f"{value * definition.factor:.{definition.decimals}f}"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _timestamp(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# ---------------------------------------------------------------------- HTTP


class _Server(ThreadingHTTPServer):
    # Handler threads are joined on close, so that stop() returns only when no request is in flight.
    daemon_threads = False
    block_on_close = True
    agent: MTConnectAgent

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that hangs up mid-answer is normal for an agent; the default prints a traceback.
        log.debug("request from %s failed: %r", client_address, sys.exc_info()[1])


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "LineSightAgent/1.0"
    timeout = 5.0  # a client that connects and says nothing cannot hold up stop()

    def do_GET(self) -> None:
        status, body = self.server.agent.answer(self.path)
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/xml; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s %s", self.address_string(), format % args)


__all__ = ["DEFAULT_BUFFER_SIZE", "MTConnectAgent", "SimulatedMachine"]
