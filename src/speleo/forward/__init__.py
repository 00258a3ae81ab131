"""The forwarder: follows files with the monitor's file-following code, queues complete lines on
disk and ships them raw to an HTTP Event Collector (Speleo's or Splunk's), which breaks and
timestamps them; a queued record is deleted and the file checkpoint it carries advanced only once
the receiver has acknowledged the lines as durable. Neither pyarrow nor the event parser is loaded.

- `tail`: file following for the forwarder (complete lines, multi-line events kept whole).
- `queue`: the disk-backed queue (append-only segment files, fsync, size limit, torn tails).
- `state`: the checkpoint store (acknowledged position and file checkpoints, atomic writes).
- `sender`: the HEC client (batching, gzip, channels, acks, retries with backoff).
- `metrics`: host metrics with psutil.
- `agent`: the process that ties them together (`speleo forward`, `python -m speleo.forward`).
"""
