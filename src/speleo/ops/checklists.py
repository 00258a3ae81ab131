"""Release checklists: short DO-CONFIRM templates per release type with a pause point, runs tied
to a release, manual and automated items, sign-off gated on every required item passing.

DO-CONFIRM (Gawande, *The Checklist Manifesto*; learning-loop spec 4.5 [X17]): the team does the
work from memory, then stops at the *pause point* and confirms each item. Templates stay short
(`MAX_ITEMS`). Item kinds:

- `manual`: a person confirms it (`confirm`);
- `no_results`: a search (`search`, or the saved search `saved`) must return no results over the
  last `minutes` minutes;
- `value`: a search's first numeric value must lie within `min`..`max`;
- `url`: GET `url` must answer `status` (default 200) with `text` in its body;
- `coderoll`: the tree under `root` must match the release manifest `manifest`
  (`speleo.alerts.fschange.verify.check_tree`, the file-change monitor's code-roll check).

Each check keeps its evidence (what ran, over which range, what came back, when, by whom). A run
is signed off only when every required item passes (rule `signoff-needs-all-required`). A failed
item can open an incident linked to the release (`open_incident`). A release has a window
(`window_secs`, default a day): post-mortems of incidents that begin in it list the release on
their timeline ("what changed?").

Tables `checklist_templates`, `releases`, `checklist_runs`, `checklist_run_items` (migration
`0005_postmortem`). Searches run through the `searcher(spl, earliest, latest) -> (count, first
numeric value or None)` the caller gives (the server's Service, or the CLI's).
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable

from sqlalchemy import Float, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from speleo.clock import Clock, SystemClock
from speleo.errors import ConflictError, InputError, NotFoundError
from speleo.ops.actions import RuleError, epoch
from speleo.ops.db import Base, Database, record_change

KINDS = ("manual", "no_results", "value", "url", "coderoll")
MAX_ITEMS = 12
PENDING, PASS, FAIL = "pending", "pass", "fail"
DEFAULT_WINDOW = 86400.0
MAX_WINDOW = 30 * 86400.0  # seconds: the longest window a release may have
Searcher = Callable[[str, float, float], tuple[int, float | None]]


class TemplateRow(Base):
    __tablename__ = "checklist_templates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False, unique=True)
    release_type: Mapped[str] = mapped_column(String(64), nullable=False)
    pause_point: Mapped[str] = mapped_column(Text, nullable=False)
    items: Mapped[str] = mapped_column(Text, nullable=False)
    created_by: Mapped[str] = mapped_column(String(120), nullable=False)
    created_at: Mapped[float] = mapped_column(Float, nullable=False)

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "release_type": self.release_type, "pause_point": self.pause_point,
                "items": json.loads(self.items), "created_by": self.created_by, "created_at": self.created_at}


class ReleaseRow(Base):
    __tablename__ = "releases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    version: Mapped[str] = mapped_column(String(120), nullable=False)
    at: Mapped[float] = mapped_column(Float, nullable=False, index=True)
    who: Mapped[str] = mapped_column(String(120), nullable=False)
    window_secs: Mapped[float] = mapped_column(Float, nullable=False)

    def to_dict(self) -> dict:
        return {c: getattr(self, c) for c in ("id", "name", "version", "at", "who", "window_secs")}


class RunRow(Base):
    __tablename__ = "checklist_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("checklist_templates.id"), nullable=False)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id"), nullable=False, index=True)
    started_by: Mapped[str] = mapped_column(String(120), nullable=False)
    started_at: Mapped[float] = mapped_column(Float, nullable=False)
    signed_off_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    signed_off_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    incident_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class RunItemRow(Base):
    __tablename__ = "checklist_run_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("checklist_runs.id", ondelete="CASCADE"), nullable=False, index=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    spec: Mapped[str] = mapped_column(Text, nullable=False)
    required: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(8), nullable=False)
    evidence: Mapped[str] = mapped_column(Text, nullable=False, default="[]")  # JSON list, newest last
    checked_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    checked_by: Mapped[str | None] = mapped_column(String(120), nullable=True)

    def to_dict(self) -> dict:
        return {"id": self.id, "position": self.position, "name": self.name, "kind": self.kind,
                "spec": json.loads(self.spec), "required": bool(self.required), "status": self.status,
                "evidence": json.loads(self.evidence), "checked_at": self.checked_at, "checked_by": self.checked_by}


def clean_item(raw: Any, n: int) -> dict:
    """One template item checked: `{"name", "kind", "required", ...kind fields}`; InputError names item n."""
    where = f"item {n}"
    if not isinstance(raw, dict):
        raise InputError(f"{where}: an object with name and kind")
    name = str(raw.get("name") or "").strip()
    kind = raw.get("kind", "manual")
    if not name or len(name) > 200:
        raise InputError(f"{where}: a name of 1 to 200 characters")
    if kind not in KINDS:
        raise InputError(f"{where} ({name}): kind '{kind}' is not one of {', '.join(KINDS)}")
    out: dict[str, Any] = {"name": name, "kind": kind, "required": bool(raw.get("required", True))}
    if kind in ("no_results", "value"):
        if not raw.get("search") and not raw.get("saved"):
            raise InputError(f"{where} ({name}): give a search (SPL) or the name of a saved search")
        out.update({k: str(raw[k]) for k in ("search", "saved") if raw.get(k)})
        out["minutes"] = _num(raw.get("minutes", 10), f"{where} minutes")
        if out["minutes"] <= 0:
            raise InputError(f"{where} ({name}): minutes must be above 0")
        if kind == "value":
            if raw.get("min") is None and raw.get("max") is None:
                raise InputError(f"{where} ({name}): a value check needs min, max or both")
            for k in ("min", "max"):
                if raw.get(k) is not None:
                    out[k] = _num(raw[k], f"{where} {k}")
    elif kind == "url":
        url = str(raw.get("url") or "")
        if not re.match(r"^https?://\S+$", url):
            raise InputError(f"{where} ({name}): url must be an http(s) URL")
        out.update({"url": url, "status": int(_num(raw.get("status", 200), f"{where} status")),
                    "text": str(raw.get("text") or "")})
    elif kind == "coderoll":
        if not raw.get("root") or not raw.get("manifest"):
            raise InputError(f"{where} ({name}): a code-roll check needs root (the folder) and manifest (the file)")
        out.update({"root": str(raw["root"]), "manifest": str(raw["manifest"])})
    return out


class Checklists:
    """Templates, releases and runs of one operations database."""

    def __init__(self, db: Database, clock: Clock | None = None, searcher: Searcher | None = None,
                 http_get: Callable[[str], tuple[int, str]] | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        self.searcher = searcher
        self.http_get = http_get or _http_get

    # -- templates ---------------------------------------------------------------------------
    def save_template(self, name: str, release_type: str, pause_point: str, items: list, actor: str) -> dict:
        """Create or replace a template. Raises InputError: no pause point, no item, more than MAX_ITEMS."""
        name, release_type = _word(name, "name"), _word(release_type, "release_type")
        if not str(pause_point or "").strip():
            raise InputError("pause_point: say when the team stops to run the checklist (e.g. 'after the deploy, "
                             "before opening traffic')")
        if not isinstance(items, list) or not items:
            raise InputError("items: a DO-CONFIRM checklist has at least one item")
        if len(items) > MAX_ITEMS:
            raise InputError(f"items: {len(items)} given; keep a checklist short ({MAX_ITEMS} items at most, "
                             "only the critical steps)")
        clean = [clean_item(x, i + 1) for i, x in enumerate(items)]
        now = self.clock.time()
        with self.db.session() as s:
            t = s.scalar(select(TemplateRow).where(TemplateRow.name == name))
            if t is None:
                t = TemplateRow(name=name, created_by=actor, created_at=now)
                s.add(t)
            t.release_type, t.pause_point, t.items = release_type, str(pause_point).strip(), json.dumps(clean)
            s.flush()
            record_change(s, "checklist_template", t.id, "saved", None, t.to_dict(), actor, at=now)
            return t.to_dict()

    def templates(self) -> list[dict]:
        with self.db.session() as s:
            return [t.to_dict() for t in s.scalars(select(TemplateRow).order_by(TemplateRow.name))]

    # -- runs --------------------------------------------------------------------------------
    def start_run(self, template: str, release: str, version: str, actor: str, *, at: float | None = None,
                  window_secs: float = DEFAULT_WINDOW) -> dict:
        """Record the release (name, version, time, who) and start a run of `template` for it."""
        now = self.clock.time()
        with self.db.session() as s:
            t = s.scalar(select(TemplateRow).where(TemplateRow.name == template))
            if t is None:
                raise NotFoundError(f"no checklist template '{template}'; 'speleo checklist template list' shows them")
            window = _num(window_secs, "window_secs")
            if not 0 < window <= MAX_WINDOW:
                raise InputError(f"window_secs: between 1 and {MAX_WINDOW:.0f} seconds (30 days)")
            rel = ReleaseRow(name=_word(release, "release"), version=_word(version, "version"),
                             at=now if at is None else epoch("at", at), who=actor, window_secs=window)
            s.add(rel)
            s.flush()
            run = RunRow(template_id=t.id, release_id=rel.id, started_by=actor, started_at=now)
            s.add(run)
            s.flush()
            for i, item in enumerate(json.loads(t.items)):
                s.add(RunItemRow(run_id=run.id, position=i + 1, name=item["name"], kind=item["kind"],
                                 spec=json.dumps(item), required=int(item["required"]), status=PENDING, evidence="[]"))
            record_change(s, "checklist_run", run.id, "started", None, rel.to_dict(), actor, at=now)
            s.flush()
            return self._run(s, run)

    def status(self, run_id: Any) -> dict:
        with self.db.session() as s:
            return self._run(s, _get(s, RunRow, run_id, "checklist run"))

    def runs(self, limit: int = 100) -> list[dict]:
        with self.db.session() as s:
            return [self._run(s, r, items=False) for r in s.scalars(select(RunRow).order_by(RunRow.id.desc()).limit(limit))]

    def _run(self, s: Session, run: RunRow, items: bool = True) -> dict:
        t, rel = s.get(TemplateRow, run.template_id), s.get(ReleaseRow, run.release_id)
        its = list(s.scalars(select(RunItemRow).where(RunItemRow.run_id == run.id).order_by(RunItemRow.position)))
        blocking = [i.name for i in its if i.required and i.status != PASS]
        d = {"id": run.id, "template": t.name, "release_type": t.release_type, "pause_point": t.pause_point,
             "release": rel.to_dict(), "started_by": run.started_by, "started_at": run.started_at,
             "signed_off_at": run.signed_off_at, "signed_off_by": run.signed_off_by, "incident_id": run.incident_id,
             "blocking": blocking, "can_sign_off": not blocking and run.signed_off_at is None}
        if items:
            d["items"] = [i.to_dict() for i in its]
        return d

    def confirm(self, run_id: Any, item_id: Any, actor: str, *, ok: bool = True, note: str = "") -> dict:
        """A person confirms (or fails) a manual item, or re-runs an automated one (`check`)."""
        now = self.clock.time()
        with self.db.session() as s:
            run = _get(s, RunRow, run_id, "checklist run")
            if run.signed_off_at is not None:
                raise RuleError(f"run {run.id} is signed off; it does not change", "signed-off-is-final")
            it = _item(s, run, item_id)
            if it.kind == "manual":
                ev = {"at": now, "by": actor, "result": PASS if ok else FAIL, "detail": note or "confirmed by a person"}
            else:
                ev = {"at": now, "by": actor, **self._check(s, json.loads(it.spec), now)}
            evidence = json.loads(it.evidence) + [ev]
            it.evidence, it.status, it.checked_at, it.checked_by = json.dumps(evidence[-50:]), ev["result"], now, actor
            record_change(s, "checklist_run", run.id, f"item:{it.id}", None, ev, actor, at=now)
            return it.to_dict()

    def check_all(self, run_id: Any, actor: str) -> dict:
        """Run every automated item of the run now; returns the run."""
        with self.db.session() as s:
            run = _get(s, RunRow, run_id, "checklist run")
            ids = [i.id for i in s.scalars(select(RunItemRow).where(RunItemRow.run_id == run.id,
                                                                    RunItemRow.kind != "manual"))]
        for i in ids:
            self.confirm(run_id, i, actor)
        return self.status(run_id)

    def sign_off(self, run_id: Any, actor: str) -> dict:
        """Sign the run off; RuleError `signoff-needs-all-required` names the items not passed."""
        now = self.clock.time()
        with self.db.session() as s:
            run = _get(s, RunRow, run_id, "checklist run")
            d = self._run(s, run)
            if run.signed_off_at is not None:
                raise RuleError(f"run {run.id} is already signed off", "signed-off-is-final")
            if d["blocking"]:
                raise RuleError(f"run {run.id} cannot be signed off: required items not passed: "
                                f"{', '.join(d['blocking'])}", "signoff-needs-all-required")
            run.signed_off_at, run.signed_off_by = now, actor
            record_change(s, "checklist_run", run.id, "signed_off", None, now, actor, at=now)
            return self._run(s, run)

    def open_incident(self, run_id: Any, item_id: Any, actor: str, incidents) -> dict:
        """Declare an incident for a failed item, linked to the release (its timeline names the
        release and the item's evidence); `incidents` is a `speleo.ops.incidents.service.Incidents`."""
        with self.db.session() as s:
            run = _get(s, RunRow, run_id, "checklist run")
            it = _item(s, run, item_id)
            rel = s.get(ReleaseRow, run.release_id)
            if it.status != FAIL:
                raise ConflictError(f"item {it.id} ({it.name}) has not failed; only a failed item opens an incident")
            ev = (json.loads(it.evidence) or [{}])[-1]
            title = f"release {rel.name} {rel.version}: checklist item failed: {it.name}"
        # the release joins the new incident's timeline by its window (incidents.flows.recent_releases)
        inc = incidents.create(title, actor, "checklist", severity="SEV3",
                               description=f"Checklist run {run_id}, item {it.id}: {ev.get('detail', '')}")
        with self.db.session() as s:
            s.get(RunRow, run.id).incident_id = inc["id"]
        return inc

    def releases_between(self, start: float, end: float) -> list[dict]:
        """Releases whose window [at, at + window_secs] overlaps [start, end]."""
        with self.db.session() as s:
            return [r.to_dict() for r in s.scalars(select(ReleaseRow).where(ReleaseRow.at <= end)
                                                   .order_by(ReleaseRow.at))
                    if r.at + r.window_secs >= start]

    # -- checks ------------------------------------------------------------------------------
    def _check(self, s: Session, spec: dict, now: float) -> dict:
        kind = spec["kind"]
        try:
            if kind in ("no_results", "value"):
                return self._search_check(s, spec, now)
            if kind == "url":
                status, body = self.http_get(spec["url"])
                ok = status == spec["status"] and spec["text"] in body
                return {"result": PASS if ok else FAIL, "url": spec["url"],
                        "detail": f"answered {status} (expected {spec['status']}); text "
                                  f"{'found' if spec['text'] in body else 'not found'}: {spec['text']!r}"}
            return _coderoll(spec)
        except Exception as e:  # a check that cannot run fails, and says why (never a pass)
            return {"result": FAIL, "detail": f"the check could not run: {e}"}

    def _search_check(self, s: Session, spec: dict, now: float) -> dict:
        if self.searcher is None:
            raise InputError("no search engine given to run automated items")
        spl = spec.get("search") or _saved_spl(s, spec["saved"])
        earliest = now - spec["minutes"] * 60
        count, value = self.searcher(spl, earliest, now)
        ev = {"search": spl, "earliest": earliest, "latest": now, "count": count}
        if spec["kind"] == "no_results":
            return {**ev, "result": PASS if count == 0 else FAIL,
                    "detail": f"{count} result(s) over the last {spec['minutes']:g} minutes (expected none)"}
        lo, hi = spec.get("min"), spec.get("max")
        ok = value is not None and (lo is None or value >= lo) and (hi is None or value <= hi)
        return {**ev, "value": value, "result": PASS if ok else FAIL,
                "detail": f"value {value} (bound {lo if lo is not None else '-inf'} .. {hi if hi is not None else 'inf'})"}


def _coderoll(spec: dict) -> dict:
    from speleo.alerts.fschange import manifest as mf
    from speleo.alerts.fschange import verify as vf
    from speleo.alerts.fschange.scanner import Scanner
    from speleo.alerts.fschange.settings import FsChangeSettings

    res = Scanner(spec["root"], FsChangeSettings()).scan()
    unreadable = [p.path for p in res.problems if p.reason.startswith("unreadable")]
    rep = vf.check_tree(spec["root"], res.entries, mf.load(spec["manifest"]), unreadable)
    return {"result": PASS if rep.ok else FAIL, "detail": rep.message()[:4000], "counts": rep.counts()}


def _http_get(url: str) -> tuple[int, str]:
    import httpx

    r = httpx.get(url, timeout=10, follow_redirects=False)
    return r.status_code, r.text[:1_000_000]


def _saved_spl(s: Session, name: str) -> str:
    from speleo.ops.saved import SavedRow

    spl = s.scalar(select(SavedRow.search).where(SavedRow.name == name).limit(1))
    if spl is None:
        raise NotFoundError(f"no saved search '{name}'")
    return spl


def _get(s: Session, model, key: Any, what: str):
    try:
        k = int(key)
    except (TypeError, ValueError):
        raise InputError(f"{what}: '{key}' is not a number") from None
    row = s.get(model, k) if -(2**63) <= k < 2**63 else None
    if row is None:
        raise NotFoundError(f"no {what} {key}")
    return row


def _item(s: Session, run: RunRow, item_id: Any) -> RunItemRow:
    it = _get(s, RunItemRow, item_id, "checklist item")
    if it.run_id != run.id:
        raise NotFoundError(f"no item {item_id} in checklist run {run.id}")
    return it


def _word(v: Any, field: str) -> str:
    t = str(v or "").strip()
    if not t or len(t) > 120:
        raise InputError(f"{field}: 1 to 120 characters")
    return t


def _num(v: Any, field: str) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        raise InputError(f"{field}: '{v}' is not a number") from None


def service_searcher(service, limit: int = 1) -> Searcher:
    """A `Searcher` over a `speleo.service.Service`: (total events or result rows, the first numeric
    value of the first result row of a transforming search, None for an event search)."""
    def run(spl: str, earliest: float, latest: float) -> tuple[int, float | None]:
        res = service.search(spl, earliest=earliest, latest=latest, limit=max(1, limit), actor="checklist")
        value = None
        if res.kind == "results" and res.table.num_rows:  # an event search's value is its count
            for col in res.table.column_names:
                if col.startswith("_"):
                    continue
                v = res.table.column(col)[0].as_py()
                try:
                    value = float(v)
                    break
                except (TypeError, ValueError):
                    continue
        return int(res.total), value
    return run
