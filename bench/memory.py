"""Resident memory (RSS) of the headless edge agent on a large plant, measured on the real process.

50 machines x 100 tags at 1 Hz (5,000 samples/s) are written to a plant file and run with
``linesight run --headless`` as a subprocess, whose RSS is sampled every few seconds. Memory grows
while the live cache fills its ring of 600 points per tag (10 minutes at 1 Hz) and while DuckDB's
buffer pool keeps the blocks it writes (up to the historian's memory_limit, 64 MB by default): the
default run lasts 20 minutes, and the last minute's growth is printed to show whether it has levelled
off.

Target: RSS <= 300 MB. Run: .venv/bin/python bench/memory.py [--minutes M --machines N --tags T --hz F]
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import yaml

# Run as a script, bench/ is first on sys.path: the shared synthetic plants import as a top-level module.
from _plants import synthetic_plant
from linesight.runtime.live import RING_POINTS
from linesight.runtime.plantfile import load_plant

TARGET_MB = 300.0
MB = 1024 * 1024
LINESIGHT = Path(sys.executable).with_name("linesight")


@dataclass(frozen=True, kw_only=True)
class Reading:
    elapsed: float
    rss: int
    db_bytes: int


def write_plant(machines: int, tags: int, hz: float, path: Path) -> None:
    """Write the synthetic plant as YAML and check that it reads back to the same configuration."""
    plant = synthetic_plant(machines, tags, 1.0 / hz)
    document = plant.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    if load_plant(path) != plant:
        raise SystemExit(f"the plant written to {path} does not read back to the synthetic plant")
    check = subprocess.run([str(LINESIGHT), "check", str(path)], capture_output=True, text=True, check=False)
    if check.returncode != 0:
        raise SystemExit(f"linesight check rejected the plant file:\n{check.stdout}{check.stderr}")
    print(check.stdout.strip())


def db_size(db: Path) -> int:
    """The historian file plus its write-ahead log, in bytes."""
    return sum(p.stat().st_size for p in (db, db.with_name(db.name + ".wal")) if p.exists())


def stop(agent: subprocess.Popen[bytes], timeout: float = 60.0) -> int:
    agent.send_signal(signal.SIGTERM)
    try:
        return agent.wait(timeout)
    except subprocess.TimeoutExpired:
        agent.kill()
        agent.wait()
        raise SystemExit(f"the agent did not stop within {timeout:.0f} s of SIGTERM; killed it") from None


def measure(machines: int, tags: int, hz: float, minutes: float, every: float, folder: Path) -> bool:
    offered = machines * tags * hz
    plant_file, db = folder / "plant.yaml", folder / "historian.duckdb"
    write_plant(machines, tags, hz, plant_file)
    print(f"plant: {machines} machines x {tags} tags at {hz:g} Hz = {offered:,.0f} samples/s offered")
    fill = RING_POINTS / hz
    print(f"live rings ({RING_POINTS} points per tag) are full after {fill / 60:.1f} min")
    if minutes * 60 < fill:
        print(f"warning: a {minutes:g} min run ends before the rings are full; RSS is not at steady state")
    out_path, err_path = folder / "agent.out", folder / "agent.err"
    command = [
        str(LINESIGHT),
        "run",
        "--headless",
        "--plant",
        str(plant_file),
        "--db",
        str(db),
        "--status-interval",
        "0",
    ]
    readings: list[Reading] = []
    with out_path.open("wb") as out, err_path.open("wb") as err:
        t0 = time.monotonic()
        agent = subprocess.Popen(command, stdout=out, stderr=err)
        process = psutil.Process(agent.pid)
        print(f"agent pid {agent.pid}: {' '.join(command)}")
        print(f"{'min':>6} {'RSS MB':>8} {'peak MB':>8} {'samples (offered)':>18} {'db MB':>8}")
        next_report = 60.0
        try:
            while (elapsed := time.monotonic() - t0) < minutes * 60:
                if agent.poll() is not None:
                    break
                readings.append(Reading(elapsed=elapsed, rss=process.memory_info().rss, db_bytes=db_size(db)))
                if elapsed >= next_report:
                    report(readings[-1], max(r.rss for r in readings), offered)
                    next_report += 60.0
                time.sleep(min(every, max(0.0, minutes * 60 - elapsed)))
            if agent.poll() is None:
                readings.append(
                    Reading(
                        elapsed=time.monotonic() - t0, rss=process.memory_info().rss, db_bytes=db_size(db)
                    )
                )
                report(readings[-1], max(r.rss for r in readings), offered)
                code = stop(agent)
            else:
                code = agent.returncode
                print(f"the agent exited by itself after {time.monotonic() - t0:.0f} s")
        except BaseException:
            if agent.poll() is None:
                stop(agent)
            raise
    stdout = out_path.read_text(errors="replace").strip()
    stderr = err_path.read_text(errors="replace").strip()
    if stdout:
        print(f"agent: {stdout.splitlines()[-1]}")
    problems = [line for line in stderr.splitlines() if " WARNING " in line or " ERROR " in line]
    for line in problems[:10]:
        print(f"agent stderr: {line}")
    print(f"agent exit code after SIGTERM: {code}" + ("" if code == 0 else f"\n{stderr[-2000:]}"))
    final, peak = readings[-1].rss / MB, max(r.rss for r in readings) / MB
    tail = [r.rss for r in readings if r.elapsed >= readings[-1].elapsed - 60]
    print(
        f"RSS after {readings[-1].elapsed / 60:.1f} min: final {final:.0f} MB, peak {peak:.0f} MB, "
        f"last minute {(tail[-1] - tail[0]) / MB:+.1f} MB   (target <= {TARGET_MB:.0f} MB)"
    )
    passed = code == 0 and peak <= TARGET_MB
    print("RESULT", "PASS" if passed else "FAIL")
    return passed


def report(reading: Reading, peak: int, offered: float) -> None:
    samples = f"{reading.elapsed * offered:,.0f}"
    print(
        f"{reading.elapsed / 60:6.1f} {reading.rss / MB:8.0f} {peak / MB:8.0f} {samples:>18} "
        f"{reading.db_bytes / MB:8.0f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--machines", type=int, default=50)
    parser.add_argument("--tags", type=int, default=100)
    parser.add_argument("--hz", type=float, default=1.0)
    parser.add_argument("--minutes", type=float, default=20.0, help="run length (default 20: rings full)")
    parser.add_argument("--every", type=float, default=2.0, help="seconds between RSS samples")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="linesight-memory-") as folder:
        passed = measure(args.machines, args.tags, args.hz, args.minutes, args.every, Path(folder))
    raise SystemExit(0 if passed else 1)


if __name__ == "__main__":
    main()
