"""smartctl --json -a documents written for the tests, in the shapes smartmontools 7.x documents
(ATA: `ata_smart_attributes.table`; NVMe: `nvme_smart_health_information_log`)."""

from __future__ import annotations


def _attr(aid: int, name: str, raw: int, value: int = 100, thresh: int = 10, when_failed: str = "") -> dict:
    return {"id": aid, "name": name, "value": value, "worst": value, "thresh": thresh, "when_failed": when_failed,
            "flags": {"value": 51, "string": "POSR-K ", "prefailure": True, "updated_online": True,
                      "performance": True, "error_rate": False, "event_count": False, "auto_keep": True},
            "raw": {"value": raw, "string": str(raw)}}


def ata(name: str, serial: str, *, realloc: int = 0, reported: int = 0, timeout: int = 0, pending: int = 0,
        offline: int = 0, passed: bool = True) -> dict:
    return {
        "json_format_version": [1, 0],
        "smartctl": {"version": [7, 3], "argv": ["smartctl", "--json", "-a", name], "exit_status": 0 if passed else 8},
        "device": {"name": name, "info_name": f"{name} [SAT]", "type": "sat", "protocol": "ATA"},
        "model_family": "Test Family", "model_name": "TESTDISK 4TB", "serial_number": serial,
        "user_capacity": {"blocks": 7814037168, "bytes": 4000787030016},
        "smart_status": {"passed": passed},
        "ata_smart_attributes": {"revision": 16, "table": [
            _attr(1, "Raw_Read_Error_Rate", 0), _attr(5, "Reallocated_Sector_Ct", realloc),
            _attr(9, "Power_On_Hours", 21000), _attr(187, "Reported_Uncorrect", reported),
            _attr(188, "Command_Timeout", timeout), _attr(194, "Temperature_Celsius", 34),
            _attr(197, "Current_Pending_Sector", pending), _attr(198, "Offline_Uncorrectable", offline)]},
        "power_on_time": {"hours": 21000}, "temperature": {"current": 34},
    }


def nvme(name: str, serial: str, *, media_errors: int = 0, critical_warning: int = 0, spare: int = 100,
         used: int = 3, passed: bool = True) -> dict:
    return {
        "json_format_version": [1, 0],
        "smartctl": {"version": [7, 3], "argv": ["smartctl", "--json", "-a", name], "exit_status": 0},
        "device": {"name": name, "info_name": name, "type": "nvme", "protocol": "NVMe"},
        "model_name": "TEST NVME 1TB", "serial_number": serial,
        "smart_status": {"passed": passed, "nvme": {"value": critical_warning}},
        "nvme_smart_health_information_log": {
            "critical_warning": critical_warning, "temperature": 38, "available_spare": spare,
            "available_spare_threshold": 10, "percentage_used": used, "data_units_read": 123456,
            "data_units_written": 654321, "power_on_hours": 4000, "unsafe_shutdowns": 12,
            "media_errors": media_errors, "num_err_log_entries": media_errors * 2},
    }
