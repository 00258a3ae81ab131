"""Shared fixtures for ingest tests: the shared data folder and loghub ground truth.

Ground truth is computed here with `csv` and `datetime` only, independently of Speleo.
"""

from __future__ import annotations

import csv
from datetime import datetime, timezone
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
LOGHUB = ("Apache", "BGL", "HDFS", "HPC", "Hadoop", "Linux", "OpenSSH", "OpenStack", "Spark", "Zookeeper")
# Systems whose lines carry no year: compare (month, day, H, M, S) only.
YEARLESS = {"Linux", "OpenSSH"}


@pytest.fixture
def data_dir() -> Path:
    """The shared data folder (`<repo>/../shared/data`); skips when it is missing."""
    if not DATA.is_dir():
        pytest.skip(f"shared data folder not found at {DATA}")
    return DATA


def _utc(text: str, fmt: str) -> float:
    return datetime.strptime(text, fmt).replace(tzinfo=timezone.utc).timestamp()


def _truth_row(system: str, row: dict[str, str]) -> float | tuple[int, int, int, int, int]:
    if system == "Apache":
        return _utc(row["Time"], "%a %b %d %H:%M:%S %Y")
    if system in ("BGL", "HPC"):
        return float(row["Timestamp" if system == "BGL" else "Time"])
    if system == "HDFS":
        return _utc(row["Date"] + " " + row["Time"], "%y%m%d %H%M%S")
    if system in ("Hadoop", "Zookeeper"):
        return _utc(row["Date"] + " " + row["Time"].replace(",", "."), "%Y-%m-%d %H:%M:%S.%f")
    if system == "OpenStack":
        return _utc(row["Date"] + " " + row["Time"], "%Y-%m-%d %H:%M:%S.%f")
    if system == "Spark":
        return _utc(row["Date"] + " " + row["Time"], "%y/%m/%d %H:%M:%S")
    month, day = (row["Month"], row["Date"]) if system == "Linux" else (row["Date"], row["Day"])
    t = datetime.strptime(f"{month} {day} {row['Time']}", "%b %d %H:%M:%S")
    return (t.month, t.day, t.hour, t.minute, t.second)


def ground_truth(data: Path, system: str) -> list[float | tuple[int, int, int, int, int]]:
    """Ground-truth time of every line of `<System>_2k.log`: epoch seconds UTC, or for
    year-less systems a (month, day, hour, minute, second) tuple."""
    path = data / "loghub" / system / f"{system}_2k.log_structured.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        return [_truth_row(system, row) for row in csv.DictReader(fh)]


def same_time(system: str, got: float | None, truth: float | tuple[int, ...]) -> bool:
    """Whether `got` (epoch seconds UTC) equals the ground truth of a line."""
    if got is None:
        return False
    if isinstance(truth, tuple):
        t = datetime.fromtimestamp(got, timezone.utc)
        return (t.month, t.day, t.hour, t.minute, t.second) == truth
    return abs(got - truth) < 1e-3


@pytest.fixture
def truth_of(data_dir: Path):
    """`truth_of(system)`: ground truth of every line (see `ground_truth`)."""
    return lambda system: ground_truth(data_dir, system)


@pytest.fixture
def time_matches():
    """`time_matches(system, got, truth)`: see `same_time`."""
    return same_time
