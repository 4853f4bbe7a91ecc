#!/usr/bin/env python3
"""Workers benchmark: `gridlake ingest` throughput at 1, 2, 4, 8 and 16 jobs through the real HTTP path.

An archive of CAISO-shaped day files (benches/gen_caiso.py, zipped as OASIS serves them) is served by a
local HTTP server that answers each request after a fixed delay, standing in for a remote API's time to
first byte (0.25 s by default; public ISO APIs answer in 0.2-2 s). gridlake fetches it through a
`[sources.template.*]` source filling a copy of the built-in `caiso_lmp_dam` schema (named `caiso_bench`:
a built-in dataset has exactly one source). Each job count ingests the same days into a fresh lake; the
rate limiter is opened wide so that only `--jobs` bounds the requests in flight.

Reported per job count: wall time, days/s, rows/s, CPU seconds (user + sys of gridlake), peak RSS, the
most requests the server saw in flight, and the speed-up over 1 job. With the delay, throughput grows with
jobs until the cores are busy converting and encoding; on a 2-core machine that is reached at 2-4 jobs,
a many-core machine shows how far the pool scales.

Writes benches/results/workers.json, prints a table and rewrites the `workers` section of BENCHMARKS.md.
Usage: benches/workers_bench.py [--days 32] [--nodes 400] [--delay 0.25] [--jobs 1,2,4,8,16] [--quick]
(`--quick`: 8 days x 100 nodes at 1 and 4 jobs, a smoke test that leaves BENCHMARKS.md alone.)
"""

import argparse
import datetime as dt
import http.server
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benches"))
from report import replace_section  # noqa: E402

BIN = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release" / "gridlake"
DATA = ROOT / "benches" / ".data"
START = dt.date(2024, 1, 1)


class ArchiveServer(http.server.ThreadingHTTPServer):
    """Serves `/<YYYYMMDD>.zip` from a directory after `delay` seconds; counts requests in flight."""

    daemon_threads = True

    def __init__(self, files, delay):
        super().__init__(("127.0.0.1", 0), ArchiveHandler)
        self.files = files
        self.delay = delay
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.requests = 0

    def reset(self):
        with self.lock:
            self.max_in_flight = 0
            self.requests = 0


class ArchiveHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        srv = self.server
        with srv.lock:
            srv.in_flight += 1
            srv.requests += 1
            srv.max_in_flight = max(srv.max_in_flight, srv.in_flight)
        try:
            time.sleep(srv.delay)
            m = re.fullmatch(r"/(\d{8})\.zip", self.path)
            path = srv.files.get(m.group(1)) if m else None
            if path is None:
                self.send_error(404)
                return
            body = path.read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "application/zip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        finally:
            with srv.lock:
                srv.in_flight -= 1

    def log_message(self, *args):
        pass


def generate(days, nodes):
    out = DATA / f"workers_{days}d_{nodes}n"
    zips = sorted(out.glob("*.zip")) if out.is_dir() else []
    if len(zips) != days:
        shutil.rmtree(out, ignore_errors=True)
        subprocess.run(
            [sys.executable, str(ROOT / "benches" / "gen_caiso.py"), "--out", str(out), "--start",
             START.isoformat(), "--days", str(days), "--nodes", str(nodes), "--zip"],
            check=True,
        )
        for csv in out.glob("*.csv"):
            csv.unlink()  # only the zips are served
        zips = sorted(out.glob("*.zip"))
    # gen_caiso names files as OASIS does: <day>_<next>_PRC_LMP_DAM_….zip
    return {z.name[:8]: z for z in zips}


def write_config(dir_, port, schema_dir):
    schema = (ROOT / "schemas" / "caiso_lmp_dam.toml").read_text()
    schema = re.sub(r'(?m)^name = "caiso_lmp_dam"$', 'name = "caiso_bench"', schema)
    schema = re.sub(r'(?m)^source = "caiso"$', 'source = "template"', schema)
    schema_dir.mkdir(parents=True, exist_ok=True)
    (schema_dir / "caiso_bench.toml").write_text(schema)
    cfg = dir_ / "gridlake.toml"
    cfg.write_text(
        f'schema_dir = "{schema_dir}"\n'
        "[sources.template.bench]\n"
        'dataset = "caiso_bench"\n'
        f'url = "http://127.0.0.1:{port}/{{date:%Y%m%d}}.zip"\n'
        'content = "zip"\n'
        f'earliest = "{START.isoformat()}"\n'
        "lag_days = 0\n"
        "rate_limit = { initial = 1000.0, max = 1000.0 }\n"
    )
    return cfg


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=int, default=32)
    ap.add_argument("--nodes", type=int, default=400)
    ap.add_argument("--delay", type=float, default=0.25, help="server delay per request, seconds")
    ap.add_argument("--jobs", default="1,2,4,8,16")
    ap.add_argument("--quick", action="store_true", help="8 days x 100 nodes at 1 and 4 jobs; no BENCHMARKS.md")
    ap.add_argument("--repeat", type=int, help="ignored (accepted so that run-all can pass it to every bench)")
    args = ap.parse_args()
    if args.quick:
        args.days, args.nodes, args.jobs = 8, 100, "1,4"
    if not BIN.exists():
        sys.exit(f"{BIN} is missing: run `cargo build --release` first (benches/run-all does)")
    files = generate(args.days, args.nodes)
    server = ArchiveServer(files, args.delay)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    work = Path(tempfile.mkdtemp(prefix="workers-", dir=DATA))
    cfg = write_config(work, server.server_address[1], work / "schemas")
    results = []
    try:
        for jobs in [int(j) for j in args.jobs.split(",")]:
            lake = work / f"lake-{jobs}"
            server.reset()
            end = START + dt.timedelta(days=args.days - 1)
            cmd = [str(BIN), "--config", str(cfg), "--lake", str(lake), "ingest", "caiso_bench", "--start",
                   START.isoformat(), "--end", end.isoformat(), "--jobs", str(jobs), "--json"]
            env = dict(os.environ, GRIDLAKE_TODAY="2030-01-01")
            env.pop("GRIDLAKE_LAKE", None)
            t0 = time.perf_counter()
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
            out = proc.stdout.read()
            err = proc.stderr.read()
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - t0
            code = os.waitstatus_to_exitcode(status)
            if code != 0:
                sys.exit(f"jobs={jobs}: exit {code}\n{err.decode(errors='replace')[-2000:]}")
            rows = sum(d["rows_written"] for d in json.loads(out)["datasets"])
            if rows != args.days * args.nodes * 4 * 24:
                sys.exit(f"jobs={jobs}: {rows} rows written, expected {args.days * args.nodes * 96}")
            results.append({
                "jobs": jobs,
                "wall_s": round(wall, 3),
                "days_per_s": round(args.days / wall, 2),
                "rows_per_s": round(rows / wall),
                "rows": rows,
                "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
                "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
                "max_in_flight": server.max_in_flight,
                "requests": server.requests,
            })
            shutil.rmtree(lake)
    finally:
        server.shutdown()
        shutil.rmtree(work, ignore_errors=True)
    base = results[0]["wall_s"]
    for r in results:
        r["speedup_vs_1_job"] = round(base / r["wall_s"], 2)
    doc = {
        "generated_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {"cores": os.cpu_count(), "os": platform.platform(),
                    "loadavg_1m_at_start": os.getloadavg()[0]},
        "input": {"days": args.days, "nodes": args.nodes, "rows_per_day": args.nodes * 4 * 24,
                  "server_delay_s": args.delay},
        "command": "gridlake --config CFG --lake LAKE ingest caiso_bench --start … --end … --jobs N --json",
        "results": results,
    }
    out = ROOT / "benches" / "results" / ("workers-quick.json" if args.quick else "workers.json")
    out.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"{'jobs':>4} {'wall s':>7} {'days/s':>7} {'rows/s':>10} {'cpu s':>6} {'rss MiB':>8} {'in flight':>9} {'speed-up':>8}")
    for r in results:
        print(f"{r['jobs']:>4} {r['wall_s']:>7.2f} {r['days_per_s']:>7.2f} {r['rows_per_s']:>10,} "
              f"{r['cpu_s']:>6.2f} {r['peak_rss_mib']:>8.1f} {r['max_in_flight']:>9} {r['speedup_vs_1_job']:>8.2f}")
    print(f"wrote {out.relative_to(ROOT)}")
    if not args.quick:
        replace_section(ROOT / "BENCHMARKS.md", "workers", markdown(doc))


def markdown(doc):
    inp, m = doc["input"], doc["machine"]
    lines = [
        "## Workers: ingest throughput by `--jobs` (issue 7)",
        "",
        f"`benches/workers_bench.py`, run {doc['generated_at']} on {m['cores']} cores (1-min load at start "
        f"{m['loadavg_1m_at_start']:.2f}). {inp['days']} CAISO-shaped days × {inp['nodes']} nodes "
        f"({inp['rows_per_day']:,} rows a day, zipped) served over HTTP by a local server that answers each request "
        f"after {inp['server_delay_s']} s; a fresh lake per job count. Command: `{doc['command']}`.",
        "",
        "| jobs | wall s | days/s | rows/s | CPU s | peak RSS MiB | requests in flight (max) | speed-up vs 1 job |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in doc["results"]:
        lines.append(
            f"| {r['jobs']} | {r['wall_s']:.2f} | {r['days_per_s']:.2f} | {r['rows_per_s']:,} | {r['cpu_s']:.2f} | "
            f"{r['peak_rss_mib']:.1f} | {r['max_in_flight']} | {r['speedup_vs_1_job']:.2f}× |"
        )
    lines += [
        "",
        "Throughput grows with jobs while requests wait on the server and levels off once the cores are busy "
        "converting and encoding; the in-flight column shows `--jobs` is the bound. A machine with more cores "
        "moves the level-off point (no many-core machine was available for this run).",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
