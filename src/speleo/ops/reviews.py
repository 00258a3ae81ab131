"""After-action reviews of projects and releases (learning-loop spec 4.5 [X15], 5.7).

The four AAR questions in order: what was supposed to happen (goals with measurable targets:
`op` one of <=, >=, <, >, == and a `target` number, each optionally bound to an SPL search), what
actually happened (`observe` runs each bound search over the review's window and stores its first
numeric value as `observed`), why there was a difference (`why` per goal, `went_right` /
`went_wrong` for the review), and what to sustain or improve (actions of type `sustain` or
`improve` on `speleo.ops.actions`, source_type "review", source_item = the goal id or None).

"It is okay to leave with open action items for investigations; it is not okay to leave without
people assigned": every action already has exactly one owner (`speleo.ops.actions`), and
`finish` refuses a review without any action or with a goal whose result was never observed
(rules below). Tables `reviews`, `review_goals` (migration `0005_postmortem`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from speleo.clock import Clock, SystemClock
from speleo.errors import InputError
from speleo.ops.actions import Actions, ActionRow, RuleError
from speleo.ops.checklists import Searcher, _get, _num
from speleo.ops.db import Base, Database, record_change

OPS = {"<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b, "<": lambda a, b: a < b, ">": lambda a, b: a > b,
       "==": lambda a, b: a == b}
OPEN, FINISHED = "open", "finished"


class ReviewRow(Base):
    __tablename__ = "reviews"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    release_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    window_start: Mapped[float] = mapped_column(Float, nullable=False)
    window_end: Mapped[float] = mapped_column(Float, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    went_right: Mapped[str] = mapped_column(Text, nullable=False, default="")
    went_wrong: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_by: Mapped[str] = mapped_column(String(120), nullable=False)
    created_at: Mapped[float] = mapped_column(Float, nullable=False)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)

    def to_dict(self) -> dict:
        return {c: getattr(self, c) for c in ("id", "title", "release_id", "window_start", "window_end", "status",
                                             "went_right", "went_wrong", "created_by", "created_at", "finished_at")}


class GoalRow(Base):
    __tablename__ = "review_goals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"), nullable=False, index=True)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    op: Mapped[str] = mapped_column(String(4), nullable=False)
    target: Mapped[float] = mapped_column(Float, nullable=False)
    search: Mapped[str | None] = mapped_column(Text, nullable=True)
    observed: Mapped[float | None] = mapped_column(Float, nullable=True)
    observed_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    why: Mapped[str] = mapped_column(Text, nullable=False, default="")

    def to_dict(self) -> dict:
        d = {c: getattr(self, c) for c in ("id", "text", "op", "target", "search", "observed", "observed_at", "why")}
        d["met"] = None if self.observed is None else OPS[self.op](self.observed, self.target)
        d["difference"] = None if self.observed is None else self.observed - self.target
        return d


class Reviews:
    """After-action reviews of one operations database."""

    def __init__(self, db: Database, clock: Clock | None = None, searcher: Searcher | None = None,
                 actions: Actions | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        self.searcher = searcher
        self.actions = actions or Actions(db, self.clock)

    def create(self, title: str, window_start: Any, window_end: Any, actor: str, release_id: int | None = None) -> dict:
        start, end = _num(window_start, "window start"), _num(window_end, "window end")
        if end <= start:
            raise InputError("window: the end comes after the start")
        t = str(title or "").strip()
        if not t or len(t) > 200:
            raise InputError("title: 1 to 200 characters")
        now = self.clock.time()
        with self.db.session() as s:
            r = ReviewRow(title=t, release_id=release_id, window_start=start, window_end=end, status=OPEN,
                          went_right="", went_wrong="", created_by=actor, created_at=now)
            s.add(r)
            s.flush()
            record_change(s, "review", r.id, "created", None, r.to_dict(), actor, at=now)
            return self._full(s, r)

    def get(self, review_id: Any) -> dict:
        with self.db.session() as s:
            return self._full(s, _get(s, ReviewRow, review_id, "review"))

    def list(self) -> list[dict]:
        with self.db.session() as s:
            return [r.to_dict() for r in s.scalars(select(ReviewRow).order_by(ReviewRow.id.desc()).limit(1000))]

    def add_goal(self, review_id: Any, actor: str, text: str, op: str, target: Any, search: str | None = None) -> dict:
        """A stated goal: `text`, and the measurable target `observed OP target`."""
        if op not in OPS:
            raise InputError(f"op: '{op}' is not one of {', '.join(OPS)}")
        if not str(text or "").strip():
            raise InputError("text: say what was supposed to happen")
        with self.db.session() as s:
            r = self._open(s, review_id)
            g = GoalRow(review_id=r.id, text=str(text).strip(), op=op, target=_num(target, "target"),
                        search=(search or "").strip() or None, why="")
            s.add(g)
            s.flush()
            record_change(s, "review", r.id, f"goal:{g.id}", None, g.to_dict(), actor)
            return g.to_dict()

    def observe(self, review_id: Any, actor: str) -> dict:
        """Run each goal's search over the window; `observed` = the first numeric value (or the count)."""
        if self.searcher is None:
            raise InputError("no search engine given to observe the goals")
        now = self.clock.time()
        with self.db.session() as s:
            r = self._open(s, review_id)
            goals = [(g.id, g.search) for g in s.scalars(select(GoalRow).where(GoalRow.review_id == r.id))]
            start, end = r.window_start, r.window_end
        for gid, spl in goals:
            if not spl:
                continue
            count, value = self.searcher(spl, start, end)
            with self.db.session() as s:
                g = s.get(GoalRow, gid)
                g.observed, g.observed_at = (value if value is not None else float(count)), now
                record_change(s, "review", review_id, f"goal:{gid}:observed", None, g.observed, actor, at=now)
        return self.get(review_id)

    def update(self, review_id: Any, actor: str, *, went_right: str | None = None, went_wrong: str | None = None,
               goal: Any = None, why: str | None = None, observed: Any = None) -> dict:
        """Record what went right/wrong, a goal's `why`, or an observed result measured by hand."""
        with self.db.session() as s:
            r = self._open(s, review_id)
            for f, v in (("went_right", went_right), ("went_wrong", went_wrong)):
                if v is not None:
                    record_change(s, "review", r.id, f, getattr(r, f), v, actor)
                    setattr(r, f, v)
            if goal is not None:
                g = _get(s, GoalRow, goal, "goal")
                if g.review_id != r.id:
                    raise InputError(f"goal {goal} is not a goal of review {r.id}")
                if why is not None:
                    g.why = why
                if observed is not None:
                    g.observed, g.observed_at = _num(observed, "observed"), self.clock.time()
            return self._full(s, r)

    def add_action(self, review_id: Any, actor: str, *, kind: str, title: Any, owner: Any, expected: Any,
                   due_at: Any, goal: Any = None) -> dict:
        """A sustain or improve action (`kind`), on the shared action machinery."""
        if kind not in ("sustain", "improve"):
            raise InputError(f"kind: '{kind}' is not sustain or improve")
        with self.db.session() as s:
            r = self._open(s, review_id)
            if goal is not None and _get(s, GoalRow, goal, "goal").review_id != r.id:
                raise InputError(f"goal {goal} is not a goal of review {r.id}")
            return self.actions.add_in(s, "review", r.id, actor, title=title, owner=owner, expected=expected,
                                       due_at=due_at, type=kind, source_item=None if goal is None else int(goal))

    def finish(self, review_id: Any, actor: str) -> dict:
        """Finish the review. Rules: `review-needs-actions` (at least one sustain/improve action,
        each with its owner), `review-goals-observed` (every goal has an observed result),
        `review-needs-why` (every goal that missed its target says why)."""
        now = self.clock.time()
        with self.db.session() as s:
            r = self._open(s, review_id)
            d = self._full(s, r)
            if not d["actions"]:
                raise RuleError(f"review {r.id} has no action: add sustain and improve actions, each with an owner",
                                "review-needs-actions")
            unowned = [a["id"] for a in d["actions"] if not a["owner"]]
            if unowned:
                raise RuleError(f"actions {unowned} have no owner", "review-actions-need-owners")
            missing = [g["id"] for g in d["goals"] if g["observed"] is None]
            if missing:
                raise RuleError(f"goals {missing} have no observed result: run 'speleo review observe' or give "
                                "one by hand", "review-goals-observed")
            no_why = [g["id"] for g in d["goals"] if g["met"] is False and not g["why"].strip()]
            if no_why:
                raise RuleError(f"goals {no_why} missed their target: say why (--why)", "review-needs-why")
            r.status, r.finished_at = FINISHED, now
            record_change(s, "review", r.id, "status", OPEN, FINISHED, actor, at=now)
            return self._full(s, r)

    def _open(self, s: Session, review_id: Any) -> ReviewRow:
        r = _get(s, ReviewRow, review_id, "review")
        if r.status == FINISHED:
            raise RuleError(f"review {r.id} is finished; it does not change", "review-finished")
        return r

    def _full(self, s: Session, r: ReviewRow) -> dict:
        d = r.to_dict()
        d["goals"] = [g.to_dict() for g in s.scalars(select(GoalRow).where(GoalRow.review_id == r.id).order_by(GoalRow.id))]
        now = self.clock.time()
        d["actions"] = [a.to_dict(now) for a in s.scalars(select(ActionRow).where(
            ActionRow.source_type == "review", ActionRow.source_id == str(r.id)).order_by(ActionRow.id))]
        return d
