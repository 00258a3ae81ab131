"""Dashboards: the Dashboard Studio JSON subset as Speleo's native format (`model`), Splunk's
token substitution (`tokens`), Simple XML conversion (`simplexml`) and the files under
`<home>/dashboards/` (`store`). Spec: shared/docs/specs/splunk-features.md section 4."""
