"""Failure-predicting figures of a smartctl JSON document (`smartctl --json -a`, smartmontools
7.0+), pure functions shared by the forwarder (which adds them to each document it sends) and
the disk-health report.

Attributes read (smartmontools JSON names; ATA ids from the ATA/ACS SMART attribute lists):
- ATA (`ata_smart_attributes.table[].id` -> `raw.value`): 5 reallocated_sectors
  (Reallocated_Sector_Ct), 187 reported_uncorrectable (Reported_Uncorrect), 188 command_timeout
  (Command_Timeout), 197 pending_sectors (Current_Pending_Sector), 198 offline_uncorrectable
  (Offline_Uncorrectable). Backblaze's drive statistics found these five the ones whose non-zero
  raw value goes with failure.
- NVMe (`nvme_smart_health_information_log`): media_errors, critical_warning (a bit field),
  percentage_used, available_spare and available_spare_threshold, num_err_log_entries.
- Both: `smart_status.passed` (the drive's own overall verdict).

Risk rating (worst first): `failing` (the drive says it fails: smart_status.passed false, an ATA
attribute with `when_failed` set, NVMe critical_warning not 0 or spare below threshold), `high`
(pending, offline-uncorrectable, reported-uncorrectable sectors or NVMe media errors, or any
predictor rising over the range), `medium` (reallocated sectors or command timeouts not rising,
NVMe wear percentage_used >= 90), `low` (none of these).
"""

from __future__ import annotations

import json
from typing import Any

ATA_PREDICTORS = {5: "reallocated_sectors", 187: "reported_uncorrectable", 188: "command_timeout",
                  197: "pending_sectors", 198: "offline_uncorrectable"}
NVME_PREDICTORS = ("media_errors", "critical_warning", "percentage_used", "available_spare",
                   "available_spare_threshold", "num_err_log_entries")
HIGH = ("pending_sectors", "offline_uncorrectable", "reported_uncorrectable", "media_errors")
MEDIUM = ("reallocated_sectors", "command_timeout")
RISKS = ("failing", "high", "medium", "low", "unknown")
# rising values of these never raise the risk (wear and spare move in normal use)
NOT_PREDICTING_WHEN_RISING = ("percentage_used", "available_spare", "available_spare_threshold",
                              "num_err_log_entries")


class SmartParseError(ValueError):
    """A document that is not a smartctl JSON object describing a drive."""


def parse(text: str | bytes) -> dict:
    """The smartctl document in `text`. Raises SmartParseError saying why it is not one."""
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise SmartParseError(f"not JSON: {e}") from None
    if not isinstance(doc, dict):
        raise SmartParseError("not a JSON object")
    if not isinstance(doc.get("device"), dict) and "smartctl" not in doc:
        raise SmartParseError("no 'device' or 'smartctl' member: not smartctl --json output")
    return doc


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def summary(doc: dict) -> dict:
    """The flat figures of one document: `device`, `model`, `serial`, `protocol`, `passed`
    (bool or None), `failed_attributes` (ATA names with when_failed set) and each predictor
    found (ATA names of ATA_PREDICTORS, NVMe names of NVME_PREDICTORS; ints)."""
    dev = doc.get("device") if isinstance(doc.get("device"), dict) else {}
    status = doc.get("smart_status") if isinstance(doc.get("smart_status"), dict) else {}
    out: dict[str, Any] = {"device": dev.get("name"), "protocol": dev.get("protocol"), "model": doc.get("model_name"),
                           "serial": doc.get("serial_number"),
                           "passed": status.get("passed") if isinstance(status.get("passed"), bool) else None,
                           "failed_attributes": []}
    table = (doc.get("ata_smart_attributes") or {}).get("table") if isinstance(doc.get("ata_smart_attributes"), dict) else None
    for attr in table if isinstance(table, list) else []:
        if not isinstance(attr, dict):
            continue
        if attr.get("when_failed") not in (None, ""):
            out["failed_attributes"].append(str(attr.get("name") or attr.get("id")))
        name = ATA_PREDICTORS.get(attr.get("id"))
        raw = attr.get("raw") if isinstance(attr.get("raw"), dict) else {}
        if name and _int(raw.get("value")) is not None:
            out[name] = raw["value"]
    log = doc.get("nvme_smart_health_information_log")
    if isinstance(log, dict):
        for k in NVME_PREDICTORS:
            if _int(log.get(k)) is not None:
                out[k] = log[k]
    return out


def risk(first: dict, last: dict) -> tuple[str, list[str]]:
    """The risk rating of a drive from its first and last summary over a range, with the reasons."""
    reasons: list[str] = []
    if last.get("passed") is False:
        reasons.append("the drive reports its overall SMART health check as FAILED")
    if last.get("failed_attributes"):
        reasons.append(f"attribute(s) past their failure threshold: {', '.join(last['failed_attributes'])}")
    if last.get("critical_warning"):
        reasons.append(f"NVMe critical_warning = {last['critical_warning']}")
    spare, thresh = last.get("available_spare"), last.get("available_spare_threshold")
    if spare is not None and thresh is not None and spare < thresh:
        reasons.append(f"NVMe available_spare {spare}% is below its threshold {thresh}%")
    if reasons:
        return "failing", reasons
    for k in HIGH:
        if last.get(k):
            reasons.append(f"{k} = {last[k]}")
    for k, v in last.items():
        if k in NOT_PREDICTING_WHEN_RISING or _int(v) is None or k in ("passed",):
            continue
        before = first.get(k)
        if _int(before) is not None and v > before and k not in HIGH:
            reasons.append(f"{k} rose from {before} to {v}")
    if reasons:
        return "high", reasons
    for k in MEDIUM:
        if last.get(k):
            reasons.append(f"{k} = {last[k]} (not rising)")
    if (last.get("percentage_used") or 0) >= 90:
        reasons.append(f"NVMe wear percentage_used = {last['percentage_used']}%")
    if reasons:
        return "medium", reasons
    return "low", []
