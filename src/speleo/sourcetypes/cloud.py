"""Containers and cloud: Docker's json-file logs, Kubernetes container logs, AWS CloudTrail.

Formats: Docker's `json-file` logging driver (`{"log":"...\\n","stream":"stdout","time":
"2026-12-04T10:00:00.123456789Z"}`, one object per line); the CRI log format kubelet keeps in
/var/log/pods and /var/log/containers with containerd or CRI-O (`<RFC 3339 time> stdout F
message`; F = full line, P = partial); AWS CloudTrail's delivered files (one JSON object,
`{"Records":[...]}`: each record is an event) or records one per line (CloudWatch Logs,
EventBridge). Kubernetes pod, namespace and container come from the file name kubelet gives.
CloudTrail fields follow the CIM Authentication and Change names (user, src, action,
signature, dest, user_agent, vendor_region).
"""

from __future__ import annotations

from speleo.sourcetypes.base import Family, Sourcetype, alias, mapped, x

_K8S_PATHS = x(
    r"/var/log/containers/(?P<pod>[^_/]+)_(?P<namespace>[^_/]+)_(?P<container_name>[^/]+)-"
    r"(?P<container_id>[0-9a-f]{64})\.log",
    r"/var/log/pods/(?P<namespace>[^_/]+)_(?P<pod>[^_/]+)_(?P<pod_uid>[^/]+)/(?P<container_name>[^/]+)/",
    field="source")
_CRI = r"^\S+ (?P<stream>stdout|stderr) (?P<logtag>[FP]) (?P<message>.*)"
_CLOUDTRAIL_ACTIONS = {"success": "success", "failure": "failure"}

FAMILY = Family(
    sourcetypes=(
        Sourcetype("docker:json", should_linemerge=False, kv=False, json=True, extractions=alias("message", "log"),
                   description="Docker json-file driver: {\"log\", \"stream\", \"time\"} per line."),
        Sourcetype("kube:container", should_linemerge=False, extractions=x(_CRI) + alias("message", "log")
                   + _K8S_PATHS, json=True,
                   description="Kubernetes container logs (CRI text lines or Docker JSON) under "
                               "/var/log/containers or /var/log/pods; pod, namespace from the file name."),
        Sourcetype("aws:cloudtrail", should_linemerge=False, kv=False, json=True, truncate=100000,
                   json_records="Records", extractions=(
            (mapped("action", r"(?P<action>.+)", _CLOUDTRAIL_ACTIONS, "responseElements.ConsoleLogin"),
             mapped("action", r'(?P<action>"errorCode")\s*:', {'"errorcode"': "failure"}),
             mapped("action", r'(?P<action>"eventVersion")\s*:', {'"eventversion"': "success"}))
            + alias("src", "sourceIPAddress") + alias("signature", "eventName") + alias("command", "eventName")
            + alias("user", "userIdentity.userName", "userIdentity.sessionContext.sessionIssuer.userName",
                    "userIdentity.principalId")
            + alias("user_type", "userIdentity.type") + alias("dest", "eventSource") + alias("app", "eventSource")
            + alias("user_agent", "userAgent") + alias("vendor_region", "awsRegion")
            + alias("vendor_account", "recipientAccountId") + alias("result", "errorCode")),
            description="AWS CloudTrail: delivered files ({\"Records\": [...]}) or one record per line."),
    ),
    signatures=(
        ("aws:cloudtrail", r'^\s*\{\s*"Records"\s*:\s*\[\s*\{\s*"eventVersion"'),
        ("kube:container", r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d) (?:stdout|stderr) [FP] "),
    ),
    json_keys=(("aws:cloudtrail", ("eventVersion", "eventSource", "eventName")),
               ("docker:json", ("log", "stream", "time"))),
    paths=(("docker:json", r"/var/log/(?:containers|pods)/", "kube:container"),),
)
