"""The forwarder: follows files with the monitor code, queues parsed events on disk and ships
them to an HTTP Event Collector (Speleo's or Splunk's), deleting a queued record and advancing
the file checkpoint it carries only once the receiver has acknowledged the events as durable.

- `queue`: the disk-backed queue (append-only segment files, fsync, size limit, torn tails).
- `state`: the checkpoint store (acknowledged position and file checkpoints, atomic writes).
- `sender`: the HEC client (batching, gzip, channels, acks, retries with backoff).
- `metrics`: host metrics with psutil.
- `agent`: the process that ties them together (`speleo forward`).
"""
