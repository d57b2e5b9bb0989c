"""MTConnect over HTTP (httpx): /probe, /current, then /sample?from=nextSequence followed without gaps.

One request at a time per connection. Every answer is read up to a size limit and parsed without DTDs
(``codec.parse_document``). The stream is followed by repeated ``/sample`` requests rather than the
agent's multipart streaming: each answer is one complete document, so a broken or hostile agent can only
ever cost one bounded request, and catching up after a pause is the same code path as normal following.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlsplit

import httpx
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from linesight.domain.errors import BadAddress, ConfigError, DeviceTimeout, DeviceUnreachable, DriverError
from linesight.domain.plant import validation_problems
from linesight.domain.tags import Quality, Sample, TagSpec, TagValue
from linesight.domain.units import parse_duration
from linesight.drivers.base import SampleSink
from linesight.drivers.mtconnect.codec import (
    CONVERTERS,
    AddressError,
    AgentError,
    ConditionStates,
    DataItem,
    Document,
    DocumentError,
    ItemIndex,
    Observation,
    Streams,
    address_type_problem,
    convert,
    latest,
    parse_address,
    parse_document,
    type_problem,
)

log = logging.getLogger(__name__)
# httpx logs every request at INFO; following a stream is several requests a second per machine, and the
# coordinator already reports each outage once.
logging.getLogger("httpx").setLevel(logging.WARNING)

Location = tuple[str | int, ...]
Seconds = Annotated[float, BeforeValidator(parse_duration)]

DEFAULT_MAX_RESPONSE = 8 * 1024 * 1024
# Answers larger than this are parsed in a worker thread so that the event loop keeps serving the others.
_PARSE_IN_THREAD = 512 * 1024


class MTConnectConnection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # The agent, e.g. http://agent:5000/ (a path is kept: a reverse proxy's prefix or a device name).
    url: str
    # The device to follow, when the agent has several (added to the path: /<device>/sample).
    device: str | None = Field(default=None, min_length=1, pattern=r"^[^/\s?#]+$")
    # sample: follow /sample from nextSequence (pushed); current: poll /current at each tag's rate.
    mode: Literal["sample", "current"] = "sample"
    count: int = Field(default=1000, ge=1, le=100_000)  # observations per /sample request at most
    sample_interval: Seconds | None = Field(default=None, gt=0.0)  # default: the tags' shortest poll
    request_timeout: Seconds = Field(default=5.0, gt=0.0, le=300.0)
    max_response_bytes: int = Field(default=DEFAULT_MAX_RESPONSE, ge=16 * 1024, le=1024**3)

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"the agent's url is an http:// URL, e.g. http://agent:5000/, got {value!r}")
        if parts.query or parts.fragment:
            raise ValueError(f"the agent's url takes no query or fragment, got {value!r}")
        try:
            _port = parts.port
        except ValueError as err:
            raise ValueError(f"the agent's url has a bad port: {value!r}") from err
        return value


def _model_at(location: Location) -> type[BaseModel] | None:
    return MTConnectConnection if location == () else None


def _tag_problem(spec: TagSpec) -> str | None:
    if spec.options:
        names = ", ".join(name for name, _value in spec.options)
        return f"unknown option {names}; MTConnect tags take no options"
    return None


class MTConnectDriver:
    """One agent (or one device of an agent), followed through its sequence numbers."""

    def __init__(
        self,
        machine_id: str,
        settings: MTConnectConnection,
        tags: Sequence[TagSpec],
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.machine_id = machine_id
        self.settings = settings
        self._addresses = {spec.key: parse_address(spec.address) for spec in tags}
        self._transport = transport  # tests record the exchange through it
        base = settings.url.rstrip("/")
        self._base = base + (f"/{quote(settings.device, safe='')}" if settings.device else "")
        self._client: httpx.AsyncClient | None = None
        self._lock = asyncio.Lock()
        # What the last /probe said.
        self._index: ItemIndex | None = None
        self._instance: int | None = None
        self._buffer_size: int | None = None
        # Where the stream stands: the agent instance its sequence numbers belong to, and the next one.
        self._stream_instance: int | None = None
        self._next: int | None = None
        self._followed: dict[str, list[TagSpec]] = {}  # data item id → the tags that address it
        self._follower: asyncio.Task[None] | None = None
        self._conditions = ConditionStates()
        self._interval = 1.0
        self._bad_value_logged: set[str] = set()
        self.requests = 0  # HTTP requests sent, for the health screen
        self.gaps = 0  # times the stream fell out of the agent's buffer and was resynchronised
        self.dropped = 0  # observations lost in those gaps (sequence numbers never read)
        self.restarts = 0  # agent restarts seen (a new instanceId)

    def _where(self, text: str, url: httpx.URL | str | None = None) -> str:
        return f"{self.machine_id}: MTConnect {url or self._base + '/'}: {text}"

    def _url(self, request: str, params: Mapping[str, int] | None = None) -> httpx.URL:
        return httpx.URL(f"{self._base}/{request}", params=dict(params or {}))

    # ------------------------------------------------------------------ connection

    async def connect(self) -> None:
        await self.close()
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(self.settings.request_timeout),
            limits=httpx.Limits(max_connections=1),
            # Compressed answers would be inflated before the size limit could see them.
            headers={"Accept": "application/xml, text/xml", "Accept-Encoding": "identity"},
            follow_redirects=False,
            trust_env=False,  # agents sit on the plant network: no proxy from the environment
            transport=self._transport,
        )
        await self._probe()

    async def close(self) -> None:
        await self._stop_following()
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def data_items(self) -> tuple[DataItem, ...]:
        """The data items the agent's probe described (empty before the first connect)."""
        return tuple(self._index.items) if self._index is not None else ()

    def _connected(self) -> httpx.AsyncClient:
        if self._client is None:
            raise DeviceUnreachable(self._where("not connected"))
        return self._client

    async def _probe(self) -> None:
        devices = await self._get("probe", {}, "Devices")
        if isinstance(devices, AgentError):
            raise DriverError(self._where(f"refused: {devices.describe()}", self._url("probe")))
        assert not isinstance(devices, Streams)
        if self.settings.device and not devices.items:
            raise DriverError(self._where(f"the agent has no data items for device {self.settings.device}"))
        self._index = ItemIndex(items=devices.items, default_device=self.settings.device)
        if self._instance is not None and devices.header.instance_id != self._instance:
            self.restarts += 1
        self._instance = devices.header.instance_id
        self._buffer_size = devices.header.buffer_size

    # ------------------------------------------------------------------ HTTP

    async def _get(
        self, request: str, params: Mapping[str, int], expected: Literal["Devices", "Streams"]
    ) -> Document:
        """One request and its parsed answer (an MTConnectError answer is returned, not raised)."""
        client = self._connected()
        url = self._url(request, params)
        async with self._lock:
            for attempt in (1, 2):
                self.requests += 1
                try:
                    async with client.stream("GET", url) as response:
                        status = response.status_code
                        body = await self._body(response, url)
                    break
                except httpx.TimeoutException as err:
                    raise DeviceTimeout(
                        self._where(f"no answer within {self.settings.request_timeout:g} s", url)
                    ) from err
                except httpx.RemoteProtocolError as err:
                    # Most often a kept-alive connection the agent closed just as it was reused; a GET
                    # is safe to send again, and one blip must not mark the machine unavailable.
                    if attempt == 2:
                        raise DeviceUnreachable(self._where(_describe(err), url)) from err
                    log.debug("%s: %s; asking once more", url, err)
                except httpx.HTTPError as err:
                    raise DeviceUnreachable(self._where(_describe(err), url)) from err
        try:
            if len(body) > _PARSE_IN_THREAD:
                return await asyncio.to_thread(parse_document, body, expected)
            return parse_document(body, expected)
        except DocumentError as err:
            if status != 200:
                raise DeviceUnreachable(self._where(f"HTTP {status} ({err})", url)) from None
            raise DriverError(self._where(str(err), url)) from None

    async def _body(self, response: httpx.Response, url: httpx.URL) -> bytes:
        limit = self.settings.max_response_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise DriverError(
                self._where(f"the answer has {declared} bytes, more than max_response_bytes ({limit})", url)
            )
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > limit:
                # Leaving the stream here closes the connection: the rest is never read.
                raise DriverError(
                    self._where(f"the answer is larger than max_response_bytes ({limit}); not read", url)
                )
        return bytes(body)

    async def _current(self) -> Streams:
        """A /current of the instance the last probe described (probing again once if it changed)."""
        for _attempt in range(2):
            document = await self._get("current", {}, "Streams")
            if isinstance(document, AgentError):
                raise DriverError(self._where(f"refused: {document.describe()}", self._url("current")))
            assert isinstance(document, Streams)
            if document.header.instance_id == self._instance:
                return document
            log.info(
                "machine %s: MTConnect agent %s has a new instance %s (was %s): probing again",
                self.machine_id,
                self._base,
                document.header.instance_id,
                self._instance,
            )
            await self._probe()
        raise DeviceUnreachable(self._where("the agent's instance changed twice while resynchronising"))

    # ------------------------------------------------------------------ tags and values

    def _resolve(self, spec: TagSpec) -> DataItem:
        if self._index is None:
            raise DeviceUnreachable(self._where("not connected"))
        address = self._addresses.get(spec.key)
        if address is None:
            address = self._addresses[spec.key] = parse_address(spec.address)
        item = self._index.resolve(address)
        problem = type_problem(item, spec.data_type)
        if problem:
            raise AddressError(problem)
        return item

    def _sample(self, spec: TagSpec, ts_us: int, text: str | None) -> Sample:
        # Built positionally (tuple.__new__, as Sample's hot paths do): one per observation followed.
        if text is None:
            return tuple.__new__(Sample, (spec.key, ts_us, None, Quality.BAD))
        try:
            value: TagValue = convert(text, spec.data_type)
        except ValueError:
            if spec.key not in self._bad_value_logged:
                self._bad_value_logged.add(spec.key)
                log.warning(
                    "machine %s tag %s (address %s): value %r is not a %s; samples like it are marked bad",
                    self.machine_id,
                    spec.name,
                    spec.address,
                    text[:80],
                    spec.data_type.value,
                )
            return tuple.__new__(Sample, (spec.key, ts_us, None, Quality.BAD))
        return tuple.__new__(Sample, (spec.key, ts_us, value, Quality.GOOD))

    def _snapshot(self, document: Streams, skip_before: int | None) -> list[Sample]:
        """The followed tags' values in a /current answer (those from ``skip_before`` on, if given)."""
        samples: list[Sample] = []
        for item_id, observation in latest(document.observations, self._conditions).items():
            if skip_before is not None and observation.sequence < skip_before:
                continue  # delivered before the gap, and unchanged since
            for spec in self._followed.get(item_id, ()):
                samples.append(self._sample(spec, observation.ts_us, observation.text))
        return samples

    def _changes(self, observations: Sequence[Observation], start: int) -> list[Sample]:
        # The hot path of following: up to ``count`` observations a request, several requests a second.
        # Each observation is unpacked in one step (a tuple) and each Sample built positionally; only a
        # value that does not convert goes through _sample (marked bad, said once).
        samples: list[Sample] = []
        append = samples.append
        followed, conditions, converters = self._followed, self._conditions, CONVERTERS
        new, good, bad = tuple.__new__, Quality.GOOD, Quality.BAD
        for observation in observations:
            item_id, sequence, ts_us, _element, text, condition, _code = observation
            specs = followed.get(item_id)
            if specs is None or sequence < start:
                continue
            if condition:
                text = conditions.apply(observation)
            for spec in specs:
                if text is None:
                    append(new(Sample, (spec.key, ts_us, None, bad)))
                    continue
                try:
                    append(new(Sample, (spec.key, ts_us, converters[spec.data_type](text), good)))
                except ValueError:
                    append(self._sample(spec, ts_us, text))
        return samples

    # ------------------------------------------------------------------ polling

    async def read(self, tags: Sequence[TagSpec]) -> list[Sample]:
        document = await self._current()
        items: list[DataItem] = []
        refused: dict[str, str] = {}
        for spec in tags:
            try:
                items.append(self._resolve(spec))
            except AddressError as err:
                refused[spec.key] = f"tag {spec.name} ({spec.address}): {err}"
        if refused:
            raise BadAddress(self._where("; ".join(refused.values())), tags=tuple(refused))
        # A reader of its own: a poll must not disturb the conditions the stream is following.
        values = latest(document.observations, ConditionStates())
        fallback = document.header.creation_us or int(time.time() * 1_000_000)
        samples: list[Sample] = []
        for spec, item in zip(tags, items, strict=True):
            observation = values.get(item.id)
            if observation is None:  # in the probe but not in /current: the agent has no value yet
                samples.append(Sample(spec.key, fallback, None, Quality.BAD))
            else:
                samples.append(self._sample(spec, observation.ts_us, observation.text))
        return samples

    # ------------------------------------------------------------------ following the stream

    def pushes(self, tag: TagSpec) -> bool:
        return self.settings.mode == "sample"

    async def subscribe(
        self, tags: Sequence[TagSpec], sink: SampleSink
    ) -> tuple[Callable[[], Awaitable[None]], dict[str, str]]:
        await self._stop_following()
        document = await self._current()
        refused: dict[str, str] = {}
        followed: dict[str, list[TagSpec]] = {}
        for spec in tags:
            try:
                followed.setdefault(self._resolve(spec).id, []).append(spec)
            except AddressError as err:
                refused[spec.key] = str(err)
        self._followed = followed
        self._interval = self.settings.sample_interval or min((t.poll_interval for t in tags), default=1.0)
        self._conditions.clear()
        self._start_stream(document)
        sink(self._snapshot(document, None))
        if followed:
            self._follower = asyncio.create_task(self._follow(sink), name=f"mtconnect:{self.machine_id}")

        async def unsubscribe() -> None:
            await self._stop_following()

        return unsubscribe, refused

    def _start_stream(self, document: Streams) -> None:
        self._stream_instance = document.header.instance_id
        self._next = document.next_sequence

    async def _stop_following(self) -> None:
        follower, self._follower = self._follower, None
        if follower is not None:
            follower.cancel()
            await asyncio.gather(follower, return_exceptions=True)

    async def check(self) -> None:
        """Raise once following has stopped (the agent went away or answered nonsense)."""
        self._connected()
        follower = self._follower
        if follower is None or not follower.done():
            return
        if follower.cancelled():
            raise DeviceUnreachable(self._where("following the stream was cancelled"))
        error = follower.exception()
        if error is not None:
            raise error
        raise DeviceUnreachable(self._where("following the stream stopped"))

    async def _follow(self, sink: SampleSink) -> None:
        """Ask for the observations from nextSequence on, again and again; no sequence number is skipped."""
        while True:
            count = min(self.settings.count, self._buffer_size or self.settings.count)
            asked = self._next
            assert asked is not None
            document = await self._get("sample", {"from": asked, "count": count}, "Streams")
            instance = document.header.instance_id
            if instance is not None and instance != self._stream_instance:
                await self._restarted(sink, None)
                continue
            if isinstance(document, AgentError):
                if "OUT_OF_RANGE" not in document.codes:
                    url = self._url("sample", {"from": asked, "count": count})
                    raise DriverError(self._where(f"refused: {document.describe()}", url))
                await self._resync_after_gap(sink, asked, document)
                continue
            assert isinstance(document, Streams)
            if document.first_sequence > asked:  # an agent that answers from what it still has
                await self._resync_after_gap(sink, asked, None)
                continue
            if document.next_sequence < asked:  # the sequence went back without a new instance
                await self._restarted(sink, None)
                continue
            batch = self._changes(document.observations, asked)
            if batch:
                sink(batch)
            self._next = document.next_sequence
            if self._next > document.last_sequence or self._next == asked:
                await asyncio.sleep(self._interval)
            # else: more is waiting in the agent's buffer; ask again at once to catch up.

    async def _restarted(self, sink: SampleSink, document: Streams | None) -> None:
        """A new agent instance: its sequence numbers start again; probe and take /current afresh.

        ``document`` is a /current answer already taken after probing the new instance, if any.
        """
        if document is None:
            await self._probe()
            document = await self._current()
        log.info(
            "machine %s: MTConnect agent %s restarted (instance %s, was %s): resynchronised from /current",
            self.machine_id,
            self._base,
            document.header.instance_id,
            self._stream_instance,
        )
        for item_id, specs in self._followed.items():
            for spec in specs:
                try:
                    found = self._resolve(spec)
                except AddressError as err:
                    # The runtime subscribes again and then polls this tag from quarantine.
                    raise DeviceUnreachable(
                        self._where(f"after the agent restarted, tag {spec.name}: {err}")
                    ) from None
                if found.id != item_id:
                    raise DeviceUnreachable(
                        self._where(f"after the agent restarted, tag {spec.name} names {found.id}")
                    )
        self._conditions.clear()
        self._start_stream(document)
        sink(self._snapshot(document, None))

    async def _resync_after_gap(self, sink: SampleSink, asked: int, error: AgentError | None) -> None:
        """``asked`` fell out of the agent's buffer: count what was lost and go on from /current."""
        document = await self._current()
        first, resume = document.first_sequence, document.next_sequence
        if document.header.instance_id != self._stream_instance or asked > resume:
            await self._restarted(sink, document)
            return
        if error is not None and asked >= first:
            # 'from' is still in the buffer, so the agent refused something else (a count too large?).
            raise DriverError(self._where(f"refused /sample?from={asked}: {error.describe()}"))
        received = sum(1 for o in document.observations if asked <= o.sequence < resume)
        lost = max(0, resume - asked - received)
        self.gaps += 1
        self.dropped += lost
        log.warning(
            "machine %s: MTConnect agent %s: the stream fell out of the agent's buffer (it starts at %d "
            "now): observations %d to %d skipped, %d lost, resynchronised from /current at %d",
            self.machine_id,
            self._base,
            first,
            asked,
            resume - 1,
            lost,
            resume,
        )
        sink(self._snapshot(document, asked))
        self._next = resume

    # ------------------------------------------------------------------ writes

    async def write(self, tag: TagSpec, value: TagValue) -> None:
        raise BadAddress(
            self._where(f"tag {tag.name}: MTConnect agents are read-only; nothing can be written"),
            tags=(tag.key,),
        )


def _describe(err: httpx.HTTPError) -> str:
    text = str(err) or type(err).__name__
    return f"cannot connect ({text})" if isinstance(err, httpx.ConnectError) else text


class MTConnectFactory:
    name = "mtconnect"

    def parse(self, connection: Mapping[str, Any]) -> MTConnectConnection:
        try:
            return MTConnectConnection.model_validate(dict(connection))
        except ValidationError as err:
            raise ConfigError(str(err)) from None

    def validate(self, connection: Mapping[str, Any], tags: Sequence[TagSpec]) -> list[tuple[Location, str]]:
        problems: list[tuple[Location, str]] = []
        try:
            MTConnectConnection.model_validate(dict(connection))
        except ValidationError as err:
            problems.extend(
                (("connection", *loc), message) for loc, message in validation_problems(err, _model_at)
            )
        for index, spec in enumerate(tags):
            try:
                address = parse_address(spec.address)
            except AddressError as err:
                problems.append((("tags", index, "address"), str(err)))
                continue
            problem = address_type_problem(address, spec.data_type)
            if problem:
                problems.append((("tags", index, "type"), problem))
            problem = _tag_problem(spec)
            if problem:
                problems.append((("tags", index, "options"), problem))
        return problems

    def create(
        self, machine_id: str, connection: Mapping[str, Any], tags: Sequence[TagSpec]
    ) -> MTConnectDriver:
        try:
            return MTConnectDriver(machine_id, self.parse(connection), tags)
        except AddressError as err:
            raise ConfigError(f"{machine_id}: {err}") from None
