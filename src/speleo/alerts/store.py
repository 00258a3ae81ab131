"""Saved searches with Splunk's scheduling and alerting attributes, in the operations database.

The row is `speleo.ops.saved.SavedRow` (the web page's saved searches): `search`, `earliest`
and `latest` (= `dispatch.earliest_time` / `dispatch.latest_time`) keep their columns, every
other canonical attribute (`speleo.alerts.spec.KEYS`, `action.*`) is in the JSON column
`attrs`. Names are unique per owner; owner 0 is "nobody" (the API token, imports).

An edit clears what Splunk clears: the throttle state and a manual suppression on any change
(Splunk Alerting Manual, "Throttle alerts"); the previous run's measured value when the
search, the dispatch times or the trigger condition change (rises/drops start over); and it
schedules a `run_on_startup` run again when the search or its dispatch times change.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from speleo.alerts.models import StateRow, ThrottleRow
from speleo.alerts.spec import DISPATCH_KEYS, KEYS, TRIGGER_KEYS, AlertSpec, normalize, validate
from speleo.errors import ConflictError, InputError, NotFoundError
from speleo.ops.db import Database, record_change
from speleo.ops.saved import API_OWNER, SavedRow
from speleo.ops.users import UserRow

NOBODY = "nobody"
MASK = "********"


def secret_key(key: str) -> bool:
    """`action.email.auth_password` and the like: never shown, never in the change history."""
    from speleo.ingest.internal import SECRET_NAME

    return key.startswith("action.") and bool(SECRET_NAME.search(key.rsplit(".", 1)[-1]))
COLUMN_KEYS = {"search": "search", "dispatch.earliest_time": "earliest", "dispatch.latest_time": "latest"}


@dataclass
class SavedSearch:
    """One saved search: id, owner, name and its canonical attributes."""

    id: int
    owner_id: int
    owner: str
    name: str
    attrs: dict[str, Any]
    created: float
    updated: float

    @property
    def spec(self) -> AlertSpec:
        return AlertSpec.from_attrs(self.name, self.attrs)

    def to_dict(self) -> dict:
        """Every attribute with defaults filled in (Splunk's REST spelling), plus id and owner."""
        full = {k: v for k, (_, v) in KEYS.items()}
        full.update(self.attrs)
        full["actions"] = ",".join(self.spec.actions)
        full = {k: MASK if secret_key(k) and v else v for k, v in full.items()}
        return {"id": self.id, "name": self.name, "owner": self.owner, "created": self.created,
                "updated": self.updated, **full}


@dataclass
class SaveOutcome:
    saved: SavedSearch
    created: bool
    warnings: list[str]
    unknown: list[str]


def _attrs_of(row: SavedRow) -> dict[str, Any]:
    attrs = json.loads(row.attrs) if row.attrs else {}
    attrs["search"] = row.search
    if row.earliest:
        attrs["dispatch.earliest_time"] = row.earliest
    if row.latest:
        attrs["dispatch.latest_time"] = row.latest
    attrs["app"] = row.app or attrs.get("app") or "search"
    attrs["sharing"] = row.sharing or attrs.get("sharing") or ("app" if row.owner_id == API_OWNER else "user")
    return attrs


class AlertStore:
    """Saved searches and their alert attributes. Thread-safe (one session per call).

    `tz` is the zone cron schedules are evaluated in; `check_spl(text)` raises SplError for
    SPL that does not parse (None: SPL is checked when it runs)."""

    def __init__(self, db: Database, tz: dt.tzinfo, check_spl: Callable[[str], Any] | None = None,
                 clock=None) -> None:
        self.db = db
        self.tz = tz
        self.check_spl = check_spl
        self.clock = clock
        self.artifacts = None   # speleo.alerts.artifacts.Artifacts of the home (set by for_home)

    def _now(self) -> float:
        return self.clock.time() if self.clock else time.time()

    # -- owners -------------------------------------------------------------------------
    def owner_names(self, s: Session) -> dict[int, str]:
        names = {API_OWNER: NOBODY}
        names.update({u.id: u.name for u in s.scalars(select(UserRow))})
        return names

    def owner_id(self, name: str | None) -> int | None:
        """A user name -> id; None for any owner ("-", empty); 0 for "nobody". NotFoundError else."""
        if name in (None, "", "-"):
            return None
        if name == NOBODY:
            return API_OWNER
        with self.db.session() as s:
            row = s.scalars(select(UserRow).where(UserRow.name == name)).first()
            if row is None:
                raise NotFoundError(f"no user named '{name}' (owners are web users, or 'nobody')")
            return row.id

    def _saved(self, row: SavedRow, names: dict[int, str]) -> SavedSearch:
        return SavedSearch(row.id, row.owner_id, names.get(row.owner_id, f"user {row.owner_id}"), row.name,
                           _attrs_of(row), row.created, row.updated)

    # -- read ---------------------------------------------------------------------------
    def list(self, owner_id: int | None = None) -> list[SavedSearch]:
        """Every saved search (of one owner when given), by owner then name."""
        with self.db.session() as s:
            q = select(SavedRow).order_by(SavedRow.name, SavedRow.owner_id)
            if owner_id is not None:
                q = q.where(SavedRow.owner_id == owner_id)
            names = self.owner_names(s)
            return [self._saved(r, names) for r in s.scalars(q)]

    def get(self, name: str, owner_id: int | None = None) -> SavedSearch:
        """The saved search NAME (of the owner, or the only one with that name).

        Raises NotFoundError, or InputError when several owners have one with that name."""
        with self.db.session() as s:
            row = self._row(s, name, owner_id)
            return self._saved(row, self.owner_names(s))

    def named(self, name: str) -> list[SavedSearch]:
        """Every saved search called `name`, of any owner, by owner id."""
        with self.db.session() as s:
            names = self.owner_names(s)
            q = select(SavedRow).where(SavedRow.name == name).order_by(SavedRow.owner_id)
            return [self._saved(r, names) for r in s.scalars(q)]

    def by_id(self, saved_id: int) -> SavedSearch | None:
        with self.db.session() as s:
            row = s.get(SavedRow, saved_id)
            return None if row is None else self._saved(row, self.owner_names(s))

    def _row(self, s: Session, name: str, owner_id: int | None) -> SavedRow:
        q = select(SavedRow).where(SavedRow.name == name)
        if owner_id is not None:
            q = q.where(SavedRow.owner_id == owner_id)
        rows = list(s.scalars(q))
        if not rows:
            raise NotFoundError(f"no saved search named '{name}' (see 'speleo saved list')")
        if len(rows) > 1:
            owners = self.owner_names(s)
            raise InputError(f"several owners have a saved search named '{name}' "
                             f"({', '.join(owners.get(r.owner_id, str(r.owner_id)) for r in rows)}); name the owner")
        return rows[0]

    # -- write --------------------------------------------------------------------------
    def save(self, owner_id: int, name: str, raw: dict[str, Any], *, replace: bool = False, merge: bool = False,
             actor: str = "system") -> SaveOutcome:
        """Create a saved search from attributes in either spelling (conf or REST).

        `replace`: overwrite an existing one's attributes; `merge`: update only the keys given
        (REST POST to an existing entity). Raises InputError (naming the search and the key),
        ConflictError when it exists and neither flag is given."""
        name = (name or "").strip()
        if not name or len(name) > 120 or any(ord(c) < 32 for c in name):
            raise InputError("name: 1-120 printable characters")
        try:
            new, unknown = normalize(raw)
        except InputError as e:   # a key's value: say which saved search it belongs to
            raise InputError(f"saved search {name!r}: {e}") from None
        with self.db.session() as s:
            row = s.scalars(select(SavedRow).where(SavedRow.owner_id == owner_id, SavedRow.name == name)).first()
            if row is not None and not (replace or merge):
                raise ConflictError(f"a saved search named '{name}' exists already (use replace or update it)")
            old = _attrs_of(row) if row is not None else {}
            for k in [k for k, v in new.items() if secret_key(k) and v == MASK]:
                if k in old:  # the masked value sent back (REST, web): keep the secret
                    new[k] = old[k]
                else:
                    del new[k]
            attrs = {**old, **new} if merge else new
            spec = AlertSpec.from_attrs(name, attrs)
            warnings = validate(spec, self.tz, self.check_spl)
            created = row is None
            if created:
                row = SavedRow(owner_id=owner_id, name=name, created=self._now(), search="")
                s.add(row)
            self._write(row, attrs)
            row.updated = self._now()
            s.flush()
            self._after_edit(s, row.id, old, attrs, created, actor)
            return SaveOutcome(self._saved(row, self.owner_names(s)), created, warnings, unknown)

    def _write(self, row: SavedRow, attrs: dict[str, Any]) -> None:
        row.search = str(attrs.get("search", "")).strip()
        row.earliest = str(attrs.get("dispatch.earliest_time") or "") or None
        row.latest = str(attrs.get("dispatch.latest_time") or "") or None
        row.app = str(attrs.get("app") or "search")
        row.sharing = str(attrs.get("sharing") or ("app" if row.owner_id == API_OWNER else "user"))
        rest = {k: v for k, v in attrs.items() if k not in COLUMN_KEYS and k not in ("app", "sharing")}
        row.attrs = json.dumps(rest, sort_keys=True)

    def _after_edit(self, s: Session, saved_id: int, old: dict, new: dict, created: bool, actor: str) -> None:
        """History of each changed key; state resets Splunk makes on an edit."""
        changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        for k in changed:
            before, after = old.get(k), new.get(k)
            if secret_key(k):
                before, after = MASK if before else None, f"{MASK} (changed)" if after else None
            record_change(s, "saved_search", saved_id, k, before, after, actor, self._now())
        st = s.get(StateRow, saved_id)
        if st is None:
            st = StateRow(saved_id=saved_id, startup_pending=0)
            s.add(st)
        if not changed and not created:
            return
        s.execute(delete(ThrottleRow).where(ThrottleRow.saved_id == saved_id))
        st.suppressed_until = None
        if created or any(k in changed for k in TRIGGER_KEYS):
            st.prev_value = st.prev_scheduled = None
        if created or "cron_schedule" in changed or "is_scheduled" in changed or "disabled" in changed:
            st.next_scheduled = None
        if new.get("run_on_startup") and (created or any(k in changed for k in DISPATCH_KEYS)):
            st.startup_pending = 1

    def set_disabled(self, name: str, disabled: bool, owner_id: int | None = None, actor: str = "system") -> SavedSearch:
        """Enable or disable (Splunk `disabled`); a disabled search never runs."""
        cur = self.get(name, owner_id)
        return self.save(cur.owner_id, name, {"disabled": disabled}, merge=True, actor=actor).saved

    def remove(self, name: str, owner_id: int | None = None, actor: str = "system") -> SavedSearch:
        """Delete a saved search, its scheduler state, throttle keys and kept results (`artifacts`,
        when the store was made by `for_home`); history and fired alerts stay."""
        with self.db.session() as s:
            row = self._row(s, name, owner_id)
            gone = self._saved(row, self.owner_names(s))
            s.execute(delete(StateRow).where(StateRow.saved_id == row.id))
            s.execute(delete(ThrottleRow).where(ThrottleRow.saved_id == row.id))
            record_change(s, "saved_search", row.id, "deleted", False, True, actor, self._now())
            s.delete(row)
        if self.artifacts is not None:   # its kept results for | loadjob go with it
            self.artifacts.forget(gone.id)
        return gone


def for_home(home, clock=None) -> AlertStore:
    """The alert store of a home: the ops database, cron in the home's zone, SPL checked with
    the home's macros."""
    from speleo.query.macrostore import load_macros
    from speleo.query.timefmt import local_zone
    from speleo.spl import parse

    def check_spl(text: str) -> None:
        parse(text, load_macros(home))

    from speleo.alerts.artifacts import Artifacts

    store = AlertStore(Database.for_home(home), local_zone(home.settings.default_tz), check_spl, clock)
    store.artifacts = Artifacts.for_home(home)
    return store
