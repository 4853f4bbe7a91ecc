#!/usr/bin/env python3
"""Acquisition benchmarks: `gaps` over a long history and the no-op rerun of a complete month.

1. gaps: a synthetic lake of 20 datasets x 10 years (73,040 days): one tiny partition file per day, except one
   missing day in 100, and the ledger a daily run would leave (one run record per day and dataset, one ledger
   file per dataset and month: 120 record files per dataset, more than `sync` leaves, since it compacts past
   `[ledger] compact_after_files`, 32 by default). The lake is written directly (pyarrow), in gridlake's own
   ledger schema and layout (`_gridlake/ledger/dataset=<name>/<time>-<id>.parquet`, one folder per dataset,
   as gridlake writes it since issue #7), because importing 73,000 days would take hours and the bench
   measures reading, not writing. Timed: `gridlake gaps DATASET --start … --end … --json` for one dataset
   over its 10 years, and the same for every dataset in turn; then again after `gridlake ledger compact`
   (one record file per dataset). Target: < 0.5 s.
2. no-op rerun: 31 synthetic NYISO day files (tests/fixtures/synthetic/generate.py) imported, then
   `gridlake ingest nyiso_lbmp_dam_zonal --start 2024-03-01 --end 2024-03-31` pointed at a closed port: a
   single HTTP request would fail the run, so exit 0 proves zero requests. Target: < 1 s.

Writes benches/results/acquire.json and prints a table. Usage: benches/acquire_bench.py [--repeat N]
"""

import argparse
import datetime as dt
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benches"))
from report import replace_section  # noqa: E402

BIN = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release" / "gridlake"

LEDGER = pa.schema(
    [
        ("run_id", pa.string(), False),
        ("dataset", pa.string(), False),
        ("day", pa.date32(), False),
        ("state", pa.string(), False),
        ("rows", pa.int64(), False),
        ("expected_rows", pa.int64()),
        ("records_read", pa.int64(), False),
        ("records_written", pa.int64(), False),
        ("records_rejected", pa.int64(), False),
        ("records_superseded", pa.int64(), False),
        ("bytes", pa.int64(), False),
        ("inputs", pa.string(), False),
        ("error", pa.string()),
        ("recorded_at", pa.timestamp("us", tz="UTC"), False),
        ("duration_ms", pa.int64(), False),
        ("gridlake_version", pa.string(), False),
    ]
)

DATASETS = 20
START = dt.date(2015, 1, 1)
END = dt.date(2024, 12, 31)


def timed(cmd, repeat, env=None):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, env=env)
        times.append(time.perf_counter() - t)
        if out.returncode not in (0, 3):
            sys.exit(f"{cmd} failed ({out.returncode}): {out.stderr.decode()}")
    return statistics.median(times), out


def build_gaps_lake(root):
    schema_dir = root / "schemas"
    schema_dir.mkdir()
    base = (ROOT / "schemas" / "nyiso_lbmp_dam_zonal.toml").read_text()
    days = [START + dt.timedelta(d) for d in range((END - START).days + 1)]
    lake = root / "lake"
    for i in range(DATASETS):
        name = f"bench_{i:02}"
        (schema_dir / f"{name}.toml").write_text(base.replace('name = "nyiso_lbmp_dam_zonal"', f'name = "{name}"'))
        by_month = {}
        for n, day in enumerate(days):
            if n % 100 == 37:
                continue  # a missing day: neither file nor record
            folder = lake / name / f"date={day}"
            folder.mkdir(parents=True)
            (folder / "part-0.parquet").write_bytes(b"PAR1")
            by_month.setdefault((day.year, day.month), []).append(day)
        ledger = lake / "_gridlake" / "ledger" / f"dataset={name}"
        ledger.mkdir(parents=True, exist_ok=True)
        for (y, m), month_days in by_month.items():
            k = len(month_days)
            table = pa.table(
                {
                    "run_id": [f"run-{y}{m:02}"] * k,
                    "dataset": [name] * k,
                    "day": month_days,
                    "state": ["complete"] * k,
                    "rows": [360] * k,
                    "expected_rows": [360] * k,
                    "records_read": [360] * k,
                    "records_written": [360] * k,
                    "records_rejected": [0] * k,
                    "records_superseded": [0] * k,
                    "bytes": [20_000] * k,
                    "inputs": ["bench.csv"] * k,
                    "error": [None] * k,
                    "recorded_at": [dt.datetime(y, m, 1, tzinfo=dt.timezone.utc)] * k,
                    "duration_ms": [100] * k,
                    "gridlake_version": ["bench"] * k,
                },
                schema=LEDGER,
            )
            # gridlake's name for a run's file: its first record's time, then a random id; uncompressed, as
            # gridlake writes it.
            pq.write_table(table, ledger / f"{y}{m:02}01T000000000000-{i:04}{m:04}.parquet", compression="none")
    (root / "gridlake.toml").write_text(f'lake = "lake"\nschema_dir = "schemas"\n')
    return root / "gridlake.toml"


def all_in_turn(cfg):
    every = []
    for i in range(DATASETS):
        s, _ = timed(
            [str(BIN), "--config", str(cfg), "gaps", f"bench_{i:02}", "--start", str(START), "--end", str(END), "--json"],
            1,
        )
        every.append(s)
    return every


def gaps_bench(repeat):
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        t = time.perf_counter()
        cfg = build_gaps_lake(root)
        built = time.perf_counter() - t
        one, out = timed(
            [str(BIN), "--config", str(cfg), "gaps", "bench_07", "--start", str(START), "--end", str(END), "--json"],
            repeat,
        )
        gaps = json.loads(out.stdout)
        every = all_in_turn(cfg)
        compact = [str(BIN), "--config", str(cfg), "ledger", "compact"]
        subprocess.run(compact, check=True, capture_output=True)
        one_compacted, out_compacted = timed(
            [str(BIN), "--config", str(cfg), "gaps", "bench_07", "--start", str(START), "--end", str(END), "--json"],
            repeat,
        )
        assert json.loads(out_compacted.stdout) == gaps, "compaction changed the gaps"
        every_compacted = all_in_turn(cfg)
        return {
            "datasets": DATASETS,
            "days_per_dataset": (END - START).days + 1,
            "gap_days_found": len(gaps),
            "one_dataset_s": round(one, 4),
            "all_datasets_s": round(sum(every), 4),
            "one_dataset_compacted_s": round(one_compacted, 4),
            "all_datasets_compacted_s": round(sum(every_compacted), 4),
            "lake_build_s": round(built, 1),
            "target_s": 0.5,
        }


def noop_bench(repeat):
    spec = importlib.util.spec_from_file_location("gen", ROOT / "tests/fixtures/synthetic/generate.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        files = []
        for day in range(1, 32):
            date = dt.date(2024, 3, day)
            path = root / f"{date:%Y%m%d}damlbmp_zone.csv"
            gen.write(path, gen.nyiso_dam(date), crlf=True)
            files.append(str(path))
        lake = root / "lake"
        subprocess.run([str(BIN), "import", "nyiso_lbmp_dam_zonal", "--lake", str(lake), *files], check=True, capture_output=True)
        cfg = root / "gridlake.toml"
        cfg.write_text('[sources.nyiso]\nbase_url = "http://127.0.0.1:9/public/csv"\n')
        env = dict(os.environ, GRIDLAKE_TODAY="2024-04-15")
        cmd = [str(BIN), "--config", str(cfg), "--lake", str(lake), "ingest", "nyiso_lbmp_dam_zonal",
               "--start", "2024-03-01", "--end", "2024-03-31", "--json"]
        median, out = timed(cmd, repeat, env)
        summary = json.loads(out.stdout)
        assert out.returncode == 0 and summary["http_requests"] == 0, summary
        return {"days": 31, "http_requests": summary["http_requests"], "median_s": round(median, 4), "target_s": 1.0}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="1 repeat; BENCHMARKS.md is left alone")
    args = ap.parse_args()
    if args.quick:
        args.repeat = 1
    if not BIN.exists():
        sys.exit(f"{BIN} is missing: run `cargo build --release` first (benches/run-all does)")
    result = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "gaps": gaps_bench(args.repeat),
        "noop_rerun": noop_bench(args.repeat),
    }
    out = ROOT / "benches" / "results" / "acquire.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    g, n = result["gaps"], result["noop_rerun"]
    print(f"gaps, one dataset x {g['days_per_dataset']} days: {g['one_dataset_s']} s (target < {g['target_s']} s), "
          f"{g['gap_days_found']} gap days found; all {g['datasets']} datasets in turn: {g['all_datasets_s']} s")
    print(f"after `gridlake ledger compact`: one dataset {g['one_dataset_compacted_s']} s; "
          f"all {g['datasets']} in turn: {g['all_datasets_compacted_s']} s")
    print(f"no-op rerun of a complete month: {n['median_s']} s, {n['http_requests']} HTTP requests (target < {n['target_s']} s)")
    if not args.quick:
        replace_section(ROOT / "BENCHMARKS.md", "acquire", markdown(result, args.repeat))


def markdown(result, repeat):
    g, n = result["gaps"], result["noop_rerun"]
    return "\n".join([
        "## Acquisition: `gaps` over 10 years × 20 datasets, no-op rerun of a month (issue 7)",
        "",
        f"`benches/acquire_bench.py --repeat {repeat}` (release build, median), on {result['machine']['cpus']} cores.",
        f"The lake: {g['datasets']} datasets × {g['days_per_dataset']:,} days, one small file per day and one day "
        "in 100 missing, with the ledger daily runs leave (one ledger file per dataset and month).",
        "",
        "| measure | seconds | target |",
        "|---|---:|---:|",
        f"| `gaps DATASET --json`, one dataset over 10 years | {g['one_dataset_s']} | < {g['target_s']} |",
        f"| the same for all {g['datasets']} datasets in turn | {g['all_datasets_s']} | |",
        f"| one dataset after `gridlake ledger compact` | {g['one_dataset_compacted_s']} | < {g['target_s']} |",
        f"| all {g['datasets']} in turn after compaction | {g['all_datasets_compacted_s']} | |",
        f"| no-op `ingest` rerun of a complete month ({n['days']} days; {n['http_requests']} HTTP requests) | "
        f"{n['median_s']} | < {n['target_s']} |",
    ])


if __name__ == "__main__":
    main()
