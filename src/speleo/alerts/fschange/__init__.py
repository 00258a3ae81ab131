"""File-change monitoring (Splunk's `[fschange:<path>]` input) and code-roll verification.

- `settings`: the options of one input (`pollPeriod`, `hashMaxSize`, filters...) and their checks.
- `scanner`: walks a tree without following symbolic links and records each entry's attributes.
- `changes`: compares two scans: add / update / delete / renamed, with the attributes that changed.
- `events`: renders changes as `fs_notification` events (Splunk's key=value `_raw`, indexed fields).
- `state`: the durable baseline of one input and the commit protocol that keeps it consistent
  with the events in the index across kill -9.
- `runner`: one input at work (scan, compare, emit in batches, store; the first scan is the baseline).
- `watcher`: the server's loop (inotify through watchdog, polling fallback, restart rescan).
- `inputs`: registering, listing and removing inputs (catalog `inputs` rows of kind `fschange`).
- `manifest`, `verify`: release manifests and the code-roll check (`verify.check`, and
  `verify.roll_condition` for alert conditions). See docs/alerts-fschange.md.
- `conf`: the `[fschange:<path>]` and `[filter:...]` stanzas of a Splunk `inputs.conf`.
"""
