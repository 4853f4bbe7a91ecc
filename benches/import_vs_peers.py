#!/usr/bin/env python3
"""Import benchmark: gridlake vs DuckDB vs pyarrow, CAISO PRC_LMP DAM CSV -> Hive-partitioned Parquet.

Every tool runs as its own child process on the same generated day files (benches/gen_caiso.py),
writes `date=YYYY-MM-DD/` partitions with zstd, and is measured from the outside: wall time,
CPU time, and peak RSS (psutil polling of the process tree every 20 ms, together with the
kernel's high-water mark from wait4). Rows written are read back from the Parquet footers with
pyarrow.dataset and must equal the generated row count for every tool.

Modes:
  (default)   30 days x 1,700 nodes, 3 repeats; writes benches/results/import.json and the
              <!-- import:begin/end --> section of BENCHMARKS.md.
  --scale     memory flatness: gridlake on 1x, 2x, 4x, 8x the base day count (4, 8, 16, 32);
              writes benches/results/memory.json and the <!-- memory:begin/end --> section.
  --quick     3 days x 300 nodes (scale: 1, 2, 4, 8 days), 1 repeat; results go to
              *-quick.json and BENCHMARKS.md is left alone unless --md is given.
  --only      comma list of gridlake, gridlake-zip, duckdb, pyarrow (e.g. --only duckdb,pyarrow
              before the binary exists).

Only stdlib, psutil, duckdb and pyarrow. The DuckDB and pyarrow halves run this same file as
`import_vs_peers.py _worker {duckdb|pyarrow} OUT THREADS FILE...`.
"""

import argparse
import datetime as dt
import inspect
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCHES = Path(__file__).resolve().parent
ROOT = BENCHES.parent
sys.path.insert(0, str(BENCHES))
import gen_caiso  # noqa: E402  (stdlib only, cheap to import in the workers too)

ALL_TOOLS = ("gridlake", "gridlake-zip", "duckdb", "pyarrow")
TARGETS = {"vs_pyarrow": 2.0, "vs_duckdb": 2.4, "gridlake_rss_mib": 256}
MIB = 1024 * 1024

# Source columns and the types every peer parses them to (timestamps -> INT64 us UTC).
COLUMNS = [
    ("INTERVALSTARTTIME_GMT", "TIMESTAMPTZ", "ts"),
    ("INTERVALENDTIME_GMT", "TIMESTAMPTZ", "ts"),
    ("OPR_DT", "DATE", "date32"),
    ("OPR_HR", "SMALLINT", "int16"),
    ("OPR_INTERVAL", "SMALLINT", "int16"),
    ("NODE_ID_XML", "VARCHAR", "string"),
    ("NODE_ID", "VARCHAR", "string"),
    ("NODE", "VARCHAR", "string"),
    ("MARKET_RUN_ID", "VARCHAR", "string"),
    ("LMP_TYPE", "VARCHAR", "string"),
    ("XML_DATA_ITEM", "VARCHAR", "string"),
    ("PNODE_RESMRID", "VARCHAR", "string"),
    ("GRP_TYPE", "VARCHAR", "string"),
    ("POS", "SMALLINT", "int16"),
    ("MW", "DOUBLE", "float64"),
    ("GROUP", "INTEGER", "int32"),
]


# ============================================================================ peers (workers)
# These functions run inside the child processes. Heavy imports stay inside them so that each
# worker's RSS holds only its own library.


def duckdb_sql(files, out):
    """The exact statement the DuckDB worker runs."""
    cols = ", ".join(f"'{name}': '{sql_type}'" for name, sql_type, _ in COLUMNS)
    file_list = ", ".join(f"'{f}'" for f in files)
    return (
        f"COPY (SELECT *, OPR_DT AS date FROM read_csv([{file_list}], header = true, delim = ',', "
        f"auto_detect = false, columns = {{{cols}}})) "
        f"TO '{out}' (FORMAT parquet, PARTITION_BY (date), COMPRESSION zstd)"
    )


def run_duckdb(out, threads, files):
    import duckdb

    con = duckdb.connect()  # in-memory database
    con.execute(f"SET threads = {threads}")
    con.execute("SET preserve_insertion_order = false")  # DuckDB's own advice for big COPYs
    con.execute(duckdb_sql(files, out))


def run_pyarrow(out, threads, files):
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.dataset as ds

    pa.set_cpu_count(threads)
    pa.set_io_thread_count(threads)
    arrow_types = {
        "ts": pa.timestamp("us", tz="UTC"), "date32": pa.date32(), "int16": pa.int16(),
        "int32": pa.int32(), "float64": pa.float64(), "string": pa.string(),
    }
    csv_format = ds.CsvFileFormat(
        convert_options=pacsv.ConvertOptions(
            column_types={name: arrow_types[t] for name, _, t in COLUMNS},
            strings_can_be_null=False,
        ),
        read_options=pacsv.ReadOptions(block_size=8 << 20),
    )
    source = ds.dataset(files, format=csv_format)
    columns = {name: ds.field(name) for name in source.schema.names}
    columns["date"] = ds.field("OPR_DT")
    ds.write_dataset(
        source.scanner(columns=columns),
        out,
        format="parquet",
        partitioning=ds.partitioning(pa.schema([("date", pa.date32())]), flavor="hive"),
        file_options=ds.ParquetFileFormat().make_write_options(compression="zstd"),
        basename_template="part-{i}.parquet",
        min_rows_per_group=122_880,  # DuckDB's row-group size; avoids one tiny group per block
        max_rows_per_group=1 << 20,
        existing_data_behavior="overwrite_or_ignore",
    )


def worker_main(argv):
    tool, out, threads, files = argv[0], argv[1], int(argv[2]), argv[3:]
    t0 = time.perf_counter()
    {"duckdb": run_duckdb, "pyarrow": run_pyarrow}[tool](out, threads, files)
    print(json.dumps({"inner_s": time.perf_counter() - t0}))


# ============================================================================ measurement


def measure(cmd, log_prefix):
    """Run cmd; return wall/cpu seconds, peak RSS, exit code, stdout, stderr tail."""
    import psutil

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=ROOT)
        ps = psutil.Process(proc.pid)
        peak_tree = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            try:
                tree = [ps] + ps.children(recursive=True)
                peak_tree = max(peak_tree, sum(p.memory_info().rss for p in tree))
            except psutil.Error:
                pass  # exited between wait4 and the sample
            time.sleep(0.02)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        # ru_maxrss is KiB on Linux: the kernel's high-water mark of the largest process.
        "peak_rss_mib": max(peak_tree, usage.ru_maxrss * 1024) / MIB,
        "exit_code": proc.returncode,
        "stdout": stdout,
        "stderr_tail": stderr[-2000:],
    }


def parquet_summary(root):
    """Rows, date partitions and bytes of the Parquet files under `date=*` directories."""
    import pyarrow.dataset as ds

    files, dates, size = [], set(), 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith((".", "_"))]
        name = os.path.basename(dirpath)
        for f in filenames:
            if f.endswith(".parquet") and name.startswith("date="):
                path = os.path.join(dirpath, f)
                files.append(path)
                dates.add(name)
                size += os.path.getsize(path)
    rows = ds.dataset(files, format="parquet").count_rows() if files else 0
    return {"rows": rows, "partitions": len(dates), "files": len(files), "out_mib": size / MIB}


def tool_command(tool, files, zips, out, args):
    if tool == "gridlake":
        return [str(args.gridlake), "import", "caiso_lmp_dam", *files, "--lake", out, "--json"]
    if tool == "gridlake-zip":
        return [str(args.gridlake), "import", "caiso_lmp_dam", *zips, "--lake", out, "--json"]
    return [sys.executable, str(Path(__file__).resolve()), "_worker", tool, out, str(args.threads), *files]


def ok_exit(tool, code):
    # gridlake exits 3 when some rows or days were rejected; it still ran (rows are checked).
    return code in ((0, 3) if tool.startswith("gridlake") else (0,))


def run_once(tool, files, zips, args, expected_rows, days):
    out = tempfile.mkdtemp(prefix=f"out-{tool}-", dir=args.data_root)
    try:
        m = measure(tool_command(tool, files, zips, out, args), tool)
        m.update(parquet_summary(out))
    finally:
        shutil.rmtree(out, ignore_errors=True)
        os.sync()  # flush the outputs now, not during the next tool's run
    m["ran"] = ok_exit(tool, m["exit_code"])
    m["rows_ok"] = m["rows"] == expected_rows and m["partitions"] == days
    if tool.startswith("gridlake"):
        try:
            m["summary"] = json.loads(m["stdout"])
        except ValueError:
            m["summary"] = None
    else:
        try:
            m["inner_s"] = json.loads(m["stdout"].strip().splitlines()[-1])["inner_s"]
        except (ValueError, IndexError, KeyError):
            m["inner_s"] = None
    del m["stdout"]
    if not m["ran"] or not m["rows_ok"]:
        print(f"  !! {tool}: exit {m['exit_code']}, rows {m['rows']:,} (want {expected_rows:,}), "
              f"partitions {m['partitions']} (want {days})\n{m['stderr_tail']}", file=sys.stderr)
    return m


def bench(tools, files, zips, args, expected_rows, days, repeat, label=""):
    """Round-robin the tools `repeat` times; return {tool: aggregate with runs}."""
    runs = {t: [] for t in tools}
    for r in range(repeat):
        for tool in tools:
            m = run_once(tool, files, zips, args, expected_rows, days)
            runs[tool].append(m)
            print(f"  {label}run {r + 1}/{repeat} {tool:<13} {m['wall_s']:7.2f} s  "
                  f"{m['peak_rss_mib']:7.1f} MiB  rows {m['rows']:,}", flush=True)
    agg = {}
    for tool, ms in runs.items():
        wall = statistics.median(m["wall_s"] for m in ms)
        agg[tool] = {
            "median_wall_s": wall,
            "rows_per_s": expected_rows / wall,
            "peak_rss_mib": max(m["peak_rss_mib"] for m in ms),
            "median_cpu_s": statistics.median(m["cpu_s"] for m in ms),
            "median_inner_s": (statistics.median(m["inner_s"] for m in ms)
                               if all(m.get("inner_s") is not None for m in ms) else None),
            "out_mib": ms[-1]["out_mib"],
            "ok": all(m["ran"] and m["rows_ok"] for m in ms),
            "runs": ms,
        }
    return agg


# ============================================================================ reporting


def machine_info():
    import psutil

    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        model = platform.processor() or "unknown"
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "ram_gib": round(psutil.virtual_memory().total / 1024**3, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "loadavg_1m_at_start": round(os.getloadavg()[0], 2),
    }


def versions(args, tools):
    import duckdb
    import pyarrow

    v = {"duckdb": duckdb.__version__, "pyarrow": pyarrow.__version__}
    if any(t.startswith("gridlake") for t in tools):
        try:
            p = subprocess.run([str(args.gridlake), "--version"], capture_output=True, text=True, timeout=30)
            v["gridlake"] = p.stdout.strip() or p.stderr.strip()
        except OSError as e:
            v["gridlake"] = f"unavailable ({e})"
    return v


def write_json(path, data):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    print(f"wrote {path}")


def replace_section(md_path, name, body):
    """Replace the text between <!-- name:begin --> and <!-- name:end --> (append if absent)."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = f"{begin}\n{body.rstrip()}\n{end}"
    text = md_path.read_text() if md_path.exists() else "# Benchmarks\n"
    i, j = text.find(begin), text.find(end)
    if i >= 0 and j > i:
        text = text[:i] + block + text[j + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    md_path.write_text(text)
    print(f"updated {md_path} ({name} section)")


def fmt_s(x):
    return f"{x:.2f}" if x is not None else "–"


def fmt_ratio(x):
    return f"{x:.2f}×" if x is not None else "n/a"


def met(ok):
    return "n/a" if ok is None else ("yes" if ok else "**no**")


def rel(p):
    """Path relative to the repo root when inside it, else absolute."""
    p = Path(p).resolve()
    return str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p)


def import_markdown(res):
    inp, tools, r = res["input"], res["tools"], res["ratios"]
    m, v = res["machine"], res["versions"]
    lines = [
        "## Import: gridlake vs DuckDB vs pyarrow",
        "",
        f"CAISO OASIS PRC_LMP DAM CSV → Hive-partitioned Parquet (`date=YYYY-MM-DD`, zstd, timestamps "
        f"INT64 µs UTC). Run {res['generated_at']} by `benches/import_vs_peers.py"
        f"{' ' + ' '.join(res['argv']) if res['argv'] else ''}`.",
        "",
        f"- Input: {inp['days']} synthetic OASIS day files from `benches/gen_caiso.py` (seed {inp['seed']}, "
        f"from {inp['start']}), {inp['nodes']:,} nodes, **{inp['rows']:,} rows**, "
        f"{inp['csv_mib']:.0f} MiB CSV ({inp['zip_mib']:.0f} MiB as zips).",
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM, {m['os']}.",
        f"- Versions: {v.get('gridlake', 'gridlake not run')}, DuckDB {v['duckdb']}, pyarrow {v['pyarrow']}, "
        f"Python {m['python']}. Peers use {res['config']['threads']} threads.",
        f"- Wall time: median of {res['config']['repeat']} runs per tool (tools interleaved, page cache warm); "
        "peak RSS: the largest over the runs (kernel high-water mark / 20 ms psutil poll of the process tree). "
        "In-process s: the peers' own timing of the work, without interpreter start and imports. "
        + ("Every tool's rows were read back from its Parquet files and equal the generated count."
           if res["ok"] else "**A check FAILED: some tool did not run or wrote the wrong row count.**"),
        "",
        "| tool | input | wall s | rows/s | peak RSS MiB | CPU s | in-process s | output MiB |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name in ALL_TOOLS:
        if name in tools:
            t = tools[name]
            lines.append(
                f"| {name} | {'zip' if name == 'gridlake-zip' else 'csv'} | {t['median_wall_s']:.2f} | "
                f"{t['rows_per_s']:,.0f} | {t['peak_rss_mib']:.0f} | {t['median_cpu_s']:.2f} | {fmt_s(t['median_inner_s'])} | "
                f"{t['out_mib']:.0f} |"
            )
    lines += [
        "",
        "| measure | value | target | met |",
        "|---|---:|---:|---|",
        f"| gridlake rows/s ÷ pyarrow rows/s | {fmt_ratio(r['vs_pyarrow'])} | ≥ {TARGETS['vs_pyarrow']}× | {met(r['vs_pyarrow_met'])} |",
        f"| gridlake rows/s ÷ DuckDB rows/s | {fmt_ratio(r['vs_duckdb'])} | ≥ {TARGETS['vs_duckdb']}× | {met(r['vs_duckdb_met'])} |",
        f"| gridlake peak RSS | {r['gridlake_rss_mib']:.0f} MiB | ≤ {TARGETS['gridlake_rss_mib']} MiB | {met(r['rss_met'])} |"
        if r["gridlake_rss_mib"] is not None else
        f"| gridlake peak RSS | n/a | ≤ {TARGETS['gridlake_rss_mib']} MiB | n/a |",
    ]
    if r.get("zip_vs_pyarrow") is not None:
        lines.append(f"| gridlake (zip input) rows/s ÷ pyarrow (csv) | {fmt_ratio(r['zip_vs_pyarrow'])} | | |")
        lines.append(f"| gridlake (zip input) rows/s ÷ DuckDB (csv) | {fmt_ratio(r['zip_vs_duckdb'])} | | |")
    lines += ["", "Commands (`FILES` = the day CSVs, `ZIPS` = the same days as OASIS zips, in "
              f"`{inp['data_dir']}`):", "", "```sh"]
    for name, cmd in res["commands"].items():
        lines.append(f"# {name}")
        lines.append(cmd)
    lines += ["```", "", "<details><summary>DuckDB and pyarrow worker code</summary>", "", "```python",
              res["worker_source"].rstrip(), "```", "", "</details>"]
    return "\n".join(lines)


def memory_markdown(res):
    m, v = res["machine"], res["versions"]
    lines = [
        "## Import memory flatness",
        "",
        f"Peak RSS while importing 1×, 2×, 4×, 8× the days ({res['nodes']:,} nodes per day, synthetic "
        f"OASIS PRC_LMP DAM CSVs). Run {res['generated_at']} by `benches/import_vs_peers.py "
        f"{' '.join(res['argv'])}` on {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM; "
        f"{v.get('gridlake', '')}. Wall time: median of {res['repeat']} runs; RSS: largest over the runs.",
        "",
        "| tool | days | rows | CSV MiB | wall s | rows/s | peak RSS MiB |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for tool in res["scales"][0]["tools"]:
        for s in res["scales"]:
            t = s["tools"][tool]
            lines.append(f"| {tool} | {s['days']} | {s['rows']:,} | {s['csv_mib']:.0f} | {t['median_wall_s']:.2f} | "
                         f"{t['rows_per_s']:,.0f} | {t['peak_rss_mib']:.0f} |")
    g = res.get("gridlake_rss_growth")
    if g:
        lines += ["", f"gridlake peak RSS from 1× to 8× days: {g['first_mib']:.0f} → {g['last_mib']:.0f} MiB "
                      f"(×{g['ratio']:.2f}; input ×8); target ≤ {TARGETS['gridlake_rss_mib']} MiB at every scale: "
                      f"{met(g['within_target'])}."]
    return "\n".join(lines)


# ============================================================================ driver


def prepare_data(args, days):
    """Generate (or reuse) `days` day files; return (csvs, zips, rows, data_dir)."""
    data_dir = Path(args.data_root) / f"caiso_prc_lmp_dam_{args.start}_{args.nodes}n_seed{args.seed}"
    t0 = time.perf_counter()
    made = gen_caiso.generate(str(data_dir), args.start, days, args.nodes, args.seed, make_zip=True,
                              skip_existing=True, log=lambda s: print(s, flush=True))
    print(f"input: {days} days x {args.nodes} nodes in {rel(data_dir)} ({time.perf_counter() - t0:.1f}s)")
    csvs = [c for c, _, _ in made]
    zips = [z for _, z, _ in made]
    rows = sum(r for _, _, r in made)
    for f in csvs + zips:  # warm the page cache so no tool pays for the first read
        with open(f, "rb") as fh:
            while fh.read(16 << 20):
                pass
    return csvs, zips, rows, data_dir


def mib(paths):
    return sum(os.path.getsize(p) for p in paths) / MIB


def common_header(args, tools):
    return {
        "generated_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "argv": sys.argv[1:],
        "machine": machine_info(),
        "versions": versions(args, tools),
    }


def warn_if_busy(res):
    load = res["machine"]["loadavg_1m_at_start"]
    if load > 0.5:
        print(f"warning: 1-minute load average is {load} before the run; timings will be noisy", file=sys.stderr)


def print_table(title, rows, header):
    print(f"\n{title}")
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    for row in [header] + rows:
        print("  ".join(str(x).rjust(w) for x, w in zip(row, widths)))


def main_import(args, tools):
    csvs, zips, rows, data_dir = prepare_data(args, args.days)
    res = common_header(args, tools)
    warn_if_busy(res)
    res["config"] = {"repeat": args.repeat, "threads": args.threads, "tools": tools}
    res["input"] = {"days": args.days, "nodes": args.nodes, "start": str(args.start), "seed": args.seed,
                    "rows": rows, "csv_mib": mib(csvs), "zip_mib": mib(zips), "data_dir": rel(data_dir)}
    print(f"{rows:,} rows, {mib(csvs):.0f} MiB CSV; tools {', '.join(tools)}; {args.repeat} repeat(s)")
    res["tools"] = bench(tools, csvs, zips, args, rows, args.days, args.repeat)

    t = res["tools"]

    def ratio(a, b):
        return t[a]["rows_per_s"] / t[b]["rows_per_s"] if a in t and b in t else None

    r = {"vs_pyarrow": ratio("gridlake", "pyarrow"), "vs_duckdb": ratio("gridlake", "duckdb"),
         "zip_vs_pyarrow": ratio("gridlake-zip", "pyarrow"), "zip_vs_duckdb": ratio("gridlake-zip", "duckdb")}
    g_rss = [t[n]["peak_rss_mib"] for n in ("gridlake", "gridlake-zip") if n in t]
    r["gridlake_rss_mib"] = max(g_rss) if g_rss else None
    r["vs_pyarrow_met"] = None if r["vs_pyarrow"] is None else r["vs_pyarrow"] >= TARGETS["vs_pyarrow"]
    r["vs_duckdb_met"] = None if r["vs_duckdb"] is None else r["vs_duckdb"] >= TARGETS["vs_duckdb"]
    r["rss_met"] = None if not g_rss else r["gridlake_rss_mib"] <= TARGETS["gridlake_rss_mib"]
    res["ratios"], res["targets"] = r, TARGETS
    res["ok"] = all(x["ok"] for x in t.values())

    shown = f"FILES  # {len(csvs)} files: {os.path.basename(csvs[0])} … {os.path.basename(csvs[-1])}"
    res["commands"] = {"input": shown}
    for tool in tools:
        cmd = tool_command(tool, ["FILES"], ["ZIPS"], "OUT", args)
        cmd[0] = rel(cmd[0]) if tool.startswith("gridlake") else "python"
        cmd[1] = rel(cmd[1]) if not tool.startswith("gridlake") else cmd[1]
        res["commands"][tool] = " ".join(cmd)
    res["commands"]["duckdb SQL"] = (f"SET threads = {args.threads}; SET preserve_insertion_order = false; "
                                     + duckdb_sql(["FILES..."], "OUT"))
    res["worker_source"] = "\n\n".join(inspect.getsource(f) for f in (duckdb_sql, run_duckdb, run_pyarrow))

    header = ["tool", "wall s", "rows/s", "peak RSS MiB", "CPU s", "in-process s", "out MiB", "ok"]
    table = [[n, f"{x['median_wall_s']:.2f}", f"{x['rows_per_s']:,.0f}", f"{x['peak_rss_mib']:.0f}",
              f"{x['median_cpu_s']:.2f}", fmt_s(x["median_inner_s"]), f"{x['out_mib']:.0f}",
              "yes" if x["ok"] else "NO"] for n, x in t.items()]
    print_table(f"import of {rows:,} rows ({args.days} days x {args.nodes} nodes), median of {args.repeat}", table, header)
    print(f"\ngridlake ÷ pyarrow rows/s: {fmt_ratio(r['vs_pyarrow'])} (target ≥ {TARGETS['vs_pyarrow']}×)")
    print(f"gridlake ÷ DuckDB  rows/s: {fmt_ratio(r['vs_duckdb'])} (target ≥ {TARGETS['vs_duckdb']}×)")
    rss = f"{r['gridlake_rss_mib']:.0f} MiB" if r["gridlake_rss_mib"] is not None else "n/a"
    print(f"gridlake peak RSS: {rss} (target ≤ {TARGETS['gridlake_rss_mib']} MiB)")
    for n in ("duckdb", "pyarrow"):
        if n in t:
            print(f"{n} peak RSS: {t[n]['peak_rss_mib']:.0f} MiB")

    write_json(args.results or BENCHES / "results" / ("import-quick.json" if args.quick else "import.json"), res)
    md = markdown_target(args, tools, res["ok"])
    if md:
        replace_section(md, "import", import_markdown(res))
    return res["ok"]


def main_scale(args, tools):
    base = args.scale_base
    day_counts = [base, 2 * base, 4 * base, 8 * base]
    csvs, zips, _, data_dir = prepare_data(args, day_counts[-1])
    res = common_header(args, tools)
    warn_if_busy(res)
    res.update({"nodes": args.nodes, "repeat": args.repeat, "data_dir": rel(data_dir), "scales": []})
    for days in day_counts:
        files, zfiles = csvs[:days], zips[:days]
        rows = sum(gen_caiso.rows_for_day(args.start + dt.timedelta(days=k), args.nodes) for k in range(days))
        print(f"scale {days} days: {rows:,} rows, {mib(files):.0f} MiB CSV")
        agg = bench(tools, files, zfiles, args, rows, days, args.repeat, label=f"{days}d ")
        res["scales"].append({"days": days, "rows": rows, "csv_mib": mib(files), "tools": agg})
    res["ok"] = all(x["ok"] for s in res["scales"] for x in s["tools"].values())

    header = ["tool", "days", "rows", "wall s", "rows/s", "peak RSS MiB"]
    table = [[n, s["days"], f"{s['rows']:,}", f"{s['tools'][n]['median_wall_s']:.2f}",
              f"{s['tools'][n]['rows_per_s']:,.0f}", f"{s['tools'][n]['peak_rss_mib']:.0f}"]
             for n in tools for s in res["scales"]]
    print_table("memory flatness", table, header)
    if "gridlake" in tools:
        rss = [s["tools"]["gridlake"]["peak_rss_mib"] for s in res["scales"]]
        res["gridlake_rss_growth"] = {"first_mib": rss[0], "last_mib": rss[-1], "ratio": rss[-1] / rss[0],
                                      "within_target": max(rss) <= TARGETS["gridlake_rss_mib"]}
        print(f"gridlake peak RSS 1x -> 8x: {rss[0]:.0f} -> {rss[-1]:.0f} MiB (x{rss[-1] / rss[0]:.2f})")

    write_json(args.results or BENCHES / "results" / ("memory-quick.json" if args.quick else "memory.json"), res)
    md = markdown_target(args, tools, res["ok"])
    if md:
        replace_section(md, "memory", memory_markdown(res))
    return res["ok"]


def markdown_target(args, tools, ok):
    if args.no_md:
        return None
    if args.md:
        return Path(args.md)
    if args.quick or "gridlake" not in tools or not ok:
        why = "quick run" if args.quick else ("gridlake not run" if "gridlake" not in tools else "a check failed")
        print(f"BENCHMARKS.md left alone ({why}; pass --md PATH to write anyway)")
        return None
    return ROOT / "BENCHMARKS.md"


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "_worker":
        return worker_main(sys.argv[2:])
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gridlake", default="target/release/gridlake", help="gridlake binary (default: %(default)s)")
    p.add_argument("--days", type=int, help="operating days (default 30; quick 3)")
    p.add_argument("--nodes", type=int, help="nodes per day (default 1700; quick 300)")
    p.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2024, 1, 1), help="first day (default %(default)s)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--repeat", type=int, help="runs per tool, median reported (default 3; quick 1)")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="DuckDB/pyarrow threads (default: all cores, %(default)s)")
    p.add_argument("--only", help=f"comma list of {','.join(ALL_TOOLS)} (default: all; with --scale: gridlake)")
    p.add_argument("--quick", action="store_true", help="3 days x 300 nodes, 1 repeat: a smoke test")
    p.add_argument("--scale", action="store_true", help="memory flatness: 1x,2x,4x,8x the base days")
    p.add_argument("--scale-base", type=int, help="days at 1x for --scale (default 4; quick 1)")
    p.add_argument("--data-root", default=str(BENCHES / ".data"), help="generated inputs and scratch outputs")
    p.add_argument("--results", help="JSON results path (default benches/results/{import,memory}[-quick].json)")
    p.add_argument("--md", help="markdown file whose section to update (default BENCHMARKS.md on full runs)")
    p.add_argument("--no-md", action="store_true", help="never touch a markdown file")
    args = p.parse_args()

    q = args.quick
    args.days = args.days or (3 if q else 30)
    args.nodes = args.nodes or (300 if q else 1700)
    args.repeat = args.repeat or (1 if q else 3)
    args.scale_base = args.scale_base or (1 if q else 4)
    tools = [t.strip() for t in args.only.split(",")] if args.only else (["gridlake"] if args.scale else list(ALL_TOOLS))
    bad = [t for t in tools if t not in ALL_TOOLS]
    if bad:
        p.error(f"unknown tool(s) {bad}; choose from {ALL_TOOLS}")
    gl = Path(args.gridlake)
    args.gridlake = gl if gl.is_absolute() or gl.exists() else ROOT / gl
    if any(t.startswith("gridlake") for t in tools) and not os.access(args.gridlake, os.X_OK):
        p.error(f"gridlake binary {args.gridlake} not found: run `cargo build --release`, "
                "pass --gridlake PATH, or use --only duckdb,pyarrow")
    os.makedirs(args.data_root, exist_ok=True)

    ok = main_scale(args, tools) if args.scale else main_import(args, tools)
    if not ok:
        print("FAILED: a tool did not run or wrote the wrong row count (see above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
