"""Real-looking MTConnect documents, and a stand-in agent that answers whatever bytes a test gives it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit

# A probe of an older (1.3) agent, shaped like cppagent's VMC-3Axis sample: nested components, a
# deprecated SPINDLE_SPEED, two feedrates told apart by subType, conditions without names, a data set.
PROBE_13 = b"""<?xml version="1.0" encoding="UTF-8"?>
<MTConnectDevices xmlns:m="urn:mtconnect.org:MTConnectDevices:1.3"
    xmlns="urn:mtconnect.org:MTConnectDevices:1.3"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xsi:schemaLocation="urn:mtconnect.org:MTConnectDevices:1.3 http://www.mtconnect.org/schemas/MTConnectDevices_1.3.xsd">
  <Header creationTime="2026-05-04T08:00:00Z" sender="mtc-agent" instanceId="1714800000"
      version="1.3.0.18" assetBufferSize="1024" assetCount="0" bufferSize="131072"/>
  <Devices>
    <Device id="d1" name="VMC-3Axis" uuid="000">
      <Description manufacturer="SystemInsights"/>
      <DataItems>
        <DataItem category="EVENT" id="avail" name="avail" type="AVAILABILITY"/>
      </DataItems>
      <Components>
        <Axes id="a" name="base">
          <Components>
            <Linear id="x" name="X">
              <DataItems>
                <DataItem category="SAMPLE" id="Xact" name="Xact" nativeUnits="MILLIMETER"
                    subType="ACTUAL" type="POSITION" units="MILLIMETER"/>
                <DataItem category="CONDITION" id="Xtravel" type="POSITION"/>
              </DataItems>
            </Linear>
            <Rotary id="c" name="C">
              <DataItems>
                <DataItem category="SAMPLE" id="Sspeed" name="Sspeed" nativeUnits="REVOLUTION/MINUTE"
                    subType="ACTUAL" type="SPINDLE_SPEED" units="REVOLUTION/MINUTE"/>
                <DataItem category="SAMPLE" id="Sload" name="Sload" type="LOAD" units="PERCENT"/>
              </DataItems>
            </Rotary>
          </Components>
        </Axes>
        <Controller id="cont" name="controller">
          <DataItems>
            <DataItem category="EVENT" id="estop" name="estop" type="EMERGENCY_STOP"/>
            <DataItem category="CONDITION" id="system" name="system" type="SYSTEM"/>
          </DataItems>
          <Components>
            <Path id="path" name="path">
              <DataItems>
                <DataItem category="EVENT" id="mode" name="mode" type="CONTROLLER_MODE"/>
                <DataItem category="EVENT" id="execution" name="execution" type="EXECUTION"/>
                <DataItem category="EVENT" id="program" name="program" type="PROGRAM"/>
                <DataItem category="EVENT" id="pc" name="PartCount" type="PART_COUNT"/>
                <DataItem category="SAMPLE" id="Fact" name="Fact" type="PATH_FEEDRATE"
                    subType="ACTUAL" units="MILLIMETER/SECOND"/>
                <DataItem category="SAMPLE" id="Fovr" name="Fovr" type="PATH_FEEDRATE"
                    subType="OVERRIDE" units="PERCENT"/>
                <DataItem category="EVENT" id="vars" name="vars" type="VARIABLE" representation="DATA_SET"/>
              </DataItems>
            </Path>
          </Components>
        </Controller>
      </Components>
    </Device>
  </Devices>
</MTConnectDevices>
"""

# Its /current, out of sequence order the way agents group observations by component: the spindle is
# unavailable, the system condition has a warning and a fault active at once, X travel is unavailable.
CURRENT_13 = b"""<?xml version="1.0" encoding="UTF-8"?>
<MTConnectStreams xmlns:m="urn:mtconnect.org:MTConnectStreams:1.3"
    xmlns="urn:mtconnect.org:MTConnectStreams:1.3"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xsi:schemaLocation="urn:mtconnect.org:MTConnectStreams:1.3 http://www.mtconnect.org/schemas/MTConnectStreams_1.3.xsd">
  <Header creationTime="2026-05-04T08:00:05Z" sender="mtc-agent" instanceId="1714800000"
      version="1.3.0.18" bufferSize="131072" nextSequence="120" firstSequence="1" lastSequence="119"/>
  <Streams>
    <DeviceStream name="VMC-3Axis" uuid="000">
      <ComponentStream component="Device" name="VMC-3Axis" componentId="d1">
        <Events>
          <Availability dataItemId="avail" timestamp="2026-05-04T08:00:00.123456Z" name="avail"
              sequence="3">AVAILABLE</Availability>
        </Events>
      </ComponentStream>
      <ComponentStream component="Linear" name="X" componentId="x">
        <Samples>
          <Position dataItemId="Xact" timestamp="2026-05-04T08:00:04.5Z" name="Xact" sequence="118"
              subType="ACTUAL">-12.7500</Position>
        </Samples>
        <Condition>
          <Unavailable dataItemId="Xtravel" timestamp="2026-05-04T08:00:00.000001Z" sequence="2"
              type="POSITION"/>
        </Condition>
      </ComponentStream>
      <ComponentStream component="Rotary" name="C" componentId="c">
        <Samples>
          <SpindleSpeed dataItemId="Sspeed" timestamp="2026-05-04T08:00:01Z" name="Sspeed" sequence="40"
              subType="ACTUAL">UNAVAILABLE</SpindleSpeed>
          <Load dataItemId="Sload" timestamp="2026-05-04T10:00:01.25+02:00" name="Sload"
              sequence="41">38.5</Load>
        </Samples>
      </ComponentStream>
      <ComponentStream component="Controller" name="controller" componentId="cont">
        <Events>
          <EmergencyStop dataItemId="estop" timestamp="2026-05-04T08:00:00.2Z" name="estop"
              sequence="5">ARMED</EmergencyStop>
        </Events>
        <Condition>
          <Warning dataItemId="system" timestamp="2026-05-04T08:00:02Z" name="system" sequence="60"
              type="SYSTEM" nativeCode="2051" nativeSeverity="2" qualifier="LOW">COOLANT LEVEL LOW</Warning>
          <Fault dataItemId="system" timestamp="2026-05-04T08:00:03Z" name="system" sequence="61"
              type="SYSTEM" nativeCode="1002">SP9012 SPINDLE OVERLOAD</Fault>
        </Condition>
      </ComponentStream>
      <ComponentStream component="Path" name="path" componentId="path">
        <Samples>
          <PathFeedrate dataItemId="Fact" timestamp="2026-05-04T08:00:04.9876543Z" name="Fact"
              sequence="119" subType="ACTUAL">36.6667</PathFeedrate>
          <PathFeedrate dataItemId="Fovr" timestamp="2026-05-04T08:00:00.3Z" name="Fovr" sequence="7"
              subType="OVERRIDE">100</PathFeedrate>
        </Samples>
        <Events>
          <ControllerMode dataItemId="mode" timestamp="2026-05-04T08:00:00.4Z" name="mode"
              sequence="8">AUTOMATIC</ControllerMode>
          <Execution dataItemId="execution" timestamp="2026-05-04T08:00:04Z" name="execution"
              sequence="100">ACTIVE</Execution>
          <Program dataItemId="program" timestamp="2026-05-04T08:00:00.5Z" name="program"
              sequence="9">O1002 &amp; O1003</Program>
          <PartCount dataItemId="pc" timestamp="2026-05-04T08:00:04.25Z" name="PartCount"
              sequence="117">33757</PartCount>
          <Variable dataItemId="vars" timestamp="2026-05-04T08:00:00.6Z" name="vars" sequence="10"
              count="2"><Entry key="offset">1.5</Entry><Entry key="tool">T12</Entry></Variable>
        </Events>
      </ComponentStream>
    </DeviceStream>
  </Streams>
</MTConnectStreams>
"""

ERROR_13 = b"""<?xml version="1.0" encoding="UTF-8"?>
<MTConnectError xmlns="urn:mtconnect.org:MTConnectError:1.3"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <Header creationTime="2026-05-04T08:00:06Z" sender="mtc-agent" instanceId="1714800000"
      version="1.3.0.18" bufferSize="131072"/>
  <Errors>
    <Error errorCode="OUT_OF_RANGE">'from' must be greater than or equal to 15021.</Error>
  </Errors>
</MTConnectError>
"""


def streams(
    observations: str = "", *, instance: int = 1714800000, first: int = 1, next_sequence: int = 120
) -> bytes:
    """An MTConnectStreams document of the probe above with ``observations`` on the path."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<MTConnectStreams xmlns="urn:mtconnect.org:MTConnectStreams:1.3">
  <Header creationTime="2026-05-04T08:00:05Z" sender="mtc-agent" instanceId="{instance}" version="1.3.0.18"
      bufferSize="131072" nextSequence="{next_sequence}" firstSequence="{first}"
      lastSequence="{next_sequence - 1}"/>
  <Streams><DeviceStream name="VMC-3Axis" uuid="000">
    <ComponentStream component="Path" name="path" componentId="path"><Events>{observations}</Events>
    </ComponentStream></DeviceStream></Streams>
</MTConnectStreams>
""".encode()


@dataclass
class Canned:
    """One answer: a status and a body, whole (with Content-Length) or made on the fly until the close."""

    body: bytes | Callable[[], Iterable[bytes]]
    status: int = 200
    hang_up: int = 0  # the first requests are answered by closing the connection, without a response


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        fake = self.server.fake
        path = urlsplit(self.path).path
        fake.requests.append(self.path)
        canned = fake.routes.get(path)
        if canned is None:
            canned = Canned(b"<html><body>Not Found</body></html>", status=404)
        if canned.hang_up > 0:
            canned.hang_up -= 1
            return  # HTTP/1.0: the server closes the connection after the handler
        self.send_response(canned.status)
        self.send_header("Content-Type", "text/xml")
        if isinstance(canned.body, bytes):
            self.send_header("Content-Length", str(len(canned.body)))
            self.end_headers()
            self._send([canned.body])
        else:
            self.end_headers()
            self._send(canned.body())

    def _send(self, chunks: Iterable[bytes]) -> None:
        fake = self.server.fake
        try:
            for chunk in chunks:
                self.wfile.write(chunk)
                fake.sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            fake.hung_up = True  # the client stopped reading

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = False
    fake: FakeAgent


@dataclass
class FakeAgent:
    """``async with FakeAgent() as fake: fake.routes["/probe"] = Canned(...)``; HTTP/1.0 on loopback."""

    routes: dict[str, Canned] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    sent: int = 0
    hung_up: bool = False
    _server: _Server | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    async def __aenter__(self) -> FakeAgent:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        assert self._server is not None and self._thread is not None
        await asyncio.to_thread(self._server.shutdown)
        await asyncio.to_thread(self._server.server_close)
        self._thread.join()


def endless(chunk: bytes, total: int) -> Callable[[], Iterator[bytes]]:
    """A body of ``total`` bytes made on the fly, ``chunk`` after ``chunk``."""

    def chunks() -> Iterator[bytes]:
        sent = 0
        while sent < total:
            yield chunk
            sent += len(chunk)

    return chunks
