"""Host metrics with psutil, as JSON events (sourcetype `speleo:metrics`).

One sample is a few events, each a flat JSON object with `metric` naming its group:

- `cpu`: `cpu_percent` (all cores, since the last sample), `cpu_count`, `load1/5/15`;
- `memory`: `total`, `available`, `used`, `percent`, `swap_total`, `swap_used`, `swap_percent`;
- `disk` (one per mounted file system): `mount`, `device`, `fstype`, `total`, `used`, `free`, `percent`;
- `diskio`: cumulative `read_bytes`, `write_bytes`, `read_count`, `write_count`, and the rates
  `read_bytes_per_s`, `write_bytes_per_s` since the last sample;
- `net`: cumulative `bytes_sent`, `bytes_recv`, `packets_sent`, `packets_recv`, `errin`, `errout`,
  `dropin`, `dropout`, and `bytes_sent_per_s`, `bytes_recv_per_s`.

With `speleo forward --service NAME`, every event also has `service` (the service the host runs).
Byte counts are bytes, percents 0–100. Search them with e.g.
`index=metrics metric=cpu | timechart avg(cpu_percent) by host`.
"""

from __future__ import annotations

import json
import os
import time

import psutil

PSEUDO_FS = {"proc", "sysfs", "devtmpfs", "devpts", "tmpfs", "cgroup", "cgroup2", "overlay", "squashfs",
             "securityfs", "pstore", "debugfs", "tracefs", "mqueue", "hugetlbfs", "fusectl", "configfs",
             "autofs", "binfmt_misc", "bpf", "nsfs", "ramfs", "rpc_pipefs", "efivarfs"}


class HostMetrics:
    """Takes samples; rates are computed against the previous sample of this object."""

    def __init__(self) -> None:
        psutil.cpu_percent(None)  # the first call starts the measuring interval
        self._last: tuple[float, object, object] | None = None

    def sample(self) -> list[dict]:
        now = time.time()
        out: list[dict] = []
        cpu = {"metric": "cpu", "cpu_percent": psutil.cpu_percent(None), "cpu_count": psutil.cpu_count()}
        if hasattr(os, "getloadavg"):
            cpu["load1"], cpu["load5"], cpu["load15"] = (round(x, 2) for x in os.getloadavg())
        out.append(cpu)
        vm, sw = psutil.virtual_memory(), psutil.swap_memory()
        out.append({"metric": "memory", "total": vm.total, "available": vm.available, "used": vm.used,
                    "percent": vm.percent, "swap_total": sw.total, "swap_used": sw.used, "swap_percent": sw.percent})
        seen: set[str] = set()
        for part in psutil.disk_partitions(all=False):
            if part.fstype in PSEUDO_FS or part.mountpoint in seen:
                continue
            seen.add(part.mountpoint)
            try:
                du = psutil.disk_usage(part.mountpoint)
            except OSError:
                continue
            out.append({"metric": "disk", "mount": part.mountpoint, "device": part.device, "fstype": part.fstype,
                        "total": du.total, "used": du.used, "free": du.free, "percent": du.percent})
        io = _safe(psutil.disk_io_counters)
        net = _safe(psutil.net_io_counters)
        last = self._last
        secs = now - last[0] if last else 0.0
        if io is not None:
            ev = {"metric": "diskio", "read_bytes": io.read_bytes, "write_bytes": io.write_bytes,
                  "read_count": io.read_count, "write_count": io.write_count}
            if last and last[1] is not None and secs > 0:
                ev["read_bytes_per_s"] = round((io.read_bytes - last[1].read_bytes) / secs, 1)
                ev["write_bytes_per_s"] = round((io.write_bytes - last[1].write_bytes) / secs, 1)
            out.append(ev)
        if net is not None:
            ev = {"metric": "net", "bytes_sent": net.bytes_sent, "bytes_recv": net.bytes_recv,
                  "packets_sent": net.packets_sent, "packets_recv": net.packets_recv, "errin": net.errin,
                  "errout": net.errout, "dropin": net.dropin, "dropout": net.dropout}
            if last and last[2] is not None and secs > 0:
                ev["bytes_sent_per_s"] = round((net.bytes_sent - last[2].bytes_sent) / secs, 1)
                ev["bytes_recv_per_s"] = round((net.bytes_recv - last[2].bytes_recv) / secs, 1)
            out.append(ev)
        self._last = (now, io, net)
        return out


def _safe(fn):
    try:
        return fn()
    except (OSError, RuntimeError):
        return None


def envelopes(samples: list[dict], when: float, host: str, index: str, sourcetype: str,
              source: str = "speleo:forwarder:metrics", service: str | None = None) -> bytes:
    """HEC envelopes for one sample (the event is the JSON object; with `service`, each object
    also carries `"service": service`, which the capacity report groups hosts by)."""
    if service:
        samples = [{**s, "service": service} for s in samples]
    tail = json.dumps({"host": host, "source": source, "sourcetype": sourcetype,
                       "index": index}, separators=(",", ":"))[1:]
    return "\n".join('{"time":%r,"event":%s,%s' % (round(when, 3), json.dumps(s, separators=(",", ":")), tail)
                     for s in samples).encode()
