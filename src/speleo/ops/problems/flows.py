"""What an incident opening or an alert firing sets off for problems: signatures that match
attach the problem and its plan of attack to the incident, and say why.

Called by the `incident` alert action (`speleo.alerts.actions.incident`) after the firing opened
or joined its incident, by the API when an incident is declared by hand or an event is pinned,
and by a diagnostic run (its output becomes a timeline entry).

Each attachment is one transaction: the link (`problem_incidents`, how = "signature", with the
reason and the matches) and the incident's timeline entry of kind `problem` commit together.
An incident already linked to the problem is not linked twice (the first reason stays).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterable

from sqlalchemy.exc import IntegrityError

from speleo.ops.db import record_change
from speleo.ops.incidents import flows as incident_flows
from speleo.ops.problems import service as svc
from speleo.ops.problems.models import RESOLVED, STATUS_MEANINGS
from speleo.ops.problems.signatures import Match

MAX_DIAGNOSTIC_ROWS = 50   # result rows of a diagnostic kept on the timeline


@dataclass(frozen=True)
class Attached:
    problem_id: int
    incident_id: int
    reason: str
    matches: list[dict]

    def to_dict(self) -> dict:
        return {"problem_id": self.problem_id, "incident_id": self.incident_id, "reason": self.reason,
                "matches": self.matches}


def explain(matches: list[Match]) -> str:
    """One sentence per problem: which signatures, how strong, on how many events."""
    parts = []
    for m in matches:
        ev = f", {m.matched_events} event(s)" if m.matched_events else ""
        parts.append(f"{m.kind} signature {m.signature_id} ({m.strength_word}, {m.strength:.2f}{ev}): {m.why}")
    return "; ".join(parts)


def attach_matches(problems: svc.Problems, incident_id: int, *, alert_names: Iterable[str] = (),
                   rows: Iterable[dict] = (), actor: str = "system", source: str = "signatures") -> list[Attached]:
    """Match the signatures against these alert names and events; link each matched problem to
    the incident (once) with its plan, and write a `problem` timeline entry saying why.
    Returns what was attached (problems already linked are left out)."""
    matches = problems.matcher().match(alert_names, rows)
    by_problem: dict[int, list[Match]] = {}
    for m in matches:
        by_problem.setdefault(m.problem_id, []).append(m)
    out = []
    for pid, ms in by_problem.items():
        try:
            got = _attach(problems, pid, incident_id, ms, actor, source)
        except IntegrityError:   # another firing linked the same problem to this incident just now
            got = None
        if got is not None:
            out.append(got)
    return out


def _attach(problems: svc.Problems, problem_id: int, incident_id: int, ms: list[Match], actor: str,
            source: str) -> Attached | None:
    now = problems.clock.time()
    with problems.db.session() as s:
        p = svc._row(s, problem_id)
        inc = svc._incident(s, incident_id)
        if svc._link_row(s, p.id, inc.id) is not None:
            return None
        reason = explain(ms)
        details = {"matches": [m.to_dict() for m in ms], "strength": max(m.strength for m in ms)}
        link = problems._link(s, p, inc, actor, now, "signature", reason, details)
        plan = svc._current_plan(s, p.id)
        plan_d = plan.to_dict() if plan else None
        recurred = " It was resolved: the problem recurred." if p.status == RESOLVED else ""
        plan_text = (f" Plan of attack v{plan_d['version']}: time-box {plan_d['timebox_minutes']} min, "
                     f"{len(plan_d['diagnostics'])} diagnostic(s)." if plan_d else " It has no plan of attack yet.")
        text = (f"known problem {p.id} matched ({p.status}: {STATUS_MEANINGS[p.status]}): {p.statement}."
                f"{recurred}{plan_text} Why: {reason}")
        incident_flows.entry(s, inc, "problem", text[:19_000], actor, source, now,
                             details={"problem_id": p.id, "plan_version": link.plan_version, **details})
        record_change(s, "incident", inc.id, "problem", None, p.id, actor, at=now)
        return Attached(p.id, inc.id, reason, details["matches"])


def diagnostic_ran(problems: svc.Problems, incident_id: int, problem_id: int, index: int, diagnostic: dict,
                   search: str, earliest: float | None, latest: float | None, rows: list[dict], total: int,
                   fields: list[str], actor: str, source: str) -> dict:
    """Attach a diagnostic's output to the incident's timeline (kind `diagnostic`): the search, its
    absolute range (the entry's link re-runs it), the first MAX_DIAGNOSTIC_ROWS rows and the total.
    Raises NotFoundError for an unknown incident or problem."""
    now = problems.clock.time()
    kept = rows[:MAX_DIAGNOSTIC_ROWS]
    body = {"problem_id": problem_id, "diagnostic": index, "name": diagnostic.get("name"), "total": total,
            "fields": fields[:50], "rows": kept, "truncated": total > len(kept)}
    while len(json.dumps(body, default=str)) > incident_flows.MAX_DETAILS - 500 and body["rows"]:
        body["rows"] = body["rows"][: len(body["rows"]) // 2]
        body["truncated"] = True
    with problems.db.session() as s:
        svc._row(s, problem_id)
        inc = svc._incident(s, incident_id)
        row = incident_flows.entry(s, inc, "diagnostic",
                                   f"diagnostic '{diagnostic.get('name')}' of problem {problem_id}: {total} result(s)",
                                   actor, source, now, search=search, earliest=earliest, latest=latest, details=body)
        s.flush()
        return row.to_dict()
