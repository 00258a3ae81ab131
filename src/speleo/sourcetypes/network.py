"""Network devices and sensors: Cisco ASA and IOS syslog, Linux netfilter (iptables,
nftables, ufw) kernel lines, pfSense filterlog, Suricata EVE JSON and Snort alert lines.

Formats: Cisco "ASA Series Syslog Messages" (`%ASA-6-302013: Built inbound TCP connection
...`, 106023, 106100, 302013-302016, 113004/113005, 605004/605005, 611101/611102); Cisco IOS
system messages (`%FACILITY-SEVERITY-MNEMONIC: text`); the netfilter LOG target / nftables `log`
statement (`IN= OUT= SRC= DST= ... PROTO= SPT= DPT=`, with ufw's `[UFW BLOCK]` prefix); the
pfSense filter log CSV ("Filter Log Format" in the pfSense documentation); Suricata's EVE JSON
output; Snort's `alert_fast` line. Field names follow the CIM Network_Traffic,
Intrusion_Detection, Authentication and Change data models: src, src_port, dest, dest_port,
transport, action (allowed, blocked, teardown; success, failure), signature, signature_id,
category, severity, user, dvc (the reporting device).
"""

from __future__ import annotations

from speleo.sourcetypes.base import IP, SYSLOG_TIME, TRANSPORTS, Family, Sourcetype, alias, mapped, x

_IFACE_ADDR = r"(?P<{0}_interface>[^:\s]+):(?P<{0}>[^/\s]+)/(?P<{0}_port>\d+)"
_ASA = (
    r"%(?P<vendor>ASA|FTD|PIX|FWSM)-(?P<severity_id>[0-7])-(?P<message_id>\d{6}): (?P<message>.*)",
    r"Deny (?P<protocol>\w+) src (?P<src_interface>[^:\s]+):(?P<src>[^/\s]+)(?:/(?P<src_port>\d+))? "
    r"dst (?P<dest_interface>[^:\s]+):(?P<dest>[^/\s]+)(?:/(?P<dest_port>\d+))?(?: \([^)]*\))?"
    r'(?: by access-group "(?P<rule>[^"]+)")?',
    r"access-list (?P<rule>\S+) (?:permitted|denied|est-allowed) (?P<protocol>\w+) "
    r"(?P<src_interface>[^/\s]+)/(?P<src>[^(\s]+)\((?P<src_port>\d+)\) -> "
    r"(?P<dest_interface>[^/\s]+)/(?P<dest>[^(\s]+)\((?P<dest_port>\d+)\)",
    r"Built inbound (?P<protocol>TCP|UDP|ICMP) connection (?P<session_id>\d+) for "
    + _IFACE_ADDR.format("src") + r" \([^)]*\) to " + _IFACE_ADDR.format("dest"),
    r"Built outbound (?P<protocol>TCP|UDP|ICMP) connection (?P<session_id>\d+) for "
    + _IFACE_ADDR.format("dest") + r" \([^)]*\) to " + _IFACE_ADDR.format("src"),
    r"Teardown (?P<protocol>TCP|UDP|ICMP) connection (?P<session_id>\d+) for "
    + _IFACE_ADDR.format("src") + r" to " + _IFACE_ADDR.format("dest")
    + r" duration (?P<duration>\S+) bytes (?P<bytes>\d+)",
    r'Login (?:permitted|denied) from (?P<src>[^/\s]+)/(?P<src_port>\d+) to '
    r'(?P<dest_interface>[^:\s]+):(?P<dest_ip>[^/\s]+)/(?P<app>\S+) for user "(?P<user>[^"]*)"',
    r"AAA user authentication (?:Rejected|Successful) : .*?user = (?P<user>[^:\s]+)",
    r"AAA user authentication (?:Rejected|Successful) : .*?user IP = (?P<src>[\d.:a-fA-F]+)",
    r"User authentication (?:succeeded|failed): IP address: (?P<src>[^,\s]+), Uname: (?P<user>\S+)",
)
_ASA_ACTIONS = {"login permitted": "success", "login denied": "failure",
                "aaa user authentication successful": "success", "aaa user authentication rejected": "failure",
                "user authentication succeeded": "success", "user authentication failed": "failure",
                "deny": "blocked", "denied": "blocked", "permitted": "allowed", "est-allowed": "allowed",
                "built": "allowed", "teardown": "teardown"}
_ASA_ACTION = (r"%(?:ASA|FTD|PIX|FWSM)-\d-\d{6}: (?:access-list \S+ )?(?P<action>Login permitted|Login denied|"
               r"AAA user authentication Successful|AAA user authentication Rejected|User authentication "
               r"succeeded|User authentication failed|Deny|denied|permitted|est-allowed|Built|Teardown)")

_IOS = (
    r"%(?P<facility>[A-Z][A-Z0-9_]*)-(?P<severity_id>[0-7])-(?P<mnemonic>[A-Z0-9_]+): (?P<message>.*)",
    r"%(?P<signature>[A-Z][A-Z0-9_]*-[0-7]-[A-Z0-9_]+):",
    r"\[user: (?P<user>[^\]]*)\] \[Source: (?P<src>[^\]]*)\](?: \[localport: (?P<dest_port>\d+)\])?",
    r"list (?P<rule>\S+) (?:denied|permitted) (?P<protocol>\w+) (?P<src>[\d.:a-fA-F]+)\((?P<src_port>\d+)\)"
    r"(?: \([^)]*\))? -> (?P<dest>[\d.:a-fA-F]+)\((?P<dest_port>\d+)\), (?P<packets>\d+) packets?",
    r"Configured from (?P<src_interface>\S+) by (?P<user>\S+)(?: on (?P<dest_interface>\S+) \((?P<src>[^)]+)\))?",
    r"Interface (?P<interface>[^,]+), changed state to (?P<state>[\w ]+)",
)
_IOS_ACTIONS = {"login_success": "success", "login_failed": "failure", "denied": "blocked",
                "permitted": "allowed", "config_i": "modified"}
_NETFILTER = (
    r"kernel: (?:\[ *[\d.]+\] )?(?P<rule>[^\n]*?):? ?IN=(?P<src_interface>\S*) OUT=(?P<dest_interface>\S*) ",
    r" SRC=(?P<src>\S+) DST=(?P<dest>\S+) LEN=(?P<bytes>\d+)",
    r" PROTO=(?P<protocol>\w+)",
    r" SPT=(?P<src_port>\d+) DPT=(?P<dest_port>\d+)",
    r" TTL=(?P<ttl>\d+)",
    r" ID=(?P<packet_id>\d+)",
)
_NETFILTER_ACTIONS = {w: "blocked" for w in ("drop", "dropped", "reject", "rejected", "block", "blocked",
                                             "deny", "denied")}
_NETFILTER_ACTIONS.update({w: "allowed" for w in ("accept", "accepted", "allow", "allowed", "pass")})
# The action is the last word of the log prefix: IPTABLES-DROP, nft-accept, [UFW BLOCK].
_NETFILTER_CIM = (mapped("action", r"(?P<action>[A-Za-z]+)[^A-Za-z]*$", _NETFILTER_ACTIONS, "rule"),
                  mapped("transport", r"(?P<transport>.+)", TRANSPORTS, "protocol")) + alias("dvc", "host")

_PF_HEAD = r"filterlog(?:\[\d+\]:| \d+ - -) "
_PF_COMMON = (r"(?P<rule_number>\d*),(?P<sub_rule>[^,]*),(?P<anchor>[^,]*),(?P<tracker>[^,]*),"
              r"(?P<src_interface>[^,]*),(?P<reason>[^,]*),(?P<vendor_action>[^,]*),(?P<direction>[^,]*),")
_PFSENSE = (
    _PF_HEAD + _PF_COMMON + r"4,(?P<tos>[^,]*),(?P<ecn>[^,]*),(?P<ttl>\d*),(?P<packet_id>\d*),(?P<offset>\d*),"
    r"(?P<flags>[^,]*),(?P<protocol_id>\d*),(?P<transport>[^,]*),(?P<length>\d*),(?P<src>[^,]*),(?P<dest>[^,]*)"
    r"(?:,(?P<src_port>\d+),(?P<dest_port>\d+),(?P<data_length>\d+))?",
    _PF_HEAD + _PF_COMMON + r"6,(?P<class>[^,]*),(?P<flow_label>[^,]*),(?P<hop_limit>\d*),(?P<transport>[^,]*),"
    r"(?P<protocol_id>\d*),(?P<length>\d*),(?P<src>[^,]*),(?P<dest>[^,]*)"
    r"(?:,(?P<src_port>\d+),(?P<dest_port>\d+),(?P<data_length>\d+))?",
)

_SEVERITY = {"1": "high", "2": "medium", "3": "low", "4": "informational"}
_SNORT = (
    r"(?:\[\*\*\] )?\[(?P<gid>\d+):(?P<signature_id>\d+):(?P<rev>\d+)\] \"?(?P<signature>[^\[\"]+?)\"? "
    r"(?:\[\*\*\] )?(?:\[Classification: (?P<category>[^\]]*)\] )?\[Priority: (?P<priority>\d+)\] "
    r"\{(?P<protocol>[^}]+)\} (?P<src>[\d.]+|[0-9a-fA-F:]+?)(?::(?P<src_port>\d+))? -> "
    r"(?P<dest>[\d.]+|[0-9a-fA-F:]+?)(?::(?P<dest_port>\d+))?$",
)

FAMILY = Family(
    sourcetypes=(
        Sourcetype("cisco:asa", should_linemerge=False,
                   extractions=(mapped("action", _ASA_ACTION, _ASA_ACTIONS),) + x(*_ASA)
                   + alias("signature_id", "message_id") + alias("dest", "dest_ip") + alias("dvc", "host")
                   + (mapped("transport", r"(?P<transport>.+)", TRANSPORTS, "protocol"),),
                   description="Cisco ASA / Firepower Threat Defense syslog (%ASA-n-nnnnnn)."),
        Sourcetype("cisco:ios", should_linemerge=False,
                   extractions=tuple(mapped("action", rx, _IOS_ACTIONS) for rx in (
                       r"%SEC_LOGIN-\d-(?P<action>LOGIN_SUCCESS|LOGIN_FAILED)",
                       r"%SEC-\d-IPACCESSLOG\w*: list \S+ (?P<action>denied|permitted)",
                       r"%SYS-\d-(?P<action>CONFIG_I):"))
                   + x(*_IOS) + alias("dvc", "host")
                   + (mapped("transport", r"(?P<transport>.+)", TRANSPORTS, "protocol"),),
                   description="Cisco IOS / IOS XE system messages (%FACILITY-SEVERITY-MNEMONIC)."),
        Sourcetype("iptables", should_linemerge=False, extractions=x(*_NETFILTER) + _NETFILTER_CIM,
                   description="netfilter LOG lines from the kernel (iptables LOG target, nftables `log`)."),
        Sourcetype("nftables", should_linemerge=False, extractions=x(*_NETFILTER) + _NETFILTER_CIM,
                   description="nftables `log` lines (same layout as iptables; assign it by source)."),
        Sourcetype("ufw", should_linemerge=False, extractions=x(*_NETFILTER) + _NETFILTER_CIM,
                   description="ufw's kernel lines ([UFW BLOCK], [UFW ALLOW], [UFW AUDIT])."),
        Sourcetype("pfsense:filterlog", should_linemerge=False, extractions=x(*_PFSENSE)
                   + (mapped("action", r"(?P<action>.+)", {"pass": "allowed", "block": "blocked",
                                                            "reject": "blocked"}, "vendor_action"),)
                   + alias("dvc", "host"),
                   description="pfSense / OPNsense filterlog CSV lines (IPv4 and IPv6)."),
        Sourcetype("suricata", should_linemerge=False, kv=False, json=True, extractions=(
            alias("src", "src_ip") + alias("dest", "dest_ip") + alias("signature", "alert.signature")
            + alias("signature_id", "alert.signature_id") + alias("category", "alert.category")
            + alias("action", "alert.action") + alias("http_method", "http.http_method")
            + alias("status", "http.status") + alias("url", "http.url") + alias("site", "http.hostname")
            + alias("http_user_agent", "http.http_user_agent") + alias("query", "dns.rrname")
            + alias("dvc", "host") + (mapped("severity", r"(?P<severity>.+)", _SEVERITY, "alert.severity"),
                                      mapped("transport", r"(?P<transport>.+)", TRANSPORTS, "proto"))),
            description="Suricata EVE JSON (alert, flow, http, dns... records)."),
        Sourcetype("snort", should_linemerge=False, time_format="%m/%d-%H:%M:%S.%f", extractions=x(*_SNORT)
                   + (mapped("severity", r"(?P<severity>.+)", _SEVERITY, "priority"),
                      mapped("transport", r"(?P<transport>.+)", TRANSPORTS, "protocol")) + alias("dvc", "host"),
                   description="Snort alert_fast lines (MM/DD-hh:mm:ss.ffffff, no year)."),
    ),
    signatures=(
        ("cisco:asa", r"^.{0,100}?%(?:ASA|FTD|PIX|FWSM)-[0-7]-\d{6}: "),
        ("cisco:ios", r"^.{0,120}?%[A-Z][A-Z0-9_]*-[0-7]-[A-Z0-9_]+: "),
        ("ufw", r"^" + SYSLOG_TIME + r" \S+ kernel: (?:\[ *[\d.]+\] )?\[UFW [A-Z ]+\] IN=\S* OUT=\S* "),
        ("iptables", r"^" + SYSLOG_TIME + r" \S+ kernel: (?:\[ *[\d.]+\] )?[^\n]*?IN=\S* OUT=\S* "),
        ("pfsense:filterlog", r"^.{0,100}?" + _PF_HEAD + r"\d*,[^,]*,[^,]*,\d+,"),
        ("snort", r"^\d\d/\d\d-\d\d:\d\d:\d\d\.\d+ +\[\*\*\] \[\d+:\d+:\d+\] "),
    ),
    json_keys=(("suricata", ("event_type", "src_ip", "timestamp")), ("suricata", ("event_type", "flow_id"))),
)
