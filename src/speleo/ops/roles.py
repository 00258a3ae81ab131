"""Roles: what a user may do (capabilities) and which indexes it may search, after Splunk's
authorize.conf (`[role_<name>]` stanzas: capabilities, `importRoles`, `srchIndexesAllowed`,
`srchIndexesDefault`).

A role holds capabilities, imports other roles (their capabilities and index lists are added,
transitively; cycles are ignored), and lists index patterns: `srch_indexes_allowed` (the indexes
its searches may read) and `srch_indexes_default` (those read when a search names none).
Patterns use `*` and `?`; as in Splunk, `*` covers every index except the internal ones
(names starting with `_`), which need a pattern that itself starts with `_` (`_*`, `_audit`).

Built-in roles (created when missing, editable, not removable): `user`, `power`, `admin`,
`can_delete` (see `BUILTIN`). A user holds one or more roles (`user_roles`).

Search limits (`LIMITS`, stored as JSON in `roles.limits`): `srchMaxTime` (seconds a search may
run) and `srchJobsQuota` (searches of one user running at once), as in authorize.conf, and
Speleo's `srchMaxRowsRead` (events one search may read) and `srchMaxMemory` (bytes one search
may use). For a user, the largest value among its roles (imports applied) applies, a role with 0
lifting the limit, and a role without the setting not counting (authorize.conf: a user with
several roles gets the most permissive). The built-in roles set none: no limit, 4 jobs.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass

from sqlalchemy import Float, Integer, String, Text, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from speleo.errors import ConflictError, InputError, NotFoundError
from speleo.ops.db import Base, record_change

# Capability names of Splunk's authorize.conf (Speleo's own where Splunk has none).
SEARCH = "search"
SCHEDULE_SEARCH = "schedule_search"
EDIT_SAVED = "edit_saved_searches"       # any owner's saved searches and alerts
EDIT_MONITOR = "edit_monitor"            # monitor, fschange and oneshot inputs
LIST_INPUTS = "list_inputs"              # see input paths (inputs, files followed)
EDIT_TOKEN_HTTP = "edit_token_http"      # HEC tokens
EDIT_USER = "edit_user"                  # users: add, disable, passwords, sign out
EDIT_ROLES = "edit_roles"                # roles and their capabilities
INDEXES_EDIT = "indexes_edit"            # create, edit, delete indexes; retention; thaw
DELETE_BY_KEYWORD = "delete_by_keyword"  # `| delete` and purge: not even admin by default
EDIT_LOOKUPS = "edit_lookups"            # outputlookup, lookup file uploads
ADMIN_ALL = "admin_all_objects"          # anything else administrative
EDIT_INCIDENTS = "edit_incidents"        # Speleo: declare and change incidents (anyone may declare one)

CAPABILITIES = (SEARCH, SCHEDULE_SEARCH, EDIT_SAVED, EDIT_MONITOR, LIST_INPUTS, EDIT_TOKEN_HTTP, EDIT_USER,
                EDIT_ROLES, INDEXES_EDIT, DELETE_BY_KEYWORD, EDIT_LOOKUPS, ADMIN_ALL, EDIT_INCIDENTS)

# name -> (capabilities, imports, allowed, default)
BUILTIN: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "user": ((SEARCH, EDIT_INCIDENTS), (), ("*",), ("*",)),
    "power": ((SCHEDULE_SEARCH, EDIT_LOOKUPS), ("user",), ("*",), ("*",)),
    "admin": (tuple(c for c in CAPABILITIES if c != DELETE_BY_KEYWORD), ("power",), ("*", "_*"), ("*",)),
    "can_delete": ((DELETE_BY_KEYWORD,), (), (), ()),
}
# limit name -> (unit words for messages, parser of a value written by a person)
LIMITS = ("srchMaxTime", "srchJobsQuota", "srchMaxRowsRead", "srchMaxMemory")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|secs|m|min|mins|h|d)?\s*$", re.I)
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb|k|m|g|t)?\s*$", re.I)
_DURATION_UNITS = {None: 1, "s": 1, "sec": 1, "secs": 1, "m": 60, "min": 60, "mins": 60, "h": 3600, "d": 86400}
_SIZE_UNITS = {None: 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024 ** 2, "mb": 1024 ** 2, "g": 1024 ** 3,
               "gb": 1024 ** 3, "t": 1024 ** 4, "tb": 1024 ** 4}


def check_limits(limits: dict | None) -> dict:
    """{limit name: value} with values as numbers: `srchMaxTime` seconds (or "90s", "10m", "2h",
    "1d"), `srchMaxMemory` bytes (or "512MB", "2GB"), `srchMaxRowsRead` and `srchJobsQuota`
    whole numbers; 0 means no limit; None or "" removes the setting. Raises InputError naming
    the limit and what it takes."""
    out: dict = {}
    for name, value in (limits or {}).items():
        if name not in LIMITS:
            raise InputError(f"unknown search limit {name!r}: one of {', '.join(LIMITS)}")
        if value is None or value == "":
            out[name] = None
            continue
        text = str(value)
        if name == "srchMaxTime":
            m = _DURATION.match(text)
            if not m:
                raise InputError(f"srchMaxTime {text!r}: give seconds, or a number with s, m, h or d (10m); 0 for none")
            out[name] = float(m.group(1)) * _DURATION_UNITS[(m.group(2) or "").lower() or None]
            if out[name] > 365 * 86400:
                raise InputError(f"srchMaxTime {text!r}: at most 365d (0 for none)")
        elif name == "srchMaxMemory":
            m = _SIZE.match(text)
            if not m:
                raise InputError(f"srchMaxMemory {text!r}: give bytes, or a number with KB, MB, GB or TB (512MB); 0 for none")
            out[name] = int(float(m.group(1)) * _SIZE_UNITS[(m.group(2) or "").lower() or None])
            if 0 < out[name] < 16 * 1024 ** 2:
                raise InputError(f"srchMaxMemory {text!r}: at least 16MB (a search needs that much to start); 0 for none")
            if out[name] > 1024 ** 5:
                raise InputError(f"srchMaxMemory {text!r}: at most 1024TB (0 for none)")
        else:
            if not re.fullmatch(r"\s*\d+\s*", text):
                raise InputError(f"{name} {text!r}: give a whole number (0 for none)")
            out[name] = int(text)
            if name == "srchJobsQuota" and out[name] > 1000:
                raise InputError(f"srchJobsQuota {text}: at most 1000 searches at once")
            if name == "srchMaxRowsRead" and out[name] > 10 ** 15:
                raise InputError(f"srchMaxRowsRead {text}: at most 10^15 events (0 for none)")
    return out


def combine_limits(per_role: list[dict]):
    """The `speleo.query.scope.SearchLimits` of a user holding roles with these limits (see the
    module doc: the largest applies, 0 lifts it, a missing setting does not count)."""
    from speleo.query.scope import SearchLimits

    def pick(name: str) -> float:
        values = [r[name] for r in per_role if r.get(name) is not None]
        if not values or any(v == 0 for v in values):
            return 0
        return max(values)

    return SearchLimits(max_time_secs=float(pick("srchMaxTime")), max_rows_read=int(pick("srchMaxRowsRead")),
                        max_memory_bytes=int(pick("srchMaxMemory")), jobs_quota=int(pick("srchJobsQuota")))


ROLE_NAME = re.compile(r"^[a-z][a-z0-9_\-]{0,63}$")
INDEX_PATTERN = re.compile(r"^[a-z0-9_\-*?]{1,80}$")


class RoleRow(Base):
    __tablename__ = "roles"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    capabilities: Mapped[str] = mapped_column(Text, nullable=False)        # JSON list
    import_roles: Mapped[str] = mapped_column(Text, nullable=False)        # JSON list
    srch_indexes_allowed: Mapped[str] = mapped_column(Text, nullable=False)  # JSON list of patterns
    srch_indexes_default: Mapped[str] = mapped_column(Text, nullable=False)  # JSON list of patterns
    builtin: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created: Mapped[float] = mapped_column(Float, nullable=False)
    updated: Mapped[float] = mapped_column(Float, nullable=False)
    limits: Mapped[str | None] = mapped_column(Text, nullable=True)   # JSON {limit name: number} (LIMITS)


class UserRoleRow(Base):
    __tablename__ = "user_roles"
    user_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    role: Mapped[str] = mapped_column(String(64), primary_key=True)


@dataclass(frozen=True)
class Role:
    """One role as stored (its own settings, imports not applied)."""

    name: str
    capabilities: tuple[str, ...]
    import_roles: tuple[str, ...]
    srch_indexes_allowed: tuple[str, ...]
    srch_indexes_default: tuple[str, ...]
    builtin: bool
    limits: tuple[tuple[str, float], ...] = ()   # (limit name, value) of the limits it sets

    def to_dict(self) -> dict:
        """The role as the API shows it; each of LIMITS is a number or null (not set)."""
        lim = dict(self.limits)
        return {"name": self.name, "capabilities": list(self.capabilities), "importRoles": list(self.import_roles),
                "srchIndexesAllowed": list(self.srch_indexes_allowed),
                "srchIndexesDefault": list(self.srch_indexes_default), "builtin": self.builtin,
                **{n: lim.get(n) for n in LIMITS}}


@dataclass(frozen=True)
class Grant:
    """What a set of roles adds up to (imports applied): capabilities and index patterns."""

    roles: tuple[str, ...]
    capabilities: frozenset[str]
    allowed: tuple[str, ...]
    default: tuple[str, ...]
    limits: object = None   # speleo.query.scope.SearchLimits


def _role(r: RoleRow) -> Role:
    lim = json.loads(r.limits) if r.limits else {}
    return Role(r.name, tuple(json.loads(r.capabilities)), tuple(json.loads(r.import_roles)),
                tuple(json.loads(r.srch_indexes_allowed)), tuple(json.loads(r.srch_indexes_default)), bool(r.builtin),
                tuple((n, lim[n]) for n in LIMITS if lim.get(n) is not None))


def check_role_name(name: str) -> str:
    if not ROLE_NAME.match(name or ""):
        raise InputError(f"bad role name {name!r}: 1-64 lower-case letters, digits, '_' or '-', starting with a letter")
    return name


def check_capabilities(caps) -> tuple[str, ...]:
    bad = [c for c in caps if c not in CAPABILITIES]
    if bad:
        raise InputError(f"unknown capability {bad[0]!r}: one of {', '.join(CAPABILITIES)}")
    return tuple(dict.fromkeys(caps))


def check_patterns(patterns, what: str) -> tuple[str, ...]:
    out = []
    for p in patterns:
        p = p.strip().lower()
        if not INDEX_PATTERN.match(p):
            raise InputError(f"{what}: bad index pattern {p!r} (index name letters, digits, '_', '-', with * or ?)")
        out.append(p)
    return tuple(dict.fromkeys(out))


class Roles:
    """The roles of one operations database (`speleo.ops.db.Database`)."""

    def __init__(self, db) -> None:
        self.db = db
        self.ensure_builtins()

    def ensure_builtins(self) -> None:
        """Create the built-in roles that are missing (an edited built-in keeps its edits)."""
        try:
            self._insert_builtins()
        except IntegrityError:   # another process (the server, a command) inserted them first
            pass

    def _insert_builtins(self) -> None:
        with self.db.session() as s:
            have = set(s.scalars(select(RoleRow.name)))
            now = time.time()
            for name, (caps, imports, allowed, default) in BUILTIN.items():
                if name not in have:
                    s.add(RoleRow(name=name, capabilities=json.dumps(caps), import_roles=json.dumps(imports),
                                  srch_indexes_allowed=json.dumps(allowed), srch_indexes_default=json.dumps(default),
                                  builtin=1, created=now, updated=now))

    def list(self) -> list[Role]:
        with Session(self.db.engine) as s:
            return [_role(r) for r in s.scalars(select(RoleRow).order_by(RoleRow.name))]

    def get(self, name: str) -> Role:
        """Raises NotFoundError."""
        with Session(self.db.engine) as s:
            row = s.get(RoleRow, name)
            if row is None:
                raise NotFoundError(f"no role named '{name}' (see 'speleo role list')")
            return _role(row)

    def exists(self, name: str) -> bool:
        with Session(self.db.engine) as s:
            return s.get(RoleRow, name) is not None

    def create(self, name: str, capabilities=(), import_roles=(), allowed=(), default=(), actor: str = "system",
               limits: dict | None = None) -> Role:
        """A new custom role (`limits`: see `check_limits`). Raises InputError (bad name,
        capability, pattern, limit, unknown import), ConflictError."""
        check_role_name(name)
        caps = check_capabilities(capabilities)
        lim = {k: v for k, v in check_limits(limits).items() if v is not None}
        allowed, default = check_patterns(allowed, "srchIndexesAllowed"), check_patterns(default, "srchIndexesDefault")
        with self.db.session() as s:
            if s.get(RoleRow, name) is not None:
                raise ConflictError(f"role '{name}' already exists")
            imports = self._check_imports(s, name, import_roles)
            now = time.time()
            s.add(RoleRow(name=name, capabilities=json.dumps(caps), import_roles=json.dumps(imports),
                          srch_indexes_allowed=json.dumps(allowed), srch_indexes_default=json.dumps(default),
                          builtin=0, created=now, updated=now, limits=json.dumps(lim) if lim else None))
            record_change(s, "role", name, "created", None, {"capabilities": caps, "importRoles": imports,
                                                              "srchIndexesAllowed": allowed,
                                                              "srchIndexesDefault": default, **lim}, actor)
        return self.get(name)

    def edit(self, name: str, *, capabilities=None, import_roles=None, allowed=None, default=None,
             actor: str = "system", limits: dict | None = None) -> tuple[Role, dict]:
        """Change the given settings (None: unchanged; in `limits`, a limit given as None or ""
        is removed); returns the role and {field: [old, new]}.

        Raises NotFoundError, InputError."""
        new_limits = check_limits(limits) if limits is not None else {}
        with self.db.session() as s:
            row = s.get(RoleRow, name)
            if row is None:
                raise NotFoundError(f"no role named '{name}' (see 'speleo role list')")
            new = {}
            if capabilities is not None:
                new["capabilities"] = check_capabilities(capabilities)
            if import_roles is not None:
                new["import_roles"] = self._check_imports(s, name, import_roles)
            if allowed is not None:
                new["srch_indexes_allowed"] = check_patterns(allowed, "srchIndexesAllowed")
            if default is not None:
                new["srch_indexes_default"] = check_patterns(default, "srchIndexesDefault")
            changed = {}
            for field, value in new.items():
                old = tuple(json.loads(getattr(row, field)))
                if old != value:
                    changed[field] = [list(old), list(value)]
                    record_change(s, "role", name, field, list(old), list(value), actor)
                    setattr(row, field, json.dumps(value))
            if new_limits:
                lim = json.loads(row.limits) if row.limits else {}
                for n, v in new_limits.items():
                    if lim.get(n) != v:
                        changed[n] = [lim.get(n), v]
                        record_change(s, "role", name, n, lim.get(n), v, actor)
                        if v is None:
                            lim.pop(n, None)
                        else:
                            lim[n] = v
                row.limits = json.dumps(lim) if lim else None
            row.updated = time.time()
        return self.get(name), changed

    def remove(self, name: str, actor: str = "system") -> None:
        """Delete a custom role (its users lose it). Raises NotFoundError, InputError for a built-in."""
        with self.db.session() as s:
            row = s.get(RoleRow, name)
            if row is None:
                raise NotFoundError(f"no role named '{name}' (see 'speleo role list')")
            if row.builtin:
                raise InputError(f"'{name}' is a built-in role; edit it instead of removing it")
            s.delete(row)
            s.execute(delete(UserRoleRow).where(UserRoleRow.role == name))
            record_change(s, "role", name, "removed", name, None, actor)

    def _check_imports(self, s: Session, name: str, imports) -> tuple[str, ...]:
        out = tuple(dict.fromkeys(i.strip() for i in imports if i.strip()))
        for i in out:
            if i == name:
                raise InputError(f"role '{name}' cannot import itself")
            if s.get(RoleRow, i) is None:
                raise InputError(f"importRoles: no role named '{i}' (see 'speleo role list')")
        return out

    def grant(self, names) -> Grant:
        """The capabilities and index patterns of `names` with every imported role added."""
        with Session(self.db.engine) as s:
            rows = {r.name: _role(r) for r in s.scalars(select(RoleRow))}
        seen: list[str] = []
        todo = [n for n in names]
        while todo:
            n = todo.pop(0)
            if n in seen or n not in rows:
                continue
            seen.append(n)
            todo.extend(rows[n].import_roles)
        caps, allowed, default = set(), [], []
        for n in seen:
            r = rows[n]
            caps.update(r.capabilities)
            allowed += [p for p in r.srch_indexes_allowed if p not in allowed]
            default += [p for p in r.srch_indexes_default if p not in default]
        return Grant(tuple(n for n in names if n in rows), frozenset(caps), tuple(allowed), tuple(default),
                     combine_limits([dict(rows[n].limits) for n in seen]))
