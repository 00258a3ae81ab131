"""Registers the built-in alert actions (imported once by `speleo.alerts.actions`)."""

from speleo.alerts.actions import email, incident, lookup, logevent, script, summary_index, webhook  # noqa: F401
