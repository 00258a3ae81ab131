"""The shipped CIM data models (speleo/defaults/datamodels): each loads, and a tstats over each
of its datasets, grouped by every field of the dataset, compiles and runs on events.

The list of models is the one issue 15 names (Splunk Common Information Model Add-on Manual,
"Data models"); a missing or misspelt model fails here.
"""

from __future__ import annotations

import duckdb
import pytest

from speleo import datamodels, knowledge
from speleo.spl import compile_search
from tests.spl.conftest import events_table, make_ctx

EXPECTED = {
    "Authentication": {"Authentication", "Failed_Authentication", "Successful_Authentication"},
    "Network_Traffic": {"All_Traffic"},
    "Network_Resolution": {"DNS"},
    "Web": {"Web", "Proxy"},
    "Endpoint": {"Processes", "Filesystem", "Registry", "Services", "Ports"},
    "Change": {"All_Changes", "Account_Management"},
    "Intrusion_Detection": {"IDS_Attacks"},
    "Malware": {"Malware_Attacks"},
    "Email": {"All_Email"},
    "Alerts": {"Alerts"},
    "Vulnerabilities": {"Vulnerabilities"},
    "Performance": {"All_Performance", "CPU", "Memory", "Storage"},
    "Inventory": {"All_Inventory"},
    "Updates": {"Updates", "Update_Errors"},
    "Network_Sessions": {"All_Sessions", "DHCP", "VPN"},
}
SHIPPED = datamodels.shipped()
DATASETS = [(m, d) for m in sorted(SHIPPED) for d in SHIPPED[m].datasets]
EVENTS = [(-10, "Failed password for root from 10.0.0.1 port 22", "db1", "linux_secure"),
          (-20, '10.0.0.9 - - [01/Mar/2024:10:00:00 +0000] "GET / HTTP/1.1" 200 5', "web1", "access_combined")]


def test_every_model_of_the_issue_is_shipped_with_its_datasets():
    _, problems = datamodels.load_dir(datamodels.DEFAULTS_DIR)
    assert problems == []
    for name, wanted in EXPECTED.items():
        assert name in SHIPPED, name
        assert wanted <= set(SHIPPED[name].datasets), (name, wanted - set(SHIPPED[name].datasets))
    assert knowledge.shipped().problems == []


_CON = duckdb.connect()
_CON.register("__events__", events_table(EVENTS))


@pytest.mark.parametrize("model, dataset", DATASETS, ids=[f"{m}.{d}" for m, d in DATASETS])
def test_tstats_over_each_dataset_compiles_and_runs(model, dataset):
    # a root dataset: grouped by every one of its fields; a child (same fields, more constraints):
    # by its first three, which still compiles the constraints of its whole lineage
    m = SHIPPED[model]
    lineage = m.lineage(dataset)
    names = [f for f in m.fields(dataset) if not f.startswith("_") and f not in ("host", "source", "sourcetype")]
    names = names if len(lineage) == 1 else names[:3]
    by = " ".join(f"{lineage[0].name}.{f}" for f in names)
    query = f"| tstats count from datamodel={model}.{dataset} by host {by} fillnull_value=unknown"
    _CON.sql(compile_search(query, make_ctx()).sql).fetchall()
