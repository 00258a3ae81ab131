"""A post-mortem as Markdown and as a printable HTML page (the SRE book's example post-mortem
sections that apply: title, date, facilitator and attendees, impact, detection, timeline, issues,
action items as Action | Type | Owner | Due | Expected result | Status). Pure functions over the
dict `Postmortems.get` returns. All user text is escaped (Markdown table pipes, HTML)."""

from __future__ import annotations

import datetime as dt
import html


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _md(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _mark(e: dict) -> str:
    marks = [m for m, f in (("impact start", e["impact_start"]), ("detection", e["detection"]), ("late", e["late"]))
             if f]
    return ", ".join(marks)


def _sections(pm: dict) -> dict:
    accepted = [e for e in pm["entries"] if e["state"] == "accepted"]
    by_id = {e["id"]: e for e in pm["entries"]}
    impact = next((e for e in accepted if e["impact_start"]), None)
    detect = next((e for e in accepted if e["detection"]), None)
    return {"accepted": accepted, "by_id": by_id, "impact": impact, "detect": detect}


def markdown(pm: dict) -> str:
    """The post-mortem as a Markdown document (accepted timeline entries only)."""
    x = _sections(pm)
    lines = [f"# {pm['title']}", "",
             f"- Incident: {pm['incident_id']}", f"- Phase: {pm['phase']}",
             f"- Facilitator: {pm['facilitator'] or '-'}", f"- Attendees: {', '.join(pm['attendees']) or '-'}",
             f"- Started: {_when(pm['created_at'])}; timeline agreed: {_when(pm['agreed_at'])}",
             f"- Impact started: {_when(x['impact']['at']) if x['impact'] else '-'}",
             f"- Detected: {_when(x['detect']['at']) if x['detect'] else '-'}", "", "## Timeline", "",
             "| # | Time (UTC) | What | Source | Marks | Search |", "|---|---|---|---|---|---|"]
    for e in x["accepted"]:
        link = f"[re-run]({e['link']})" if e["link"] else ""
        lines.append(f"| {e['id']} | {_when(e['at'])} | {_md(e['text'])} | {_md(e['source'])} | {_mark(e)} | {link} |")
    lines += ["", "## Issues", ""]
    for i in pm["issues"]:
        late = " (late)" if i["late"] else ""
        lines.append(f"- **Issue {i['id']}**{late}: {_md(i['text'])} (timeline entries "
                     f"{', '.join(str(n) for n in i['entries'])})")
    lines += ["", "## Action items", "", "| # | Issue | Action | Type | Owner | Due | Expected result | Status |",
              "|---|---|---|---|---|---|---|---|"]
    for a in pm["actions"]:
        lines.append(f"| {a['id']} | {a['source_item']} | {_md(a['title'])} | {a['type']} | {_md(a['owner'])} | "
                     f"{_when(a['due_at'])} | {_md(a['expected'])} | {a['status']} |")
    return "\n".join(lines) + "\n"


def printable(pm: dict) -> str:
    """The post-mortem as a self-contained printable HTML page (print CSS, no script)."""
    e_ = html.escape
    x = _sections(pm)
    rows = "".join(f"<tr><td>{e['id']}</td><td>{_when(e['at'])}</td><td>{e_(e['text'])}</td><td>{e_(e['source'])}"
                   f"</td><td>{_mark(e)}</td></tr>" for e in x["accepted"])
    issues = "".join(f"<li><b>Issue {i['id']}</b>{' (late)' if i['late'] else ''}: {e_(i['text'])} "
                     f"(entries {', '.join(str(n) for n in i['entries'])})</li>" for i in pm["issues"])
    acts = "".join(f"<tr><td>{a['id']}</td><td>{a['source_item']}</td><td>{e_(a['title'])}</td><td>{a['type']}</td>"
                   f"<td>{e_(a['owner'])}</td><td>{_when(a['due_at'])}</td><td>{e_(a['expected'])}</td>"
                   f"<td>{a['status']}</td></tr>" for a in pm["actions"])
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{e_(pm['title'])}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:60em}}table{{border-collapse:collapse;width:100%}}
td,th{{border:1px solid #999;padding:.3em;text-align:left;vertical-align:top}}@media print{{body{{margin:0}}}}</style>
</head><body><h1>{e_(pm['title'])}</h1>
<p>Incident {pm['incident_id']} &middot; phase {e_(pm['phase'])} &middot; facilitator {e_(pm['facilitator'] or '-')}
&middot; attendees {e_(', '.join(pm['attendees']) or '-')}</p>
<p>Impact started {_when(x['impact']['at']) if x['impact'] else '-'} &middot; detected
{_when(x['detect']['at']) if x['detect'] else '-'}</p>
<h2>Timeline</h2><table><tr><th>#</th><th>Time (UTC)</th><th>What</th><th>Source</th><th>Marks</th></tr>{rows}</table>
<h2>Issues</h2><ul>{issues}</ul>
<h2>Action items</h2><table><tr><th>#</th><th>Issue</th><th>Action</th><th>Type</th><th>Owner</th><th>Due</th>
<th>Expected result</th><th>Status</th></tr>{acts}</table></body></html>
"""
