"""`/event` bodies to columns (speleo.ingest.hec.parse_events): plain batches read a column at a
time and the others one envelope at a time give the same columns, codes and error numbers."""

from __future__ import annotations

from speleo.ingest import hec

NOW = 1000.0
DEFAULTS = hec.Defaults("dh", "ds", "dst", "main", lambda index: index in ("main", "web"))


def parse(body: bytes):
    batch, error = hec.parse_events(body, DEFAULTS, NOW)
    return batch.columns(), (error.status, error.body) if error else None


def test_a_plain_batch_with_defaults_times_and_lines():
    cols, error = parse(b'{"event": "a", "host": "h1"}\n{"event": "b\\nc", "time": "5.5", "index": "", "source": "s"}')
    assert error is None
    assert cols == {"_time": [1000.0, 5.5], "_raw": ["a", "b\nc"], "host": ["h1", "dh"], "source": ["ds", "s"],
                    "sourcetype": ["dst", "dst"], "index": ["main", "main"], "linecount": [1, 2],
                    "_fields": [None, None]}


def test_fields_and_object_events_are_kept():
    cols, error = parse(b'[{"event": {"m": 1}, "index": "web"}, {"event": "x", "fields": {"k": [1, null], "z": null}}]')
    assert error is None
    assert (cols["_raw"], cols["index"], cols["_fields"]) == (['{"m":1}', "x"], ["web", "main"], [None, '{"k":[1]}'])


def test_the_first_bad_envelope_is_the_error_even_before_malformed_json():
    cols, error = parse(b'{"event": "a"}{"event": "  "}{"event": ')
    assert error == (400, {"text": "Event field cannot be blank", "code": 13, "invalid-event-number": 1})
    assert cols["_raw"] == ["a"]


def test_malformed_json_after_good_envelopes_is_numbered_after_them():
    cols, error = parse(b'{"event": "a"}[{"event": "b"}, {"event": "c"}]{"event"')
    assert error == (400, {"text": "Invalid data format", "code": 6, "invalid-event-number": 3})
    assert cols["_raw"] == ["a", "b", "c"]


def test_metadata_codes():
    assert parse(b'{"event": "a"}{"event": "b", "host": 5}')[1][1] == {
        "text": "Invalid data format", "code": 6, "invalid-event-number": 1}
    assert parse(b'{"event": "a", "index": "other"}')[1][1] == {
        "text": "Incorrect index", "code": 7, "invalid-event-number": 0}
    assert parse(b'{"event": "a", "time": true}')[1][1]["code"] == 6
    assert parse(b'{"event": "a"}{"time": 1}')[1][1] == {
        "text": "Event field is required", "code": 12, "invalid-event-number": 1}
    assert parse(b'{"event": "a", "fields": {"k": {"x": 1}}}')[1][1]["code"] == 15


def test_empty_bodies_and_arrays_are_no_data():
    for body in (b"", b" \n ", b"[]", b"[] []"):
        assert parse(body) == (hec.Batch().columns(), (400, {"text": "No data", "code": 5}))


def test_a_time_past_a_doubles_range_is_invalid_data_not_an_internal_error():
    # 400 digits: Python reads the integer, a double cannot hold it (it was code 8, internal error)
    huge = b"9" * 400
    assert parse(b'{"event": "a", "time": ' + huge + b'}')[1] == (
        400, {"text": "Invalid data format", "code": 6, "invalid-event-number": 0})
    cols, error = parse(b'{"event": "a"}{"event": "b", "time": ' + huge + b'}')
    assert error == (400, {"text": "Invalid data format", "code": 6, "invalid-event-number": 1})
    assert cols["_raw"] == ["a"]
