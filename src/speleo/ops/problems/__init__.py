"""Problems: the unknown root cause of one or more incidents (ITIL 4), with a plan of attack for
the next occurrence and signatures that recognise it.

`models` (tables), `service` (operations, no HTTP), `signatures` (kinds, normalisation, the
precompiled matcher), `flows` (what an incident opening or an alert firing sets off: matching
signatures link the problem and its plan to the incident, saying why). Routes in
`speleo.server.problems_api`, commands in `speleo.cli.problem_cmds`; docs/incidents.md.
"""
