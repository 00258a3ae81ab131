"""Incidents: records (`models`), operations on them (`service`), and what a change sets off (`flows`).

The shape follows Netflix Dispatch's domain packages (STYLE.md); the routes are in
`speleo.server.incidents_api`, the commands in `speleo.cli.incident_cmds`.
"""
