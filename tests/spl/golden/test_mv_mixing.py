"""A multivalue field meeting a single value: coalesce, if, case, rex, join, append, lookup
OUTPUTNEW and map's appended runs.

Splunk Search Reference, "Comparison and Conditional functions": coalesce(<values>) returns the
first value that is not null, if(<predicate>, <true_value>, <false_value>) and case(<pairs>) the
value of the chosen argument, each as it is: a multivalue argument stays multivalue. In Splunk a
field with one value and a multivalue field with one value are the same thing (mvcount 1); in
Speleo a column holding lists in some rows holds a one-value list in the others, which is how
such a value is shown (tests/spl/golden/test_multivalue.py does the same).

Events (newest first), the expected values worked out by hand in each test:
  -10 "id=1 user=alice grp=a"        -40 "id=4 user=dave grp=b"
  -20 "id=2 user=bob grp=a"          -50 "id=5 user=erin grp=c"
  -30 "id=3 user=carol grp=b"
"""

from __future__ import annotations

from tests.spl.golden._util import ev, rows_of, run

EVENTS = ev("id=1 user=alice grp=a", "id=2 user=bob grp=a", "id=3 user=carol grp=b", "id=4 user=dave grp=b",
            "id=5 user=erin grp=c")


def test_coalesce_of_a_single_value_and_eventstats_values():
    # the corpus's `eventstats values(counter) as fnscounter | eval counter=coalesce(counter, fnscounter)`:
    # u = user but for id=5; values(u) over all five = [alice, bob, carol, dave] (sorted); ids 1-4
    # keep their own u (one value), id=5 (null) gets the whole list
    rows = rows_of("* | eval u=if(id=5, null(), user) | eventstats values(u) as all | eval u=coalesce(u, all) "
                   "| eval n=mvcount(u) | sort id | table id u n", EVENTS, "id", "u", "n")
    assert rows == [("1", ["alice"], 1), ("2", ["bob"], 1), ("3", ["carol"], 1), ("4", ["dave"], 1),
                    ("5", ["alice", "bob", "carol", "dave"], 4)]


def test_if_and_case_return_the_chosen_argument_as_it_is():
    # per grp: values(user) a=[alice, bob], b=[carol, dave], c=[erin]; count a=2, b=2, c=1.
    # if(count>1, users, grp): a and b their lists, c its grp "c" (one value);
    # case(grp="a", grp, grp="b", users): a "a", b [carol, dave], c no branch -> null
    rows = rows_of('* | stats values(user) as users count by grp | eval pick=if(count>1, users, grp), '
                   'which=case(grp="a", grp, grp="b", users) | table grp pick which', EVENTS,
                   "grp", "pick", "which")
    assert rows == [("a", ["alice", "bob"], ["a"]), ("b", ["carol", "dave"], ["carol", "dave"]), ("c", ["c"], None)]


def test_if_over_a_multivalue_by_field_inside_stats_is_one_value():
    # stats by a multivalue field counts each value in its group; inside the aggregate the by-field
    # is that one value. letters = split(user, "a"): alice -> ["", "lice"], bob -> ["bob"],
    # carol -> ["c", "rol"], dave -> ["d", "ve"], erin -> ["erin"]. dc(if(id<3, letters, null)) per
    # letter (NULL: a field that does not exist, as the corpus writes it): the values from ids 1 and 2
    # ("", "lice", "bob") count 1, the others 0
    rows = rows_of('* | eval letters=split(user, "a") | stats dc(eval(if(id<3, letters, NULL))) as early by letters '
                   '| table letters early', EVENTS, "letters", "early")
    assert rows == [("", 1), ("bob", 1), ("c", 0), ("d", 0), ("erin", 0), ("lice", 1), ("rol", 0), ("ve", 0)]


def test_numbers_in_a_list_read_as_splunk_writes_them():
    # count (a number) chosen beside a list: 2, not "2.0"; grp c's count is 1
    rows = rows_of('* | stats values(user) as users count by grp | eval x=if(grp="c", count, users) '
                   '| table grp x', EVENTS, "grp", "x")
    assert rows == [("a", ["alice", "bob"]), ("b", ["carol", "dave"]), ("c", ["1"])]


def test_coalesce_of_a_number_column_and_a_text_column():
    # min(_time) is a number, grp text: coalesce gives the number's text where it is not null
    # (first event of grp a is at NOW-20, 1699999980) and the grp elsewhere
    rows = rows_of('* | stats min(_time) as first by grp | eval first=if(grp="a", first, null()) '
                   '| eval x=coalesce(first, grp) | table grp x', EVENTS, "grp", "x")
    assert rows == [("a", "1699999980"), ("b", "b"), ("c", "c")]


def test_rex_into_a_multivalue_field_replaces_it_only_where_it_matches():
    # users per grp as above; rex writes users from grp where grp is "a" or "b": the extracted
    # value replaces the list there (one value), grp c (no match) keeps its list [erin]
    rows = rows_of('* | stats values(user) as users by grp | rex field=grp "(?<users>[ab])" '
                   '| eval n=mvcount(users) | table grp users n', EVENTS, "grp", "users", "n")
    assert rows == [("a", ["a"], 1), ("b", ["b"], 1), ("c", ["erin"], 1)]
    rows = rows_of('* | stats values(user) as users by grp | rex field=grp "(?<users>b)" | table grp users',
                   EVENTS, "grp", "users")
    assert rows == [("a", ["alice", "bob"]), ("b", ["b"]), ("c", ["erin"])]


def test_join_of_a_single_value_and_a_list():
    # left: first(user) per grp (newest first: a alice, b carol, c erin); subsearch values(user)
    # per grp. overwrite (default): the subsearch's list; overwrite=false: the result's own value
    # where it has one, as a one-value list
    base = "* | stats first(user) as user by grp | join type=left grp [search * | stats values(user) as user by grp]"
    assert rows_of(base + " | table grp user", EVENTS, "grp", "user") == [
        ("a", ["alice", "bob"]), ("b", ["carol", "dave"]), ("c", ["erin"])]
    assert rows_of(base.replace("join type=left", "join type=left overwrite=false") + " | table grp user",
                   EVENTS, "grp", "user") == [("a", ["alice"]), ("b", ["carol"]), ("c", ["erin"])]
    # a list the join brings is known as one afterwards: mvcount counts its values
    rows = rows_of("* | stats count by grp | join grp [search * | stats values(user) as user by grp] "
                   "| eval n=mvcount(user) | table grp n", EVENTS, "grp", "n")
    assert rows == [("a", 2), ("b", 2), ("c", 1)]


def test_append_of_a_single_value_and_a_list():
    # first part: grp with user="x" (text); the appended part: values(user) per grp
    rows = run('* | stats count by grp | eval user="x" | append [search * | stats values(user) as user by grp] '
               '| eval n=mvcount(user) | table grp user n', rows=EVENTS)
    assert [(r["grp"], r["user"], r["n"]) for r in rows] == [
        ("a", ["x"], 1), ("b", ["x"], 1), ("c", ["x"], 1),
        ("a", ["alice", "bob"], 2), ("b", ["carol", "dave"], 2), ("c", ["erin"], 1)]


def test_lookup_outputnew_beside_a_number_and_a_list(tmp_path):
    # groups.csv: a -> 10, c -> 30. OUTPUTNEW keeps a value the result has: first(_time) is a
    # number (grp a 1699999990; b 1699999970), so only c (no first, nulled) takes the table's 30
    (tmp_path / "groups.csv").write_text("grp,first\na,10\nc,30\n")
    rows = rows_of('* | stats first(_time) as first by grp | eval first=if(grp="c", null(), first) '
                   '| lookup groups grp OUTPUTNEW first | table grp first', EVENTS, "grp", "first",
                   lookups_dir=tmp_path)
    assert rows == [("a", "1699999990"), ("b", "1699999970"), ("c", "30")]
    # users per grp is a list (c's nulled): a and b keep theirs, c takes the table's value as a list
    (tmp_path / "groups.csv").write_text("grp,users\na,10\nc,30\n")
    rows = rows_of('* | stats values(user) as users by grp | eval users=if(grp="c", null(), users) '
                   '| lookup groups grp OUTPUTNEW users '
                   '| eval n=mvcount(users) | table grp users n', EVENTS, "grp", "users", "n", lookups_dir=tmp_path)
    assert rows == [("a", ["alice", "bob"], 2), ("b", ["carol", "dave"], 2), ("c", ["30"], 1)]


def test_map_runs_appended_with_a_list_where_the_input_has_one_value():
    # input: grp and user of id=1 (one value); each run (one per input result) gives values(user)
    # of that grp: the column is then lists, the input's value a one-value list
    rows = run('* id=1 | table grp user | appendpipe [| map search="search grp=$grp$ '
               '| stats values(user) as user by grp"]', rows=EVENTS)
    assert [(r["grp"], r["user"]) for r in rows] == [("a", ["alice"]), ("a", ["alice", "bob"])]
