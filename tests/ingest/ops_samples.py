"""Sample lines of the operations sourcetypes, written from each vendor's documented format,
with the `_time` and CIM fields of every event worked out by hand.

`utc("10:15:30.25", offset=1)` is the instant of 2026-11-20 10:15:30.25 at UTC+1 (events of
these samples all fall on Friday 2026-11-20; 1795132800 is that day's midnight UTC).
"""

from __future__ import annotations

DAY = 1795132800  # 2026-11-20T00:00:00Z
CLOCK = DAY + 86400  # the ingestion clock: year-less times (syslog, Snort) fall in 2026


def utc(hms: str, offset: float = 0) -> float:
    h, m, s = hms.split(":")
    return DAY + int(h) * 3600 + int(m) * 60 + float(s) - offset * 3600


HEX = "0123456789abcdef" * 4
WIN_NS = "http://schemas.microsoft.com/win/2004/08/events/event"
WIN_SYSTEM = ("<Event xmlns='" + WIN_NS + "'><System><Provider Name='Microsoft-Windows-Security-Auditing' "
              "Guid='{54849625-5478-4994-A5BA-3E3B0328C30D}'/><EventID>{code}</EventID><Version>2</Version>"
              "<Level>0</Level><Task>12544</Task><Opcode>0</Opcode><Keywords>0x8020000000000000</Keywords>"
              "<TimeCreated SystemTime='{time}'/><EventRecordID>{rec}</EventRecordID><Correlation/>"
              "<Execution ProcessID='668' ThreadID='7720'/><Channel>Security</Channel>"
              "<Computer>{computer}</Computer><Security/></System><EventData>{data}</EventData></Event>")


def win_xml(code: int, time: str, rec: int, computer: str, **data: str) -> str:
    body = "".join(f"<Data Name='{k}'>{v}</Data>" for k, v in data.items())
    return (WIN_SYSTEM.replace("{code}", str(code)).replace("{time}", time).replace("{rec}", str(rec))
            .replace("{computer}", computer).replace("{data}", body))


# (file name, content, sourcetype detected from content, [expected fields per event in time order])
CASES: list[tuple[str, str, str, list[dict]]] = [
    ("web1.log",
     '203.0.113.7 - alice [20/Nov/2026:10:15:30 +0100] "POST /api/login?next=%2Fhome HTTP/1.1" 401 153 '
     '"https://shop.example.com/login" "curl/8.5.0" "198.51.100.9"\n'
     '203.0.113.8 - - [20/Nov/2026:10:15:31 +0100] "GET /static/app.js HTTP/2.0" 200 48213 "-" '
     '"Mozilla/5.0 (X11; Linux x86_64)" "-"\n',
     "nginx_access",
     [{"_time": utc("09:15:30"), "src": "203.0.113.7", "user": "alice", "http_method": "POST",
       "uri_path": "/api/login", "uri_query": "next=%2Fhome", "status": "401", "bytes_out": "153",
       "http_referrer": "https://shop.example.com/login", "http_user_agent": "curl/8.5.0",
       "http_x_forwarded_for": "198.51.100.9"},
      {"_time": utc("09:15:31"), "src": "203.0.113.8", "http_method": "GET", "uri_path": "/static/app.js",
       "status": "200", "bytes_out": "48213", "http_version": "HTTP/2.0"}]),
    ("web1-errors.log",
     '2026/11/20 10:16:00 [error] 2211#2211: *57 open() "/usr/share/nginx/html/favicon.ico" failed '
     '(2: No such file or directory), client: 203.0.113.7, server: shop.example.com, request: '
     '"GET /favicon.ico HTTP/1.1", host: "shop.example.com"\n'
     "2026/11/20 10:16:05 [warn] 2211#2211: *58 an upstream response is buffered to a temporary file\n",
     "nginx_error",
     [{"_time": utc("10:16:00"), "log_level": "error", "severity": "medium", "pid": "2211",
       "connection_id": "57", "src": "203.0.113.7", "dest": "shop.example.com", "http_method": "GET",
       "uri_path": "/favicon.ico", "site": "shop.example.com",
       "message": 'open() "/usr/share/nginx/html/favicon.ico" failed (2: No such file or directory)'},
      {"_time": utc("10:16:05"), "log_level": "warn", "severity": "low",
       "message": "an upstream response is buffered to a temporary file"}]),
    ("lb.log",
     'Nov 20 10:17:05 lb1 haproxy[14389]: 10.0.1.2:33317 [20/Nov/2026:10:17:04.951] http-in static/srv1 '
     '10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 "GET /index.html HTTP/1.1"\n'
     'Nov 20 10:17:06 lb1 haproxy[14389]: 10.0.1.3:40001 [20/Nov/2026:10:17:05.500] http-in app/srv2 '
     '0/0/1/-1/5002 503 212 - - sH-- 2/2/1/1/0 0/0 "POST /cart/checkout?step=2 HTTP/1.1"\n'
     "Nov 20 10:17:07 lb1 haproxy[14389]: 10.0.1.4:40100 [20/Nov/2026:10:17:06.250] db-in pg/db1 0/1/1502 4231 -- "
     "3/1/1/1/0 0/0\n",
     "haproxy:http",
     [{"_time": utc("10:17:04.951"), "host": "lb1", "src": "10.0.1.2", "src_port": "33317",
       "frontend_name": "http-in", "backend_name": "static", "dest": "srv1", "status": "200",
       "bytes_out": "2750", "http_method": "GET", "uri_path": "/index.html", "response_time": "69",
       "duration": "109", "termination_state": "----"},
      {"_time": utc("10:17:05.5"), "src": "10.0.1.3", "dest": "srv2", "status": "503", "http_method": "POST",
       "uri_path": "/cart/checkout", "uri_query": "step=2", "termination_state": "sH--", "response_time": "-1"},
      {"_time": utc("10:17:06.25"), "src": "10.0.1.4", "src_port": "40100", "frontend_name": "db-in",
       "backend_name": "pg", "dest": "db1", "bytes_out": "4231", "termination_state": "--", "Tt": "1502",
       "status": None}]),
    ("db-error.log",
     "2026-11-20T10:18:00.123456Z 0 [System] [MY-010116] [Server] /usr/sbin/mysqld (mysqld 8.0.36) starting as "
     "process 1234\n"
     "2026-11-20T10:18:05.000001Z 12 [Note] [MY-010926] [Server] Access denied for user 'root'@'203.0.113.50' "
     "(using password: YES)\n"
     "2026-11-20T10:18:09.500000Z 0 [ERROR] [MY-012592] [InnoDB] Operating system error number 2 in a file "
     "operation.\n"
     "InnoDB: Some operating system error numbers are described at\n"
     "InnoDB: http://dev.mysql.com/doc/refman/8.0/en/operating-system-error-codes.html\n",
     "mysql:error",
     [{"_time": utc("10:18:00.123456"), "log_level": "System", "severity": "informational",
       "signature_id": "MY-010116", "thread_id": "0", "linecount": 1},
      {"_time": utc("10:18:05.000001"), "action": "failure", "user": "root", "src": "203.0.113.50",
       "thread_id": "12", "log_level": "Note", "signature_id": "MY-010926", "subsystem": "Server"},
      {"_time": utc("10:18:09.5"), "log_level": "ERROR", "severity": "medium", "subsystem": "InnoDB",
       "linecount": 3}]),
    ("db-slow.log",
     "/usr/sbin/mysqld, Version: 8.0.36 (MySQL Community Server - GPL). started with:\n"
     "Tcp port: 3306  Unix socket: /var/run/mysqld/mysqld.sock\n"
     "Time                 Id Command    Argument\n"
     "# Time: 2026-11-20T10:19:00.654321Z\n"
     "# User@Host: shop[shop] @ app1.example.com [10.0.2.15]  Id:    42\n"
     "# Query_time: 3.250000  Lock_time: 0.000120 Rows_sent: 1  Rows_examined: 250000\n"
     "use shopdb;\n"
     "SET timestamp=1795169940;\n"
     "SELECT COUNT(*) FROM orders\n"
     "  WHERE created_at > '2026-01-01';\n"
     "# Time: 2026-11-20T10:19:30.000000Z\n"
     "# User@Host: report[report] @  [10.0.2.16]  Id:    43\n"
     "# Query_time: 12.000000  Lock_time: 0.000000 Rows_sent: 10  Rows_examined: 9000000\n"
     "SET timestamp=1795169970;\n"
     "SELECT * FROM order_items ORDER BY price DESC LIMIT 10;\n",
     "mysql:slowquery",
     [{"_time": utc("10:19:00.654321"), "user": "shop", "src_host": "app1.example.com", "src": "10.0.2.15",
       "session_id": "42", "query_time": "3.250000", "lock_time": "0.000120", "rows_sent": "1",
       "rows_examined": "250000", "database": "shopdb", "query_timestamp": "1795169940",
       "query": "SELECT COUNT(*) FROM orders\n  WHERE created_at > '2026-01-01';", "linecount": 7},
      {"_time": utc("10:19:30"), "user": "report", "src": "10.0.2.16", "session_id": "43",
       "query_time": "12.000000", "rows_examined": "9000000", "query_timestamp": "1795169970",
       "query": "SELECT * FROM order_items ORDER BY price DESC LIMIT 10;", "linecount": 5}]),
    ("pg.log",
     "2026-11-20 10:20:00.100 UTC [3001] LOG:  connection received: host=10.0.3.7 port=50512\n"
     '2026-11-20 10:20:00.105 UTC [3001] FATAL:  password authentication failed for user "app"\n'
     '2026-11-20 10:20:00.106 UTC [3001] DETAIL:  Connection matched pg_hba.conf line 99: '
     '"host all all 0.0.0.0/0 scram-sha-256"\n'
     "2026-11-20 10:20:01.200 UTC [3002] app@shop LOG:  duration: 1532.114 ms  statement: SELECT *\n"
     "\tFROM big_table\n"
     "\tWHERE id > 10;\n",
     "postgresql",
     [{"_time": utc("10:20:00.1"), "pid": "3001", "log_level": "LOG", "src": "10.0.3.7", "src_port": "50512",
       "message": "connection received: host=10.0.3.7 port=50512"},
      {"_time": utc("10:20:00.105"), "log_level": "FATAL", "severity": "high", "action": "failure",
       "user": "app"},
      {"_time": utc("10:20:00.106"), "log_level": "DETAIL"},
      {"_time": utc("10:20:01.2"), "pid": "3002", "user": "app", "database": "shop", "duration_ms": "1532.114",
       "linecount": 3}]),
    ("alert_ORCL.log",
     "Fri Nov 20 10:21:00 2026\n"
     "Thread 1 advanced to log sequence 4711 (LGWR switch)\n"
     "  Current log# 2 seq# 4711 mem# 0: /u01/oradata/ORCL/redo02.log\n"
     "Fri Nov 20 10:22:30 2026\n"
     "Errors in file /u01/app/oracle/diag/rdbms/orcl/ORCL/trace/ORCL_ora_5150.trc:\n"
     "ORA-00600: internal error code, arguments: [kdsgrp1], [], [], []\n"
     "2026-11-20T10:23:45.123456+01:00\n"
     'ORA-01555: snapshot too old: rollback segment number 9 with name "_SYSSMU9$" too small\n',
     "oracle:alert",
     [{"_time": utc("10:21:00"), "thread": "1", "log_sequence": "4711", "linecount": 3},
      {"_time": utc("10:22:30"), "error_code": "ORA-00600", "signature": "ORA-00600",
       "trace_file": "/u01/app/oracle/diag/rdbms/orcl/ORCL/trace/ORCL_ora_5150.trc",
       "message": "internal error code, arguments: [kdsgrp1], [], [], []", "linecount": 3},
      {"_time": utc("10:23:45.123456", offset=1), "error_code": "ORA-01555", "linecount": 2}]),
    ("fw.log",
     'Nov 20 10:24:01 fw1 %ASA-4-106023: Deny tcp src outside:198.51.100.23/51515 dst inside:10.0.0.10/22 '
     'by access-group "outside_access_in" [0x0, 0x0]\n'
     "Nov 20 10:24:02 fw1 %ASA-6-302013: Built inbound TCP connection 88231 for outside:198.51.100.23/51516 "
     "(198.51.100.23/51516) to inside:10.0.0.10/443 (203.0.113.10/443)\n"
     "Nov 20 10:24:03 fw1 %ASA-6-302013: Built outbound TCP connection 88232 for outside:93.184.216.34/443 "
     "(93.184.216.34/443) to inside:10.0.0.20/40001 (203.0.113.10/40001)\n"
     'Nov 20 10:24:04 fw1 %ASA-6-605004: Login denied from 198.51.100.23/51517 to outside:203.0.113.10/ssh '
     'for user "admin"\n'
     "Nov 20 10:24:05 fw1 %ASA-6-113005: AAA user authentication Rejected : reason = AAA failure : "
     "server = 10.0.0.5 : user = vpnuser : user IP = 198.51.100.24\n"
     "Nov 20 2026 10:24:06 fw1 : %ASA-4-106100: access-list outside_in denied tcp outside/198.51.100.30(40000) "
     "-> inside/10.0.0.10(3389) hit-cnt 1 first hit [0x91c26a3, 0x0]\n"
     "Nov 20 10:24:07 fw1 %ASA-6-302014: Teardown TCP connection 88231 for outside:198.51.100.23/51516 to "
     "inside:10.0.0.10/443 duration 0:00:05 bytes 4523 TCP FINs\n"
     "Nov 20 10:24:08 fw1 %ASA-6-611102: User authentication failed: IP address: 198.51.100.25, Uname: admin\n",
     "cisco:asa",
     [{"_time": utc("10:24:01"), "host": "fw1", "dvc": "fw1", "action": "blocked", "src": "198.51.100.23",
       "src_port": "51515", "dest": "10.0.0.10", "dest_port": "22", "transport": "tcp",
       "rule": "outside_access_in", "signature_id": "106023", "severity_id": "4"},
      {"_time": utc("10:24:02"), "action": "allowed", "src": "198.51.100.23", "src_port": "51516",
       "dest": "10.0.0.10", "dest_port": "443", "transport": "tcp", "session_id": "88231"},
      {"_time": utc("10:24:03"), "action": "allowed", "src": "10.0.0.20", "src_port": "40001",
       "dest": "93.184.216.34", "dest_port": "443"},
      {"_time": utc("10:24:04"), "action": "failure", "src": "198.51.100.23", "src_port": "51517",
       "user": "admin", "dest": "203.0.113.10", "app": "ssh"},
      {"_time": utc("10:24:05"), "action": "failure", "user": "vpnuser", "src": "198.51.100.24",
       "signature_id": "113005"},
      {"_time": utc("10:24:06"), "action": "blocked", "rule": "outside_in", "transport": "tcp",
       "src_interface": "outside", "src": "198.51.100.30", "src_port": "40000", "dest_interface": "inside",
       "dest": "10.0.0.10", "dest_port": "3389", "signature_id": "106100"},
      {"_time": utc("10:24:07"), "host": "fw1", "action": "teardown", "session_id": "88231", "src": "198.51.100.23",
       "dest_port": "443", "duration": "0:00:05", "bytes": "4523"},
      {"_time": utc("10:24:08"), "action": "failure", "src": "198.51.100.25", "user": "admin",
       "signature_id": "611102"}]),
    ("rtr.log",
     "Nov 20 10:25:00 rtr1 341: Nov 20 10:25:00.123 UTC: %SEC_LOGIN-4-LOGIN_FAILED: Login failed "
     "[user: admin] [Source: 198.51.100.77] [localport: 22] [Reason: Login Authentication Failed] at "
     "10:25:00 UTC Fri Nov 20 2026\n"
     "Nov 20 10:25:10 rtr1 342: Nov 20 10:25:10.456 UTC: %SEC-6-IPACCESSLOGP: list 101 denied tcp "
     "198.51.100.77(40222) -> 10.1.1.1(23), 1 packet\n"
     "Nov 20 10:25:20 rtr1 343: Nov 20 10:25:20.789 UTC: %SYS-5-CONFIG_I: Configured from console by netops "
     "on vty0 (10.0.0.99)\n",
     "cisco:ios",
     [{"_time": utc("10:25:00"), "host": "rtr1", "action": "failure", "user": "admin", "src": "198.51.100.77",
       "dest_port": "22", "signature": "SEC_LOGIN-4-LOGIN_FAILED", "facility": "SEC_LOGIN",
       "severity_id": "4", "mnemonic": "LOGIN_FAILED"},
      {"_time": utc("10:25:10"), "action": "blocked", "src": "198.51.100.77", "src_port": "40222",
       "dest": "10.1.1.1", "dest_port": "23", "transport": "tcp", "rule": "101", "packets": "1"},
      {"_time": utc("10:25:20"), "action": "modified", "user": "netops", "src": "10.0.0.99",
       "signature": "SYS-5-CONFIG_I"}]),
    ("kern.log",
     "Nov 20 10:26:00 gw1 kernel: [815123.456789] IPTABLES-DROP: IN=eth0 OUT= "
     "MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=198.51.100.9 DST=10.0.0.10 LEN=60 TOS=0x00 "
     "PREC=0x00 TTL=51 ID=4242 DF PROTO=TCP SPT=44123 DPT=3306 WINDOW=64240 RES=0x00 SYN URGP=0\n"
     "Nov 20 10:26:01 gw1 kernel: [815124.000001] nft-accept IN=eth1 OUT=eth0 "
     "MAC=52:54:00:65:43:21:52:54:00:12:34:56:08:00 SRC=10.0.0.20 DST=93.184.216.34 LEN=84 TOS=0x00 "
     "PREC=0x00 TTL=63 ID=777 DF PROTO=ICMP TYPE=8 CODE=0 ID=12 SEQ=1\n",
     "iptables",
     [{"_time": utc("10:26:00"), "host": "gw1", "dvc": "gw1", "action": "blocked", "rule": "IPTABLES-DROP",
       "src": "198.51.100.9", "dest": "10.0.0.10", "src_port": "44123", "dest_port": "3306",
       "transport": "tcp", "src_interface": "eth0", "dest_interface": None, "bytes": "60", "ttl": "51"},
      {"_time": utc("10:26:01"), "action": "allowed", "rule": "nft-accept", "src": "10.0.0.20",
       "dest": "93.184.216.34", "transport": "icmp", "src_interface": "eth1", "dest_interface": "eth0",
       "bytes": "84", "packet_id": "777", "src_port": None}]),
    ("ufw.log",
     "Nov 20 10:27:00 web1 kernel: [1234.567890] [UFW BLOCK] IN=ens3 OUT= "
     "MAC=fa:16:3e:00:00:01:fa:16:3e:00:00:02:08:00 SRC=203.0.113.99 DST=10.0.0.30 LEN=40 TOS=0x00 "
     "PREC=0x00 TTL=245 ID=54321 PROTO=TCP SPT=53214 DPT=23 WINDOW=1024 RES=0x00 SYN URGP=0\n",
     "ufw",
     [{"_time": utc("10:27:00"), "host": "web1", "action": "blocked", "rule": "[UFW BLOCK]",
       "src": "203.0.113.99", "dest": "10.0.0.30", "src_port": "53214", "dest_port": "23", "transport": "tcp"}]),
    ("filter.log",
     "Nov 20 10:28:00 pfsense filterlog[41234]: 5,,,1000000103,igb1,match,block,in,4,0x0,,64,0,0,DF,6,tcp,60,"
     "198.51.100.10,10.0.0.10,51000,22,0,S,1234567890,,64240,,mss;sackOK;TS;nop;wscale\n"
     "<134>1 2026-11-20T10:28:30.500000+00:00 pfsense filterlog 41234 - - 7,,,1000000105,igb0,match,pass,out,"
     "6,0x00,0x00000,64,udp,17,72,2001:db8::10,2001:db8:1::53,40000,53,72\n",
     "pfsense:filterlog",
     [{"_time": utc("10:28:00"), "host": "pfsense", "action": "blocked", "vendor_action": "block",
       "rule_number": "5", "tracker": "1000000103", "src_interface": "igb1", "direction": "in", "ttl": "64",
       "transport": "tcp", "src": "198.51.100.10", "dest": "10.0.0.10", "src_port": "51000", "dest_port": "22"},
      {"_time": utc("10:28:30.5"), "action": "allowed", "direction": "out", "transport": "udp",
       "src": "2001:db8::10", "dest": "2001:db8:1::53", "src_port": "40000", "dest_port": "53"}]),
    ("eve.json",
     '{"timestamp":"2026-11-20T10:29:00.123456+0000","flow_id":1234567890123456,"in_iface":"eth0",'
     '"event_type":"alert","src_ip":"198.51.100.66","src_port":44444,"dest_ip":"10.0.0.10","dest_port":80,'
     '"proto":"TCP","alert":{"action":"allowed","gid":1,"signature_id":2024897,"rev":3,'
     '"signature":"ET WEB_SERVER Possible SQL Injection Attempt","category":"Web Application Attack",'
     '"severity":1},"http":{"hostname":"shop.example.com","url":"/item?id=1 OR 1=1","http_method":"GET",'
     '"status":200}}\n'
     '{"timestamp":"2026-11-20T10:29:05.000000+0100","flow_id":2234567890123456,"event_type":"dns",'
     '"src_ip":"10.0.0.20","src_port":53000,"dest_ip":"10.0.0.2","dest_port":53,"proto":"UDP",'
     '"dns":{"type":"query","id":1,"rrname":"example.org","rrtype":"A"}}\n',
     "suricata",
     [{"_time": utc("10:29:00.123456"), "src": "198.51.100.66", "src_port": "44444", "dest": "10.0.0.10",
       "dest_port": "80", "transport": "tcp", "signature": "ET WEB_SERVER Possible SQL Injection Attempt",
       "signature_id": "2024897", "category": "Web Application Attack", "severity": "high",
       "action": "allowed", "http_method": "GET", "status": "200", "url": "/item?id=1 OR 1=1",
       "site": "shop.example.com"},
      {"_time": utc("10:29:05", offset=1), "src": "10.0.0.20", "dest": "10.0.0.2", "transport": "udp",
       "query": "example.org", "event_type": "dns"}]),
    ("alert.fast",
     "11/20-10:30:00.654321  [**] [1:1000001:1] SSH brute force attempt [**] [Classification: Attempted "
     "Administrator Privilege Gain] [Priority: 1] {TCP} 198.51.100.5:60000 -> 10.0.0.10:22\n"
     '11/20-10:30:02.000100 [**] [1:2010935:3] "ET POLICY Suspicious inbound to MSSQL port 1433" [**] '
     "[Classification: Potentially Bad Traffic] [Priority: 2] {TCP} 198.51.100.6:61000 -> 10.0.0.11:1433\n",
     "snort",
     [{"_time": utc("10:30:00.654321"), "gid": "1", "signature_id": "1000001", "rev": "1",
       "signature": "SSH brute force attempt", "category": "Attempted Administrator Privilege Gain",
       "priority": "1", "severity": "high", "transport": "tcp", "src": "198.51.100.5", "src_port": "60000",
       "dest": "10.0.0.10", "dest_port": "22"},
      {"_time": utc("10:30:02.0001"), "signature_id": "2010935",
       "signature": "ET POLICY Suspicious inbound to MSSQL port 1433", "severity": "medium",
       "dest_port": "1433"}]),
    ("sudo.log",
     "Nov 20 10:31:00 : alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ;\n"
     "    COMMAND=/usr/bin/systemctl restart nginx\n"
     "Nov 20 10:31:30 : mallory : 3 incorrect password attempts ; TTY=pts/1 ;\n"
     "    PWD=/home/mallory ; USER=root ; COMMAND=/bin/cat /etc/shadow\n",
     "sudo",
     [{"_time": utc("10:31:00"), "src_user": "alice", "user": "root", "tty": "pts/0",
       "command": "/usr/bin/systemctl restart nginx", "action": "success", "app": "sudo", "linecount": 2},
      {"_time": utc("10:31:30"), "src_user": "mallory", "user": "root", "action": "failure",
       "command": "/bin/cat /etc/shadow", "linecount": 2}]),
    ("cron.log",
     "Nov 20 10:32:01 web1 CRON[5511]: (root) CMD (/usr/local/bin/backup.sh --full)\n"
     "Nov 20 10:32:02 web1 CRON[5512]: (www-data) CMD (php /var/www/cron.php)\n",
     "cron",
     [{"_time": utc("10:32:01"), "host": "web1", "dest": "web1", "user": "root", "cron_action": "CMD",
       "command": "/usr/local/bin/backup.sh --full", "process": "CRON", "pid": "5511"},
      {"_time": utc("10:32:02"), "user": "www-data", "command": "php /var/www/cron.php"}]),
    ("journal.json",
     '{ "__CURSOR" : "s=abc;i=1", "__REALTIME_TIMESTAMP" : "1795170780123456", "__MONOTONIC_TIMESTAMP" : '
     '"123456789", "PRIORITY" : "6", "SYSLOG_FACILITY" : "10", "SYSLOG_IDENTIFIER" : "sshd", "_PID" : "7001", '
     '"_COMM" : "sshd", "_HOSTNAME" : "bastion1", "_SYSTEMD_UNIT" : "ssh.service", "MESSAGE" : '
     '"Failed password for invalid user oracle from 198.51.100.200 port 52000 ssh2" }\n'
     '{ "__CURSOR" : "s=abc;i=2", "__REALTIME_TIMESTAMP" : "1795170790000001", "PRIORITY" : "5", '
     '"SYSLOG_IDENTIFIER" : "sudo", "_PID" : "7002", "_HOSTNAME" : "bastion1", "MESSAGE" : '
     '"    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id" }\n',
     "journald",
     [{"_time": utc("10:33:00.123456"), "action": "failure", "user": "oracle", "src": "198.51.100.200",
       "src_port": "52000", "app": "sshd", "process": "sshd", "pid": "7001", "dest": "bastion1",
       "severity": "informational", "unit": "ssh.service"},
      {"_time": utc("10:33:10.000001"), "action": "success", "src_user": "alice", "user": "root",
       "app": "sudo", "command": "/usr/bin/id", "severity": "notice"}]),
    ("security.xml",
     win_xml(4624, "2026-11-20T10:34:00.1234567Z", 100234, "DC01.corp.example.com",
             SubjectUserSid="S-1-5-18", SubjectUserName="DC01$", SubjectDomainName="CORP",
             TargetUserName="jdoe", TargetDomainName="CORP", LogonType="10", LogonProcessName="User32 ",
             AuthenticationPackageName="Negotiate", WorkstationName="DC01", IpAddress="198.51.100.31",
             IpPort="50123") + "\n"
     + win_xml(4688, "2026-11-20T10:35:00.0000000Z", 100240, "WS42.corp.example.com",
               SubjectUserSid="S-1-5-21-1-2-3-1104", SubjectUserName="jdoe", SubjectDomainName="CORP",
               SubjectLogonId="0x3e7", NewProcessId="0x1a2c", NewProcessName="C:\\Windows\\System32\\cmd.exe",
               TokenElevationType="%%1936", ProcessId="0x0f10", CommandLine="cmd.exe /c whoami",
               TargetUserSid="S-1-0-0", TargetUserName="-", TargetDomainName="-", TargetLogonId="0x0",
               ParentProcessName="C:\\Windows\\explorer.exe") + "\n"
     '<Event xmlns="' + WIN_NS + '">\n'
     "  <System>\n"
     '    <Provider Name="Microsoft-Windows-Security-Auditing" Guid="{54849625-5478-4994-A5BA-3E3B0328C30D}" />\n'
     "    <EventID>4625</EventID>\n"
     '    <TimeCreated SystemTime="2026-11-20T10:36:00.5000000Z" />\n'
     "    <Channel>Security</Channel>\n"
     "    <Computer>DC01.corp.example.com</Computer>\n"
     "  </System>\n"
     "  <EventData>\n"
     '    <Data Name="TargetUserName">administrator</Data>\n'
     '    <Data Name="TargetDomainName">CORP</Data>\n'
     '    <Data Name="Status">0xc000006d</Data>\n'
     '    <Data Name="LogonType">3</Data>\n'
     '    <Data Name="IpAddress">203.0.113.250</Data>\n'
     '    <Data Name="IpPort">0</Data>\n'
     "  </EventData>\n"
     "</Event>\n",
     "XmlWinEventLog",
     [{"_time": utc("10:34:00.1234567"), "EventCode": "4624", "signature_id": "4624", "action": "success",
       "signature": "An account was successfully logged on", "user": "jdoe", "src_user": "DC01$",
       "user_domain": "CORP", "src": "198.51.100.31", "src_port": "50123", "app": "win:remote",
       "dest": "DC01.corp.example.com", "LogName": "Security"},
      {"_time": utc("10:35:00"), "EventCode": "4688", "action": "allowed",
       "signature": "A new process has been created", "user": "jdoe", "user_domain": "CORP",
       "process": "C:\\Windows\\System32\\cmd.exe", "process_name": "cmd.exe", "process_id": "0x1a2c",
       "parent_process": "C:\\Windows\\explorer.exe", "parent_process_name": "explorer.exe",
       "CommandLine": "cmd.exe /c whoami", "dest": "WS42.corp.example.com"},
      {"_time": utc("10:36:00.5"), "EventCode": "4625", "action": "failure", "user": "administrator",
       "src": "203.0.113.250", "src_port": "0", "app": "win:remote", "dest": "DC01.corp.example.com",
       "linecount": 17}]),
    ("winevents.json",
     '{"EventTime":"2026-11-20 10:37:00","Hostname":"WS42.corp.example.com","Keywords":-9218868437227405312,'
     '"EventType":"AUDIT_FAILURE","SeverityValue":4,"Severity":"ERROR","EventID":4625,'
     '"SourceName":"Microsoft-Windows-Security-Auditing","Channel":"Security","TargetUserName":"bob",'
     '"TargetDomainName":"CORP","LogonType":"2","IpAddress":"-","IpPort":"-","WorkstationName":"WS42"}\n'
     '{"@timestamp":"2026-11-20T10:38:00.250Z","event":{"code":"4624","provider":'
     '"Microsoft-Windows-Security-Auditing"},"winlog":{"channel":"Security","computer_name":'
     '"DC01.corp.example.com","event_id":"4624","provider_name":"Microsoft-Windows-Security-Auditing",'
     '"event_data":{"TargetUserName":"svc_backup","TargetDomainName":"CORP","LogonType":"3",'
     '"IpAddress":"10.0.5.5","IpPort":"49822"}}}\n',
     "WinEventLog:json",
     [{"_time": utc("10:37:00"), "EventCode": "4625", "action": "failure", "user": "bob", "src": "WS42",
       "app": "win:local", "dest": "WS42.corp.example.com", "src_port": None},
      {"_time": utc("10:38:00.25"), "EventCode": "4624", "action": "success", "user": "svc_backup",
       "src": "10.0.5.5", "src_port": "49822", "app": "win:remote", "dest": "DC01.corp.example.com",
       "LogName": "Security"}]),
    ("app-container.log",
     '{"log":"10.0.0.1 - - [20/Nov/2026:10:39:00 +0000] \\"GET /healthz HTTP/1.1\\" 200 2\\n",'
     '"stream":"stdout","time":"2026-11-20T10:39:00.123456789Z"}\n'
     '{"log":"worker 3 exited\\n","stream":"stderr","time":"2026-11-20T10:39:01.5Z"}\n',
     "docker:json",
     [{"_time": utc("10:39:00.123456789"), "stream": "stdout",
       "message": '10.0.0.1 - - [20/Nov/2026:10:39:00 +0000] "GET /healthz HTTP/1.1" 200 2'},
      {"_time": utc("10:39:01.5"), "stream": "stderr", "message": "worker 3 exited"}]),
    ("var/log/containers/web-7d9f8_shop_nginx-" + HEX + ".log",
     '2026-11-20T10:40:00.111111111Z stdout F {"level":"info","msg":"listening on :8080"}\n'
     "2026-11-20T10:40:01.222222222+01:00 stderr F panic: runtime error: index out of range\n",
     "kube:container",
     [{"_time": utc("10:40:00.111111111"), "stream": "stdout", "logtag": "F",
       "message": '{"level":"info","msg":"listening on :8080"}', "pod": "web-7d9f8", "namespace": "shop",
       "container_name": "nginx", "container_id": HEX},
      {"_time": utc("10:40:01.222222222", offset=1), "stream": "stderr",
       "message": "panic: runtime error: index out of range", "namespace": "shop"}]),
    ("trail.json",
     '{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":'
     '"arn:aws:iam::123456789012:user/carol","accountId":"123456789012","userName":"carol"},'
     '"eventTime":"2026-11-20T10:41:00Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin",'
     '"awsRegion":"us-east-1","sourceIPAddress":"198.51.100.140","userAgent":"Mozilla/5.0",'
     '"errorMessage":"Failed authentication","requestParameters":null,"responseElements":{"ConsoleLogin":'
     '"Failure"},"additionalEventData":{"MFAUsed":"No"},"eventID":"e1","eventType":"AwsConsoleSignIn",'
     '"recipientAccountId":"123456789012"}\n'
     '{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:deploy","arn":'
     '"arn:aws:sts::123456789012:assumed-role/deployer/deploy","sessionContext":{"sessionIssuer":{"type":'
     '"Role","userName":"deployer"}}},"eventTime":"2026-11-20T10:42:00Z","eventSource":"s3.amazonaws.com",'
     '"eventName":"DeleteBucket","awsRegion":"eu-west-1","sourceIPAddress":"10.0.9.9","userAgent":'
     '"aws-cli/2.15.0","errorCode":"AccessDenied","errorMessage":"Access Denied","requestParameters":'
     '{"bucketName":"prod-logs"},"responseElements":null,"eventID":"e2","eventType":"AwsApiCall",'
     '"recipientAccountId":"123456789012"}\n'
     '{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","userName":"dave"},"eventTime":'
     '"2026-11-20T10:43:00Z","eventSource":"ec2.amazonaws.com","eventName":"RunInstances","awsRegion":'
     '"us-east-1","sourceIPAddress":"203.0.113.200","userAgent":"console.amazonaws.com","requestParameters":{},'
     '"responseElements":{},"eventID":"e3","eventType":"AwsApiCall","recipientAccountId":"123456789012"}\n',
     "aws:cloudtrail",
     [{"_time": utc("10:41:00"), "action": "failure", "user": "carol", "src": "198.51.100.140",
       "signature": "ConsoleLogin", "dest": "signin.amazonaws.com", "vendor_region": "us-east-1",
       "user_type": "IAMUser"},
      {"_time": utc("10:42:00"), "action": "failure", "user": "deployer", "src": "10.0.9.9",
       "signature": "DeleteBucket", "result": "AccessDenied", "user_agent": "aws-cli/2.15.0"},
      {"_time": utc("10:43:00"), "action": "success", "user": "dave", "signature": "RunInstances",
       "result": None}]),
    ("bastion.log",
     "Nov 20 10:44:00 bastion1 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; "
     "COMMAND=/usr/bin/apt-get update\n"
     "Nov 20 10:44:05 bastion1 sshd[8100]: Accepted publickey for alice from 10.0.0.50 port 50022 ssh2\n",
     "linux_secure",
     [{"_time": utc("10:44:00"), "host": "bastion1", "action": "success", "src_user": "alice", "user": "root",
       "command": "/usr/bin/apt-get update", "app": "sudo", "dest": "bastion1"},
      {"_time": utc("10:44:05"), "action": "success", "user": "alice", "src": "10.0.0.50", "src_port": "50022",
       "app": "sshd", "vendor_action": "Accepted"}]),
]

# AWS CloudTrail as delivered to S3: one JSON object whose "Records" list holds the events.
TRAIL_FILE = ('{"Records": [{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","userName":"erin"},'
              '"eventTime":"2026-11-20T10:45:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateAccessKey",'
              '"awsRegion":"us-east-1","sourceIPAddress":"203.0.113.77","userAgent":"aws-cli/2.15.0",'
              '"recipientAccountId":"123456789012"},\n  {"eventVersion":"1.08","userIdentity":{"type":"Root",'
              '"principalId":"123456789012"},"eventTime":"2026-11-20T10:46:30Z","eventSource":"signin.amazonaws.com",'
              '"eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.99",'
              '"responseElements":{"ConsoleLogin":"Success"},"recipientAccountId":"123456789012"}]}')
