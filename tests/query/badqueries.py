"""Bad searches for the error-translation tests (no huge `makeresults count`: a count that fits
64 bits is valid and only slow, as Splunk's): numbers past 64 bits or past double, text where
a number goes, broken regexes and time formats, and cut or shuffled real queries. Deterministic
(a seeded generator), so a failure names a query that can be run again."""

from __future__ import annotations

import random

BIG = ["99999999999999999999", "9223372036854775807", "9223372036854775808", "1e19", "1e400", "-1e400",
       "-9223372036854775808", "18446744073709551616", "0", "-1", "0.5", "\"abc\"", "null()", "\"\""]

TEMPLATES = [
    "index=web | head {n}", "index=web | tail {n}", "index=web | top limit={n} status",
    "index=web | rare limit={n} clientip", "index=web | eval x=substr(_raw, {n}) | head 2",
    "index=web | eval x=substr(_raw, 1, {n}) | head 2", "index=web | eval x=round(bytes, {n}) | head 2",
    "index=web | eval x=mvindex(split(_raw, \" \"), {n}) | head 2", "index=web | eval x={n}+{n}*{n} | head 2",
    "index=web | eval x=pow({n}, {n}) | head 2", "index=web | eval x=exact({n})*{n} | head 2",
    "index=web | eval x=strftime({n}, \"%Y\") | head 2", "index=web | eval x=relative_time({n}, \"-1d\") | head 2",
    "index=web | eval x=relative_time(_time, \"-{n}y\") | head 2", "index=web | bin span={n}s _time | head 2",
    "index=web | bin bins={n} bytes | head 2", "index=web | timechart span={n}m count",
    "index=web | stats count by status | where count > {n}", "index=web | where status*{n} > {n} | head 2",
    "index=web | eval x=tonumber(\"{n}\") * 9223372036854775807 | head 2", "index=web | streamstats window={n} count",
    "index=web | dedup {n} clientip", "index=web | sort {n} - bytes", "index=web | makemv delim=\",\" x | head {n}",
"index=web | eval x=mvrange(0, {n}) | head 2", "index=web | eval x=len({n}) | head 2",
    "index=web | eval x=tostring({n}, \"hex\") | head 2", "index=web | eval x=printf(\"%d\", {n}) | head 2",
    "index=web | eval x=_time + {n} | bin span=1d x | head 2", "index=web | eval _time={n} | timechart span=1h count",
    "index=web | stats perc{n}(bytes)", "index=web | eval x=random() % {n} | head 2",
    "index=web | eval x=strptime(\"{n}\", \"%s\") * {n} | head 2", "index=web | eval x=floor({n}) + ceil({n}) | head 2",
    "index=web | eval x=mvcount(mvrange(1, {n}, {n})) | head 2", "index=web | rex field=_raw max_match={n} \"(?<a>\\d)\" | head 2",
]

BROKEN = [
    "index=web | rex \"(?<x\"", "index=web | regex _raw=\"((\"", "index=web | eval x=match(_raw, \"[\") | head 2",
    "index=web | eval x=replace(_raw, \"(\", \"\") | head 2", "index=web | eval x=strptime(_raw, \"%Q%\") | head 2",
    "index=web | eval x=strftime(_time, 5) | head 2", "index=web | eval x=\"a\" - 1 | head 2",
    "index=web | eval x=tonumber(\"a\", 99) | head 2", "index=web | eval x=if(1, 2) | head 2",
    "index=web | stats count(", "index=web | eval", "index=web | eval x=", "index=web | where",
    "index=web | stats avg(_raw)", "index=web | stats sum(clientip) by status", "index=web | eval x=status.\"a\" + 1 | head 2",
    "index=web | eval x=mvindex(_raw, \"a\") | head 2", "index=web | eval x=cidrmatch(\"999.1.1.1/99\", clientip) | head 2",
    "index=web | iplocation clientip", "index=web | eval x=((((((((((1)))))))))) | head 2",
    "index=web | eval x=" + "(" * 400 + "1" + ")" * 400 + " | head 2", "index=web [search index=web | head 99999999999999999999]",
    "index=web | join clientip [search index=web | head 1e400]", "index=web | eval x=spath(_raw, \"[[[\") | head 2",
    "index=web | spath input=_raw path=\"a{{{\" | head 2", "index=web | eval x=sha256({n}) | head 2".format(n=1),
    "index=web earliest=\"99999999999999999999\" | head 2", "index=web earliest=-99999999999y | head 2",
    "index=web latest=+99999999999d | head 2", "| makeresults count=99999999999999999999", "index=web | eval x=time() / 0 | head 2",
    "index=web | fillnull value=99999999999999999999 | head 2", "index=web | convert num(bytes) | eval y=bytes*1e308*10 | head 2",
]

GOOD = [
    "index=web status=404 | stats count by uri", "index=web | timechart span=1h count by status",
    "index=web | top limit=3 clientip", "index=web | eval kb=bytes/1024 | stats avg(kb) by status",
    "index=web | rex field=_raw \"(?<method>[A-Z]+) (?<path>/\\S*)\" | stats count by method",
    "index=web | where status >= 500 | head 10", "index=web | stats dc(clientip) as ips, sum(bytes) as b by status",
]


def bad_queries(count: int = 300, seed: int = 9) -> list[str]:
    """`count` bad searches: every template with every odd value, the broken ones, then cut and
    shuffled good searches (seeded)."""
    out = [t.format(n=n) for t in TEMPLATES for n in BIG[:6]] + BROKEN
    rng = random.Random(seed)
    while len(out) < count:
        q = rng.choice(GOOD)
        parts = q.split(" ")
        how = rng.randrange(4)
        if how == 0:
            q = q[: rng.randrange(1, len(q))]                          # cut anywhere
        elif how == 1:
            parts[rng.randrange(len(parts))] = rng.choice(BIG)        # a word replaced by an odd value
            q = " ".join(parts)
        elif how == 2:
            i, j = rng.randrange(len(parts)), rng.randrange(len(parts))
            parts[i], parts[j] = parts[j], parts[i]                   # two words swapped
            q = " ".join(parts)
        else:
            q = q.replace("|", rng.choice(["| eval x=" + rng.choice(BIG) + " |", "||", "| head " + rng.choice(BIG) + " |"]), 1)
        out.append(q)
    return out[:count] if len(out) > count else out
