"""Generate realistic logs for benchmarks from the real formats in ../shared/data.

Values vary with realistic cardinality: a few thousand client IPs (Zipf-like), a few hundred
URIs, 20 hosts, statuses weighted like the real Apache log, and a rare marker token placed in
exactly RARE_COUNT lines so that searches have a known answer.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

RARE_TOKEN = "quetzalcoatl7"
RARE_COUNT = 17
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def _pools(rng: random.Random):
    ips = [f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}" for _ in range(5000)]
    uris = [f"/{rng.choice(['api', 'static', 'blog', 'shop', 'img'])}/{rng.choice(['v1', 'v2', 'x'])}/item{n}" for n in range(400)]
    agents = [
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
        "curl/8.4.0", "Googlebot/2.1 (+http://www.google.com/bot.html)",
    ]
    users = [f"user{n}" for n in range(300)] + ["root", "admin", "oracle", "test"]
    return ips, uris, agents, users


def generate(out: Path, total_bytes: int, seed: int = 42, start: float | None = None, days: int = 3) -> dict:
    """Write access, auth, app (log4j with stack traces) and JSON logs under `out`, about
    `total_bytes` in all, spread over 20 hosts and `days` days (ending now). Returns counts per file."""
    rng = random.Random(seed)
    ips, uris, agents, users = _pools(rng)
    out.mkdir(parents=True, exist_ok=True)
    span = days * 86400
    start = start or (time.time() - span)
    kinds = {"access.log": _access, "auth.log": _auth, "app.log": _app, "status.json": _json}
    per_file = total_bytes // (20 * len(kinds))
    rare_left = RARE_COUNT
    counts: dict[str, int] = {}
    for h in range(20):
        host = f"web-{h:02d}"
        for name, fn in kinds.items():
            path = out / host / name
            path.parent.mkdir(exist_ok=True)
            size, lines, t = 0, [], start
            step = span / (per_file / 150)
            n = 0
            with open(path, "w") as f:
                while size < per_file:
                    t += rng.expovariate(1 / step)
                    if t > start + span:  # wrap: stay inside the days, never in the future
                        t -= span
                    text = fn(rng, t, host, ips, uris, agents, users)
                    if rare_left and rng.random() < 1e-5:
                        text = text.replace(" ", f" {RARE_TOKEN} ", 1)
                        rare_left -= 1
                    lines.append(text)
                    size += len(text) + 1
                    n += 1
                    if len(lines) >= 10000:
                        f.write("\n".join(lines) + "\n")
                        lines = []
                f.write("\n".join(lines) + "\n" if lines else "")
            counts[str(path)] = n
    if rare_left:  # make sure the marker count is exact
        with open(out / "web-00" / "access.log", "a") as f:
            for _ in range(rare_left):
                f.write(_access(rng, start + 3600, "web-00", ips, uris, agents, users).replace(" ", f" {RARE_TOKEN} ", 1) + "\n")
    return counts


def _zipf(rng: random.Random, seq):
    return seq[min(int(rng.paretovariate(1.2)) - 1, len(seq) - 1)]


def _access(rng, t, host, ips, uris, agents, users):
    ts = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(t))
    status = rng.choices([200, 304, 404, 500, 301, 403], [80, 8, 6, 1, 3, 2])[0]
    method = rng.choices(["GET", "POST", "HEAD"], [85, 12, 3])[0]
    return (f'{_zipf(rng, ips)} - - [{ts}] "{method} {rng.choice(uris)} HTTP/1.1" {status} '
            f'{rng.randint(200, 60000)} "-" "{rng.choice(agents)}"')


def _auth(rng, t, host, ips, uris, agents, users):
    g = time.gmtime(t)
    ts = f"{MONTHS[g.tm_mon - 1]} {g.tm_mday:2d} {time.strftime('%H:%M:%S', g)}"
    pid = rng.randint(1000, 65000)
    kind = rng.random()
    if kind < 0.5:
        msg = f"Failed password for invalid user {rng.choice(users)} from {_zipf(rng, ips)} port {rng.randint(1024, 65535)} ssh2"
    elif kind < 0.8:
        msg = f"Accepted publickey for {rng.choice(users)} from {_zipf(rng, ips)} port {rng.randint(1024, 65535)} ssh2"
    else:
        msg = f"pam_unix(sshd:session): session closed for user {rng.choice(users)}"
    return f"{ts} {host} sshd[{pid}]: {msg}"


def _app(rng, t, host, ips, uris, agents, users):
    ts = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t)) + f",{int(t * 1000) % 1000:03d}"
    level = rng.choices(["INFO", "WARN", "ERROR", "DEBUG"], [70, 15, 5, 10])[0]
    text = f"[{ts}] {level} [{rng.choice(['main', 'pool-1-thread-3', 'kafka-request-handler-2'])}] " \
           f"com.example.{rng.choice(['OrderService', 'Cache', 'Db'])}: processed request id={rng.randint(1, 10**9)} in {rng.randint(1, 900)}ms"
    if level == "ERROR" and rng.random() < 0.5:
        text += "\njava.lang.IllegalStateException: pool exhausted\n\tat com.example.Db.get(Db.java:42)\n\tat com.example.OrderService.run(OrderService.java:77)"
    return text


def _json(rng, t, host, ips, uris, agents, users):
    return ('{"timestamp": %d, "host": "%s", "connections": {"active": %d, "idle": %d}, "requests": %d}'
            % (int(t * 1000), host, rng.randint(0, 500), rng.randint(0, 100), rng.randint(0, 10**7)))
