"""Splunk `.conf` files for the alert code: the reader lives in `speleo.conffile` (one reader for
savedsearches.conf, alert_actions.conf, eventtypes.conf, tags.conf, ...)."""

from speleo.conffile import ConfFile, Stanza, parse_conf, read_conf  # noqa: F401
