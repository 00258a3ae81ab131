"""Shared helpers of the fschange tests: a home with one fschange input over a real tree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from speleo.alerts.fschange import inputs
from speleo.alerts.fschange.runner import FsChangeInput
from speleo.alerts.fschange.settings import FsChangeSettings
from speleo.config import Home
from speleo.service import Service


class Rig:
    """A home with one fschange input over `tree`, a writer, and helpers to read the events."""

    def __init__(self, tmp: Path, settings: FsChangeSettings, tree: Path | None = None) -> None:
        self.tree = tree or tmp / "tree"
        self.tree.mkdir(exist_ok=True)
        self.home = Home(tmp / "home")
        self.svc = Service(self.home)
        self.id = inputs.add_input(self.svc, str(self.tree), "fim", settings)
        self.writer = self.svc.open_writer()
        self.inp = self._input()

    def _input(self) -> FsChangeInput:
        inp = FsChangeInput(inputs.get_input(self.svc, str(self.id)), self.home.root, self.writer.store, self.svc.catalog)
        inp.start()
        return inp

    def reopen(self) -> None:
        """As after a restart: a new writer (journal recovered) and a new input object."""
        self.inp.close()
        self.writer.close()
        self.writer = self.svc.open_writer()
        self.inp = self._input()

    def events(self) -> list[dict]:
        self.writer.store.seal()
        res = self.svc.search("index=fim sourcetype=fs_notification", limit=0, timeline=False)
        return sorted((json.loads(r["_fields"]) for r in res.table.to_pylist()), key=lambda f: (f["path"], f["action"]))

    def close(self) -> None:
        self.inp.close()
        self.writer.close()


@pytest.fixture
def rig(tmp_path):
    made = []

    def make(settings: FsChangeSettings | None = None, tree: Path | None = None) -> Rig:
        r = Rig(tmp_path, settings or FsChangeSettings(), tree)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()
