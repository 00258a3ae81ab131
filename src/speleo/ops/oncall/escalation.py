"""Escalation chains of incidents: started from open incidents, run by a tick, durable.

How a chain starts: the tick (`tick(now)`, on `runtime.ticks`) finds open, unacknowledged
incidents declared in the last `START_WINDOW` seconds that have no chain yet, picks the policy
(`OnCall.policy_for`: a policy naming one of the incident's services, else the default policy)
and writes the chain: one `oncall_escalations` row (unique per incident, so two passes or two
processes cannot start two chains) and one `oncall_escalation_steps` row per notification with
its due time (the policy unrolled: waits, repeats and escalate_to; a later edit of the policy
does not change a running chain). An incident with no matching policy gets a `no_policy` row
(shown by `speleo oncall escalations`). Because the trigger is the incident row itself, every
way of opening an incident (API, CLI without a server, the alert action) starts its chain, and
no hook inside `speleo.ops.incidents` is needed. `start(...)` starts one by hand with a named policy.

How a step runs (docs/decisions/0022-oncall-escalation-delivery.md): in one transaction the step
is *claimed* (state claimed, `claims` + 1) unless the incident was acknowledged, resolved or
closed meanwhile, in which case the rest of the chain is cancelled. Then each contact method of
each person (the user, or whoever the schedule has on call at that moment) is sent one
notification through `speleo.ops.notify`, recorded with ref ("oncall_step", step id). Then the
step is marked sent and an `escalation` entry joins the incident's timeline. A step found
claimed by a later tick (the server died between claim and done) is sent again, skipping every
contact that already has a recorded attempt for that step: at-least-once delivery, with
duplicates only when the process dies between a mail server accepting a message and the attempt
row being written.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from speleo.errors import ConflictError, NotFoundError
from speleo.ops.db import Database, record_change
from speleo.ops.incidents import flows
from speleo.ops.incidents.models import OPEN_STATUSES, IncidentRow
from speleo.ops.notify import AttemptRow
from speleo.ops.oncall import schedule as sch
from speleo.ops.oncall.models import (
    ACKNOWLEDGED, ACTIVE, CANCELLED, CLAIMED, FINISHED, NO_POLICY, NOTIFY_SCHEDULE, PENDING, SENT, ContactRow,
    EscalationRow, ScheduleRow, StepRow)
from speleo.ops.oncall.service import OnCall, _load, _policy, _expand

if TYPE_CHECKING:
    from speleo.ops.notify import Notifier

START_WINDOW = 86400.0   # seconds: older unacknowledged incidents do not start a chain (e.g. when on-call is first set up)
BATCH = 50               # steps one tick sends at most
REF = "oncall_step"


class Escalations:
    """Starts and runs the escalation chains of one operations database."""

    def __init__(self, db: Database, notifier: "Notifier | None", oncall: OnCall | None = None,
                 base_url: str | None = None) -> None:
        """`notifier` may be None for reading only (listing chains); `base_url` (e.g.
        `http://speleo.example:8000`) makes the incident's link in each notification absolute."""
        self.base_url = (base_url or "").rstrip("/")
        self.db = db
        self.notifier = notifier
        self.oncall = oncall or OnCall(db, notifier.clock if notifier else None)

    # -- the tick ------------------------------------------------------------------------------
    def tick(self, now: float) -> dict:
        """Start chains of new incidents, stop acknowledged ones, send due steps.
        Returns counts {"started", "stopped", "sent"}."""
        started = self.start_new(now)
        stopped = self.stop_acknowledged(now)
        sent = self.run_due(now)
        return {"started": started, "stopped": stopped, "sent": sent}

    def start_new(self, now: float) -> int:
        with self.db.session() as s:
            have = select(EscalationRow.incident_id)
            rows = list(s.scalars(select(IncidentRow).where(
                IncidentRow.status.in_(sorted(OPEN_STATUSES)), IncidentRow.acknowledged_at.is_(None),
                IncidentRow.declared_at >= now - START_WINDOW, IncidentRow.id.not_in(have)).limit(BATCH)))
            found = [(r.id, r.service_list()) for r in rows]
        n = 0
        for inc_id, services in found:
            policy = self.oncall.policy_for(services)
            try:
                self._start(inc_id, policy, now, "system", "started automatically" if policy else
                            "no escalation policy names the incident's services and there is no default policy")
                n += 1
            except ConflictError:
                pass  # started meanwhile
        return n

    def start(self, incident_id: int, policy: str, actor: str, now: float | None = None) -> dict:
        """Start `policy` on an incident by hand. Raises NotFoundError, ConflictError (a chain exists)."""
        now = self.oncall.clock.time() if now is None else now
        with self.db.session() as s:
            if not 0 < int(incident_id) < 2**63 or s.get(IncidentRow, int(incident_id)) is None:
                raise NotFoundError(f"no incident {incident_id}")
            _policy(s, policy)
        return self._start(int(incident_id), policy, now, actor, f"started by {actor}")

    def _start(self, incident_id: int, policy: str | None, now: float, actor: str, reason: str) -> dict:
        try:
            with self.db.session() as s:
                if s.scalars(select(EscalationRow.id).where(EscalationRow.incident_id == incident_id)).first():
                    raise ConflictError(f"incident {incident_id} already has an escalation chain")
                chain = _expand(s, policy, {}) if policy else []
                esc = EscalationRow(incident_id=incident_id, policy=policy, state=ACTIVE if chain else NO_POLICY,
                                    reason=reason, started_at=now, ended_at=None if chain else now)
                s.add(esc)
                s.flush()
                for seq, (off, kind, target) in enumerate(chain, 1):
                    s.add(StepRow(escalation_id=esc.id, incident_id=incident_id, seq=seq, due_at=now + off,
                                  kind=kind, target=target, state=PENDING, claims=0, detail=""))
                inc = s.get(IncidentRow, incident_id)
                text = (f"escalation policy '{policy}' started: {len(chain)} notification step(s)" if chain
                        else f"no escalation: {reason}")
                flows.entry(s, inc, "escalation", text, actor, "oncall", now,
                            details={"policy": policy, "steps": len(chain)})
                record_change(s, "incident", incident_id, "escalation", None, policy or NO_POLICY, actor, at=now)
                return esc.to_dict()
        except IntegrityError:
            raise ConflictError(f"incident {incident_id} already has an escalation chain") from None

    def stop_acknowledged(self, now: float) -> int:
        """Cancel the pending steps of chains whose incident is acknowledged or no longer open."""
        n = 0
        with self.db.session() as s:
            for esc, inc in s.execute(select(EscalationRow, IncidentRow).join(
                    IncidentRow, IncidentRow.id == EscalationRow.incident_id).where(
                    EscalationRow.state == ACTIVE,
                    or_(IncidentRow.acknowledged_at.is_not(None), IncidentRow.status.not_in(sorted(OPEN_STATUSES))))
                    .limit(BATCH)):
                self._stop(s, esc, inc, now)
                n += 1
        return n

    def _stop(self, s, esc: EscalationRow, inc: IncidentRow, now: float) -> None:
        left = list(s.scalars(select(StepRow).where(StepRow.escalation_id == esc.id,
                                                    StepRow.state.in_((PENDING, CLAIMED)))))
        for st in left:
            st.state, st.done_at = CANCELLED, now
            st.detail = "cancelled: the incident was acknowledged" if inc.acknowledged_at else \
                f"cancelled: the incident is {inc.status}"
        esc.state, esc.ended_at = ACKNOWLEDGED, now
        why = "acknowledged" if inc.acknowledged_at else inc.status
        flows.entry(s, inc, "escalation", f"escalation stopped: the incident is {why} ({len(left)} step(s) cancelled)",
                    "system", "oncall", now, details={"policy": esc.policy, "cancelled": len(left)})

    def run_due(self, now: float) -> int:
        """Send the steps due at `now` (pending, or claimed by a run that died), oldest first."""
        with self.db.session() as s:
            ids = list(s.scalars(select(StepRow.id).where(StepRow.state.in_((PENDING, CLAIMED)), StepRow.due_at <= now)
                                 .order_by(StepRow.due_at, StepRow.id).limit(BATCH)))
        sent = 0
        for step_id in ids:
            claimed = self._claim(step_id, now)
            if claimed is None:
                continue
            outcome = self._send(claimed, now)
            self._done(step_id, outcome, now)
            sent += 1
        return sent

    def _claim(self, step_id: int, now: float) -> dict | None:
        with self.db.session() as s:
            st = s.get(StepRow, step_id)
            if st is None or st.state not in (PENDING, CLAIMED):
                return None
            esc = s.get(EscalationRow, st.escalation_id)
            inc = s.get(IncidentRow, st.incident_id)
            if inc is None or inc.acknowledged_at is not None or inc.status not in OPEN_STATUSES:
                if inc is not None and esc.state == ACTIVE:
                    self._stop(s, esc, inc, now)
                return None
            st.state, st.claimed_at, st.claims = CLAIMED, now, st.claims + 1
            return {"id": st.id, "seq": st.seq, "kind": st.kind, "target": st.target, "policy": esc.policy,
                    "claims": st.claims, "incident": inc.to_dict()}

    def _send(self, step: dict, now: float) -> dict:
        people, why = self._people(step, now)
        with self.db.session() as s:
            contacts = list(s.scalars(select(ContactRow).where(ContactRow.user.in_(people)).order_by(ContactRow.id)))
            done = set(s.scalars(select(AttemptRow.target).where(AttemptRow.ref_type == REF,
                                                                 AttemptRow.ref_id == str(step["id"]))))
            contacts = [(c.user, c.kind, c.target, c.style) for c in contacts]
        results, skipped = [], 0
        inc = step["incident"]
        title = f"[{inc['severity']}] incident {inc['id']}: {inc['title']}"
        link = f"{self.base_url}/incidents/{inc['id']}"     # the incident page (its Acknowledge button)
        text = (f"You are paged for incident {inc['id']} ({inc['severity']}, {inc['status']}): {inc['title']}.\n"
                f"Escalation policy '{step['policy']}', step {step['seq']} ({why}).\n"
                f"Acknowledge to stop the escalation: {link} (or: speleo incident ack {inc['id']})")
        for user, kind, target, style in contacts:
            if target in done:
                skipped += 1  # sent before the process died: not again
                continue
            try:
                if kind == "email":
                    a = self.notifier.email([target], title, text, ref=(REF, str(step["id"])))
                else:
                    a = self.notifier.webhook(target, title=title, text=text, style=style, ref=(REF, str(step["id"])),
                                              fields={"incident": inc["id"], "severity": inc["severity"],
                                                      "status": inc["status"], "policy": step["policy"],
                                                      "step": step["seq"], "user": user},
                                              link=link)
                results.append({"user": user, "channel": kind, "ok": a.ok, "attempt": a.id, "detail": a.detail})
            except Exception as e:  # a refused URL (allow_list): recorded on the step, the chain goes on
                results.append({"user": user, "channel": kind, "ok": False, "attempt": None, "detail": str(e)[:300]})
        no_contact = [p for p in people if p not in {c[0] for c in contacts}]
        return {"people": people, "why": why, "results": results, "skipped_already_sent": skipped,
                "without_contact": no_contact}

    def _people(self, step: dict, now: float) -> tuple[list[str], str]:
        if step["kind"] != NOTIFY_SCHEDULE:
            return [step["target"]], f"user {step['target']}"
        with self.db.session() as s:
            row = s.scalars(select(ScheduleRow).where(ScheduleRow.name == step["target"])).first()
            if row is None:
                return [], f"schedule '{step['target']}' no longer exists"
            sc = _load(s, row)
        cur = sch.who_at(sc, now)
        if cur is None:
            return [], f"no one is on call in schedule '{sc.name}' now (a gap)"
        return [cur.user], f"on call in schedule '{sc.name}': {cur.user}"

    def _done(self, step_id: int, outcome: dict, now: float) -> None:
        with self.db.session() as s:
            st = s.get(StepRow, step_id)
            st.state, st.done_at = SENT, now
            st.detail = json.dumps(outcome, sort_keys=True)[:20_000]
            inc = s.get(IncidentRow, st.incident_id)
            esc = s.get(EscalationRow, st.escalation_id)
            ok = sum(1 for r in outcome["results"] if r["ok"])
            who = ", ".join(outcome["people"]) or "no one"
            flows.entry(s, inc, "escalation",
                        f"escalation step {st.seq}: notified {who} ({ok} of {len(outcome['results'])} deliveries ok)",
                        "system", "oncall", now, details={"policy": esc.policy, "step": st.seq, **outcome})
            more = s.scalars(select(StepRow.id).where(StepRow.escalation_id == esc.id,
                                                      StepRow.state.in_((PENDING, CLAIMED)))).first()
            if more is None and esc.state == ACTIVE:
                esc.state, esc.ended_at = FINISHED, now

    # -- reading -------------------------------------------------------------------------------
    def list(self, limit: int = 100) -> list[dict]:
        """Chains, newest first, each with its steps."""
        with self.db.session() as s:
            out = []
            for esc in s.scalars(select(EscalationRow).order_by(EscalationRow.id.desc()).limit(max(1, min(limit, 1000)))):
                out.append(self._dict(s, esc))
            return out

    def for_incident(self, incident_id: int) -> dict:
        """The chain of one incident with its steps and their delivery attempts. Raises NotFoundError."""
        if not 0 < int(incident_id) < 2**63:  # ids are 64-bit database integers
            raise NotFoundError(f"no incident {incident_id}")
        with self.db.session() as s:
            esc = s.scalars(select(EscalationRow).where(EscalationRow.incident_id == int(incident_id))).first()
            if esc is None:
                raise NotFoundError(f"incident {incident_id} has no escalation chain (yet)")
            d = self._dict(s, esc)
            ids = [str(st["id"]) for st in d["steps"]]
            atts = list(s.scalars(select(AttemptRow).where(AttemptRow.ref_type == REF, AttemptRow.ref_id.in_(ids))
                                  .order_by(AttemptRow.at, AttemptRow.id)))
            for st in d["steps"]:
                st["attempts"] = [{"id": a.id, "at": a.at, "channel": a.channel, "target": shown_target(a.channel, a.target), "ok": a.ok,
                                   "detail": a.detail} for a in atts if a.ref_id == str(st["id"])]
            return d

    def _dict(self, s, esc: EscalationRow) -> dict:
        d = esc.to_dict()
        d["steps"] = []
        for st in s.scalars(select(StepRow).where(StepRow.escalation_id == esc.id).order_by(StepRow.seq)):
            x = st.to_dict()
            x["outcome"] = _json(st.detail)
            d["steps"].append(x)
        return d


def shown_target(channel: str, target: str) -> str:
    """A delivery target as readers of a chain see it: an email address as is, a webhook URL cut
    to its scheme and host (Slack and Teams URLs carry their secret in the path)."""
    if channel != "webhook":
        return target
    scheme, _, rest = target.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}/…"


def _json(text: str):
    if not text or not text.startswith("{"):
        return text or None
    try:
        return json.loads(text)
    except ValueError:
        return text
