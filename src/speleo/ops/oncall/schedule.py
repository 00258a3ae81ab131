"""Pure on-call schedule arithmetic: rotations, layers, overrides, who is on call, gaps.

No database and no clock here: every function takes the instants it needs (epoch seconds UTC)
and the schedule's IANA time zone (`zoneinfo`), so the daylight-saving behaviour is tested
without a server (tests/ops/oncall/test_schedule_dst.py).

Rules (docs/oncall.md):
- A rotation starts at a local date and hand-off time (`start`, naive local datetime) and hands
  off every `length` `unit`s of *wall-clock* time: daily = 1 day, weekly = 7 days, custom = N
  hours, days or weeks. Shift k starts at local `start + k * length`, read in the schedule's
  zone. So a 09:00 hand-off stays at 09:00 local across a daylight-saving change (that shift
  lasts 23 or 25 hours), and a 12-hour rotation hands off at 09:00 and 21:00 local.
- A local hand-off time that does not exist (in the spring-forward gap, e.g. 02:30 in Berlin on
  the last Sunday of March) happens at the instant the same offset as before the change gives,
  i.e. one hour later on the wall clock (PEP 495, fold=0); one that exists twice (fall back)
  happens at its first occurrence.
- Users take turns in the order given: shift k belongs to `users[k % len(users)]`.
- Layers: where several rotations cover an instant, the highest `layer` wins; an override
  (a user from an instant to an instant) wins over every layer, the newest override first.
- A gap is a time no one covers.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from dataclasses import asdict, dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from speleo.errors import InputError

UNITS = {"hours": dt.timedelta(hours=1), "days": dt.timedelta(days=1), "weeks": dt.timedelta(weeks=1)}
KINDS = {"daily": (1, "days"), "weekly": (1, "weeks"), "custom": None}
MAX_SHIFTS = 20_000  # shifts one range computation may produce (a year of hourly shifts is 8,760)


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name`. Raises InputError for an unknown one."""
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise InputError(f"time zone {name!r} is not an IANA time zone name (e.g. Europe/Berlin, "
                         "America/New_York, UTC)") from None


def local_to_epoch(local: dt.datetime, tz: ZoneInfo) -> float:
    """Epoch seconds of a naive local wall time in `tz` (fold=0: gap times move forward, repeated
    times take their first occurrence)."""
    return local.replace(tzinfo=tz, fold=0).timestamp()


def epoch_to_local(t: float, tz: ZoneInfo) -> dt.datetime:
    """The naive local wall time of epoch `t` in `tz`."""
    return dt.datetime.fromtimestamp(t, tz).replace(tzinfo=None)


@dataclass(frozen=True)
class Rotation:
    """One rotation (layer): `start`/`end` are naive local datetimes in the schedule's zone."""

    name: str
    users: tuple[str, ...]
    start: dt.datetime
    length: int = 1
    unit: str = "days"
    layer: int = 0
    end: dt.datetime | None = None
    id: int | None = None

    @property
    def step(self) -> dt.timedelta:
        return UNITS[self.unit] * self.length


@dataclass(frozen=True)
class Override:
    """`user` is on call from `start` to `end` (epoch seconds UTC), above every layer."""

    user: str
    start: float
    end: float
    id: int = 0
    reason: str = ""


@dataclass(frozen=True)
class Shift:
    """Someone on call from `start` to `end` (epoch seconds UTC); `source` is "rotation" or "override"."""

    user: str
    start: float
    end: float
    source: str = "rotation"
    rotation: str | None = None
    layer: int | None = None

    def to_dict(self, tz: ZoneInfo | None = None) -> dict:
        d = asdict(self)
        if tz is not None:
            d["start_local"] = dt.datetime.fromtimestamp(self.start, tz).isoformat()
            d["end_local"] = dt.datetime.fromtimestamp(self.end, tz).isoformat()
        return d


@dataclass(frozen=True)
class Gap:
    start: float
    end: float

    def to_dict(self, tz: ZoneInfo | None = None) -> dict:
        d = {"start": self.start, "end": self.end, "hours": round((self.end - self.start) / 3600, 3)}
        if tz is not None:
            d["start_local"] = dt.datetime.fromtimestamp(self.start, tz).isoformat()
            d["end_local"] = dt.datetime.fromtimestamp(self.end, tz).isoformat()
        return d


@dataclass
class Schedule:
    name: str
    time_zone: str
    rotations: list[Rotation] = field(default_factory=list)
    overrides: list[Override] = field(default_factory=list)

    @property
    def tz(self) -> ZoneInfo:
        return zone(self.time_zone)


def rotation_length(kind: str, length: int | None, unit: str | None) -> tuple[int, str]:
    """(length, unit) of a rotation kind: daily, weekly, or custom with `length` `unit`s.

    Raises InputError for an unknown kind or unit, or a custom length under 1 hour or over 52 weeks.
    """
    if kind not in KINDS:
        raise InputError(f"rotation kind {kind!r}: one of daily, weekly, custom")
    if kind != "custom":
        return KINDS[kind]
    unit = unit or "days"
    if unit not in UNITS:
        raise InputError(f"rotation unit {unit!r}: one of {', '.join(UNITS)}")
    try:
        n = int(length or 0)
    except (TypeError, ValueError):
        raise InputError(f"rotation length {length!r}: a whole number of {unit}") from None
    if n < 1 or UNITS[unit] * n > dt.timedelta(weeks=52):
        raise InputError(f"rotation length {length} {unit}: between 1 hour and 52 weeks")
    return n, unit


def shift_bounds(rot: Rotation, tz: ZoneInfo, k: int) -> tuple[float, float]:
    """UTC instants (start, end) of shift number k (k >= 0) of `rot`, end cut at the rotation's end."""
    start = local_to_epoch(rot.start + rot.step * k, tz)
    end = local_to_epoch(rot.start + rot.step * (k + 1), tz)
    if rot.end is not None:
        end = min(end, local_to_epoch(rot.end, tz))
    return start, end


def shift_index_at(rot: Rotation, tz: ZoneInfo, t: float) -> int | None:
    """The number of the shift of `rot` that covers instant `t`, or None (before start, after end)."""
    if not rot.users:
        return None
    k0 = math.floor((epoch_to_local(t, tz) - rot.start) / rot.step)
    for k in (k0 - 1, k0, k0 + 1, k0 + 2):  # a wall-clock estimate is off by at most one shift near a change
        if k < 0:
            continue
        s, e = shift_bounds(rot, tz, k)
        if s <= t < e:
            return k
    return None


def rotation_shifts(rot: Rotation, tz: ZoneInfo, start: float, end: float) -> list[Shift]:
    """The shifts of `rot` overlapping [start, end), clipped to it, oldest first."""
    out: list[Shift] = []
    if not rot.users or end <= start:
        return out
    first = local_to_epoch(rot.start, tz)
    k = 0 if start <= first else (shift_index_at(rot, tz, start) or max(0, math.floor(
        (epoch_to_local(start, tz) - rot.start) / rot.step)))
    while len(out) < MAX_SHIFTS:
        s, e = shift_bounds(rot, tz, k)
        if s >= end or (rot.end is not None and s >= local_to_epoch(rot.end, tz)):
            break
        if e > start and e > s:
            out.append(Shift(rot.users[k % len(rot.users)], max(s, start), min(e, end), "rotation", rot.name,
                             rot.layer))
        k += 1
    return out


def final_shifts(sched: Schedule, start: float, end: float) -> list[Shift]:
    """Who is on call over [start, end): layers and overrides resolved, neighbours of the same
    user and source merged; times no one covers are absent (see `gaps`)."""
    tz = sched.tz
    per_rot = [rotation_shifts(r, tz, start, end) for r in sched.rotations]
    index = [([sh.start for sh in shs], shs) for shs in per_rot if shs]   # each rotation's shifts are sorted, disjoint
    overs = [o for o in sched.overrides if o.end > start and o.start < end]
    cuts = sorted({start, end, *(x for shs in per_rot for sh in shs for x in (sh.start, sh.end)),
                   *(min(max(x, start), end) for o in overs for x in (o.start, o.end))})
    out: list[Shift] = []
    for a, b in zip(cuts, cuts[1:]):
        if b <= a:
            continue
        win = _winner(index, overs, a)
        if win is None:
            continue
        prev = out[-1] if out else None
        if prev and prev.end == a and (prev.user, prev.source, prev.rotation) == (win.user, win.source, win.rotation):
            out[-1] = Shift(prev.user, prev.start, b, prev.source, prev.rotation, prev.layer)
        else:
            out.append(Shift(win.user, a, b, win.source, win.rotation, win.layer))
    return out


def _winner(index: list[tuple[list[float], list[Shift]]], overs: list[Override], t: float) -> Shift | None:
    live = [o for o in overs if o.start <= t < o.end]
    if live:
        o = max(live, key=lambda o: o.id)
        return Shift(o.user, o.start, o.end, "override", None, None)
    best: Shift | None = None
    for starts, shs in index:
        i = bisect.bisect_right(starts, t) - 1
        if i >= 0 and shs[i].end > t and (best is None or (shs[i].layer or 0) > (best.layer or 0)):
            best = shs[i]
    return best


def who_at(sched: Schedule, t: float) -> Shift | None:
    """The shift (user, source, bounds clipped to one second around `t`'s cover) on call at `t`, or None."""
    found = final_shifts(sched, t, t + 1)
    return found[0] if found else None


def gaps(sched: Schedule, start: float, end: float) -> list[Gap]:
    """The stretches of [start, end) no one covers, oldest first."""
    out: list[Gap] = []
    at = start
    for sh in final_shifts(sched, start, end):
        if sh.start > at:
            out.append(Gap(at, sh.start))
        at = max(at, sh.end)
    if at < end:
        out.append(Gap(at, end))
    return out


def parse_local(value: str, what: str = "start") -> dt.datetime:
    """A naive local datetime from ISO text `2026-03-23T09:00` (a zone or offset is refused:
    rotation times are wall-clock times in the schedule's zone). Raises InputError."""
    try:
        d = dt.datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise InputError(f"{what}: {value!r} is not a local date and time like 2026-03-23T09:00") from None
    if d.tzinfo is not None:
        raise InputError(f"{what}: {value!r} carries a zone offset; give the local wall time in the "
                         "schedule's time zone, e.g. 2026-03-23T09:00")
    return d
