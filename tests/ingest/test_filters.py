"""Ingest filters (props/transforms: nullQueue, indexQueue, index routing) on real files through
`speleo add oneshot`; dropped volume counted apart from the licence record and shown in status."""

from __future__ import annotations

import json

import pytest

from speleo.errors import InputError
from speleo.ingest import filters
from tests.conftest import jsonl, run_cli

TRANSFORMS = r'''
[transforms.drop_debug]
REGEX = "\\bDEBUG\\b"
DEST_KEY = "queue"
FORMAT = "nullQueue"

[transforms.keep_debug_payments]
REGEX = "payment"
DEST_KEY = "queue"
FORMAT = "indexQueue"

[transforms.route_auth]
REGEX = "auth"
SOURCE_KEY = "MetaData:Source"
DEST_KEY = "_MetaData:Index"
FORMAT = "security"

[props."sourcetype::app"]
TRANSFORMS = ["drop_debug", "keep_debug_payments"]

[props."source::*auth*"]
TRANSFORMS = ["route_auth"]
'''


def test_drop_keep_and_route_with_volume_counted_apart(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "transforms.toml").write_text(TRANSFORMS)
    app = [f"2026-12-01 10:00:{i:02d} {'DEBUG' if i % 3 == 0 else 'INFO'} step={i}" for i in range(30)]
    app.append("2026-12-01 10:01:00 DEBUG payment id=7")
    (tmp_path / "app.log").write_text("\n".join(app) + "\n")
    auth = [f"2026-12-01 10:00:{i:02d} INFO login user=u{i}" for i in range(5)]
    (tmp_path / "auth.log").write_text("\n".join(auth) + "\n")
    run_cli(home, "add", "oneshot", str(tmp_path / "app.log"), "--index", "main", "--sourcetype", "app")
    run_cli(home, "add", "oneshot", str(tmp_path / "auth.log"), "--index", "main", "--sourcetype", "app")
    kept = [x for x in app if " DEBUG " not in x or "payment" in x]
    dropped = [x for x in app if x not in kept]
    got = jsonl(run_cli(home, "search", "index=main", "-o", "jsonl", "--limit", "0").stdout)
    assert sorted(e["_raw"] for e in got) == sorted(kept)
    routed = jsonl(run_cli(home, "search", "index=security", "-o", "jsonl", "--limit", "0").stdout)
    assert sorted(e["_raw"] for e in routed) == sorted(auth)
    st = json.loads(run_cli(home, "status", "--json").stdout)
    assert st["filtered_today"] == [{"transform": "drop_debug", "index": "main", "events": len(dropped),
                                     "bytes": sum(len(x.encode()) for x in dropped)}]
    assert any(p["kind"] == "dropped" and p["source"] == "transforms:drop_debug" and p["count"] == len(dropped)
               for p in st["problems"])
    usage = json.loads(run_cli(home, "license", "usage", "-o", "json").stdout)
    assert {r["index"]: r["bytes"] for r in usage["rows"]} == {
        "main": sum(len(x.encode()) for x in kept), "security": sum(len(x.encode()) for x in auth)}
    assert usage["status"]["filtered_bytes"] == sum(len(x.encode()) for x in dropped)


@pytest.mark.parametrize("text, words", [
    ('[transforms.a]\nREGEX = "("\nDEST_KEY = "queue"\nFORMAT = "nullQueue"\n', "not a valid RE2"),
    ('[transforms.a]\nREGEX = "x"\nDEST_KEY = "queue"\nFORMAT = "trashQueue"\n', "nullQueue"),
    ('[transforms.a]\nREGEX = "x"\nDEST_KEY = "_MetaData:Index"\nFORMAT = "_internal"\n', "internal index"),
    ('[transforms.a]\nREGEX = "x"\nSOURCE_KEY = "MetaData:Colour"\nDEST_KEY = "queue"\nFORMAT = "nullQueue"\n', "SOURCE_KEY"),
    ('[props.app]\nTRANSFORMS = ["nope"]\n', "not defined"),
    ('[props.app\n', "transforms.toml"),
])
def test_bad_filter_files_are_refused_with_the_stanza(tmp_path, text, words):
    path = tmp_path / "transforms.toml"
    path.write_text(text)
    with pytest.raises(InputError) as e:
        filters.load(path)
    assert words in str(e.value) and str(path) in str(e.value)
