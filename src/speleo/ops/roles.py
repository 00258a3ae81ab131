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

    def to_dict(self) -> dict:
        return {"name": self.name, "capabilities": list(self.capabilities), "importRoles": list(self.import_roles),
                "srchIndexesAllowed": list(self.srch_indexes_allowed),
                "srchIndexesDefault": list(self.srch_indexes_default), "builtin": self.builtin}


@dataclass(frozen=True)
class Grant:
    """What a set of roles adds up to (imports applied): capabilities and index patterns."""

    roles: tuple[str, ...]
    capabilities: frozenset[str]
    allowed: tuple[str, ...]
    default: tuple[str, ...]


def _role(r: RoleRow) -> Role:
    return Role(r.name, tuple(json.loads(r.capabilities)), tuple(json.loads(r.import_roles)),
                tuple(json.loads(r.srch_indexes_allowed)), tuple(json.loads(r.srch_indexes_default)), bool(r.builtin))


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

    def create(self, name: str, capabilities=(), import_roles=(), allowed=(), default=(), actor: str = "system") -> Role:
        """A new custom role. Raises InputError (bad name, capability, pattern, unknown import), ConflictError."""
        check_role_name(name)
        caps = check_capabilities(capabilities)
        allowed, default = check_patterns(allowed, "srchIndexesAllowed"), check_patterns(default, "srchIndexesDefault")
        with self.db.session() as s:
            if s.get(RoleRow, name) is not None:
                raise ConflictError(f"role '{name}' already exists")
            imports = self._check_imports(s, name, import_roles)
            now = time.time()
            s.add(RoleRow(name=name, capabilities=json.dumps(caps), import_roles=json.dumps(imports),
                          srch_indexes_allowed=json.dumps(allowed), srch_indexes_default=json.dumps(default),
                          builtin=0, created=now, updated=now))
            record_change(s, "role", name, "created", None, {"capabilities": caps, "importRoles": imports,
                                                              "srchIndexesAllowed": allowed,
                                                              "srchIndexesDefault": default}, actor)
        return self.get(name)

    def edit(self, name: str, *, capabilities=None, import_roles=None, allowed=None, default=None,
             actor: str = "system") -> tuple[Role, dict]:
        """Change the given settings (None: unchanged); returns the role and {field: [old, new]}.

        Raises NotFoundError, InputError."""
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
        return Grant(tuple(n for n in names if n in rows), frozenset(caps), tuple(allowed), tuple(default))
