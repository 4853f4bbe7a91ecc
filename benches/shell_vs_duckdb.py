#!/usr/bin/env python3
"""SQL benchmark: the canned queries of queries/ through the gridlake shell and through DuckDB, same files.

The lake: a deterministic year (2024-01-01 .. 2024-12-31, 366 days) of the three datasets the canned
queries read, built with the real `gridlake import` (release binary) from generated files in the real
formats, and cached under benches/.data/:

  * caiso_lmp_dam: OASIS PRC_LMP DAM day files from gen_caiso.py (500 nodes by default, not the 1,700 of a
    real all-APNodes file: 17.6 M rows instead of 60 M keeps the build to minutes and the lake small);
    2024-07-04 is left out (a `missing` day) and every 40th day carries two bad rows (`LMP_TYPE=XYZ`).
  * binance_klines: `SYMBOL-1m-YYYY-MM-DD.csv` files as data.binance.vision serves them (12 columns, no
    header, epoch milliseconds), 4 symbols x 1,440 minutes, a random walk; every 45th day one symbol loses
    30 minutes (`incomplete`) and every 50th day one row has a negative volume (a reject).
  * reach_dosimeter: `REACH-ALL_<start>_<end>.csv` files in the 25-column UDL layout of
    tests/fixtures/real/reach/, 2 sensors x 2 flavours, one sample a minute (so every day is `incomplete`
    against the 17,280 five-second samples the schema expects); a few fill values (-1.0E31, null dose) and
    every 30th day one negative dose (a reject). 2024-02-29 is left out.

Inputs are generated a month at a time into a scratch folder, imported, and deleted; only the lake is kept.

What is timed, per query of queries/ (same Parquet files for both engines):
  * warm, in-session: gridlake runs one `gridlake sql` process reading a script of every query repeated
    (--format table prints `N rows in S s` after each: DataFusion's plan + execution + collect, printing
    excluded); DuckDB runs one in-memory connection with views over the same files, timing
    `execute(...).to_arrow_table()`. One warm-up round each, then --repeat rounds; median per query.
  * cold, end to end, CLI against CLI: a new process per query (`gridlake sql --query NAME --format csv
    -o /dev/null` against the DuckDB CLI of the same version, from the `duckdb-cli` wheel, on a database file
    holding the same views: `duckdb DB -c "COPY (query) TO '/dev/null' (FORMAT csv, HEADER)"`), wall time,
    median of --cold-repeat; each binary's start is in its figure, and the startup alone (`SELECT 1`) is
    reported beside it.

DuckDB's tables: the datasets are `read_parquet(<lake>/<dataset>/*/*.parquet, hive_partitioning,
hive_types = {date: DATE})`; `rejects` is the same over `_gridlake/rejects/<dataset>/<date>/` (the date read as
text, `__HIVE_DEFAULT_PARTITION__` as NULL, as crates/shell does); `ledger` is not a file in the lake
but a reconciliation of the run records with the partitions present, computed by the ledger module, so
DuckDB gets it materialised once from `gridlake sql -c 'SELECT * FROM ledger' --format parquet` (DuckDB then
reads a ready table, gridlake recomputes it on every scan). The queries need a few DuckDB dialect changes
(DUCKDB_SQL below, next to the originals); before timing, both engines' results are compared row by row
(row count, a checksum, values with a float tolerance for rounding), and a difference stops the run.

Writes benches/results/shell.json (shell-quick.json with --quick) and the <!-- shell:begin/end --> section
of BENCHMARKS.md. Only stdlib, psutil, duckdb and pyarrow.
"""

import argparse
import datetime as dt
import decimal
import hashlib
import json
import math
import os
import platform
import random
import re
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
import gen_caiso  # noqa: E402
from report import replace_section  # noqa: E402

QUERY_NAMES = ["completeness_by_month", "daily_lmp", "daily_ohlc", "telemetry_availability", "top_reject_reasons"]
TARGET_GEOMEAN = 1.0
# Bump when the generated input or the lake's layout (sort keys, ledger layout) changes: it names the cached lake.
GENERATOR_VERSION = 4

# DuckDB spellings of the canned queries. Each differs from queries/NAME.sql only where DuckDB's dialect
# does: to_char -> strftime, and DataFusion's ordered first_value/last_value aggregates -> arg_min/arg_max
# (open_time is unique per symbol and day, so they pick the same row). daily_lmp's tie-break on
# interval_start is dropped: `arg_max(opr_hr, price)` was DuckDB's fastest spelling here (faster than the
# exact `first(opr_hr ORDER BY price DESC, interval_start)` or `arg_max(opr_hr, (price, -epoch_us(...)))`), it
# favours DuckDB, and the results are checked equal to gridlake's before timing.
DUCKDB_SQL = {
    "completeness_by_month": """
SELECT
    dataset,
    strftime(day, '%Y-%m') AS month,
    count(*) AS days,
    count(*) FILTER (WHERE state = 'complete') AS complete,
    count(*) FILTER (WHERE state = 'incomplete') AS incomplete,
    count(*) FILTER (WHERE state = 'no_data') AS no_data,
    count(*) FILTER (WHERE state = 'failed') AS failed,
    count(*) FILTER (WHERE state = 'missing') AS missing,
    sum(written_rows) AS written_rows,
    sum(expected_rows) AS expected_rows,
    round(100.0 * sum(written_rows) FILTER (WHERE expected_rows IS NOT NULL)
          / nullif(sum(expected_rows), 0), 2) AS availability_pct
FROM ledger
GROUP BY dataset, strftime(day, '%Y-%m')
ORDER BY dataset, month""",
    "daily_lmp": """
SELECT
    date,
    node,
    max(price) AS peak_lmp,
    round(avg(price), 4) AS avg_lmp,
    min(price) AS min_lmp,
    arg_max(opr_hr, price) AS peak_hour_ending,
    count(*) AS hours
FROM caiso_lmp_dam
WHERE lmp_type = 'LMP'
GROUP BY date, node
ORDER BY date, node""",
    "daily_ohlc": """
SELECT
    date,
    symbol,
    arg_min(open, open_time) AS open,
    max(high) AS high,
    min(low) AS low,
    arg_max(close, open_time) AS close,
    round(sum(volume), 4) AS volume,
    sum(number_of_trades) AS trades,
    count(*) AS minutes
FROM binance_klines
GROUP BY date, symbol
ORDER BY date, symbol""",
    # Same text as queries/ (DuckDB reads it as is).
    "telemetry_availability": None,
    "top_reject_reasons": None,
}


# ============================================================================ input generation


def klines_csv(symbol, day, seed, drop_minutes=0, bad_row=False):
    """One Binance 1m klines day file (no header, epoch ms, 8-decimal strings), as data.binance.vision."""
    rng = random.Random(f"{seed}-{symbol}-{day.isoformat()}")
    base = {"BTCUSDT": 42000.0, "ETHUSDT": 2300.0, "SOLUSDT": 100.0, "ADABTC": 0.0000125}[symbol]
    price = base * (1 + 0.3 * math.sin(day.toordinal() / 40.0)) * (1 + rng.uniform(-0.02, 0.02))
    t0 = int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp()) * 1000
    skip = set(range(600, 600 + drop_minutes))
    bad_at = rng.randrange(1440) if bad_row else -1
    lines = []
    for m in range(1440):
        o = price
        c = o * (1 + rng.gauss(0, 0.0008))
        h = max(o, c) * (1 + abs(rng.gauss(0, 0.0003)))
        lo = min(o, c) * (1 - abs(rng.gauss(0, 0.0003)))
        price = c
        if m in skip:
            continue
        vol = rng.uniform(0.5, 80.0) * (42000.0 / base) ** 0.5
        if m == bad_at:
            vol = -vol  # schema: min = 0 -> a rejected row
        trades = rng.randrange(20, 3000)
        buy = abs(vol) * rng.uniform(0.3, 0.7)
        ot = t0 + m * 60_000
        lines.append(
            f"{ot},{o:.8f},{h:.8f},{lo:.8f},{c:.8f},{vol:.8f},{ot + 59_999},{abs(vol) * o:.8f},"
            f"{trades},{buy:.8f},{buy * o:.8f},0\n"
        )
    return "".join(lines)


REACH_HEADER = (
    "id,classificationMarking,dataType,genTime,idOnOrbit,satNo,idSensor,origSensorId,observatoryType,"
    "observatoryName,instrumentType,lat,lon,alt,senPos,obSetId,particleType,obTime,seoList,descriptor,"
    "createdAt,createdBy,source,dataMode,origNetwork\n"
)
# (sensor, sat number, satellite, flavour, particle type, DOSE index)
REACH_CHANNELS = [
    ("REACH-135", 42809, "Iridium-126", "X", "PROTONS", 1),
    ("REACH-135", 42809, "Iridium-126", "Y", "PROTONS+ELECTRONS", 2),
    ("REACH-171", 43571, "Iridium-158", "Z", "ELECTRONS", 2),
    ("REACH-171", 43571, "Iridium-158", "W", "ELECTRONS", 1),
]


def reach_csv(day, seed, bad_row=False):
    """One REACH day file in the 25-column UDL layout: 4 channels x one sample a minute."""
    rng = random.Random(f"{seed}-reach-{day.isoformat()}")
    gen = f"{(day + dt.timedelta(days=2)).isoformat()}T13:18:02.485Z"
    lines = [REACH_HEADER]
    bad_at = rng.randrange(1440) if bad_row else -1
    for m in range(1440):
        ob = f"{day.isoformat()}T{m // 60:02d}:{m % 60:02d}:00.000Z"
        for k, (sensor, sat, obs, fl, particle, idx) in enumerate(REACH_CHANNELS):
            lat = 80 * math.sin((m + 37 * k) / 16.0)
            lon = (m * 2.4 + 90 * k) % 360 - 180
            alt = 780 + rng.uniform(0, 15)
            x, y, z = (7000 * math.cos(m / 16.0 + k), 7000 * math.sin(m / 16.0 + k), 7000 * math.sin(lat / 57.3))
            r = rng.random()
            if r < 0.002:
                value = "-1.0E31"  # the source's fill value: a null dose
            else:
                value = f"{rng.uniform(1e-7, 5e-5):.5e}"
                if m == bad_at and k == 0:
                    value = "-" + value  # schema: min = 0 -> a rejected row
            seo = (
                f"[{{'obType': 'Energetic Charged Particle', 'obUoM': 'rad/second', 'obValue': {value}, "
                f"'obQuality': '0', 'obDescription': 'DOSE{idx} (Flavor {fl}) in rad/second'}}]"
            )
            uid = hashlib.md5(f"{sensor}{fl}{ob}".encode()).hexdigest()
            uid = f"{uid[:8]}-{uid[8:12]}-{uid[12:16]}-{uid[16:20]}-{uid[20:32]}"
            lines.append(
                f'{uid},U,ECP,{gen},{sat},{sat},{sensor},{k % 2},ONORBIT,{obs},DOSIMETER,{lat:.4f},{lon:.4f},'
                f'{alt:.3f},"[{x:.7f}, {y:.7f}, {z:.7f}]",REACH_{fl},{particle},{ob},"{seo}",PROVISIONAL,'
                f"{gen},system.reach,Aerospace,REAL,OPS1\n"
            )
    return "".join(lines)


def write_text(path, text):
    with open(path, "w", newline="") as f:
        f.write(text)


def add_caiso_rejects(path):
    """Two rows with an LMP_TYPE the schema does not allow, copied from the file's first data row."""
    with open(path) as f:
        f.readline()
        row = f.readline()
    bad = row.replace(",LMP,LMP_PRC,", ",XYZ,LMP_PRC,", 1)
    with open(path, "a") as f:
        f.write(bad)
        f.write(bad.replace(",0,", ",9,", 1) if ",0," in bad else bad)


def run_import(gridlake, dataset, files, lake, log):
    t0 = time.perf_counter()
    p = subprocess.run([str(gridlake), "import", dataset, *map(str, files), "--lake", str(lake), "--json"],
                       capture_output=True, text=True)
    if p.returncode not in (0, 3):
        sys.exit(f"gridlake import {dataset} failed ({p.returncode}): {p.stderr[-2000:]}")
    s = json.loads(p.stdout)
    rec = s.get("records", {})
    log(f"    import {dataset}: {len(files)} files, {rec.get('written', '?'):,} rows written, "
        f"{rec.get('rejected', '?')} rejected, {time.perf_counter() - t0:.1f}s")


def build_lake(args, lake, log=print):
    """Generates the inputs a month at a time, imports them, deletes them. Returns the lake's description."""
    tmp_lake = lake.with_name(lake.name + ".tmp")
    scratch = lake.with_name(lake.name + ".inputs")
    shutil.rmtree(tmp_lake, ignore_errors=True)
    days = [args.start + dt.timedelta(days=k) for k in range(args.days)]
    symbols = ["ADABTC", "BTCUSDT", "ETHUSDT", "SOLUSDT"]
    caiso_missing = {dt.date(2024, 7, 4)}
    reach_missing = {dt.date(2024, 2, 29)}
    t0 = time.perf_counter()
    months = sorted({(d.year, d.month) for d in days})
    for ym in months:
        month_days = [d for d in days if (d.year, d.month) == ym]
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True)
        log(f"  {ym[0]}-{ym[1]:02d}: generating {len(month_days)} days")
        caiso = []
        for d in month_days:
            if d in caiso_missing:
                continue
            [(path, _, _)] = gen_caiso.generate(str(scratch / "caiso"), d, 1, args.nodes, args.seed)
            if d.toordinal() % 40 == 0:
                add_caiso_rejects(path)
            caiso.append(path)
        klines = []
        for d in month_days:
            n = d.toordinal()
            for i, sym in enumerate(symbols):
                drop = 30 if n % 45 == 0 and i == n % 4 else 0
                bad = n % 50 == 0 and i == 1
                path = scratch / f"{sym}-1m-{d.isoformat()}.csv"
                write_text(path, klines_csv(sym, d, args.seed, drop, bad))
                klines.append(path)
        reach = []
        for d in month_days:
            if d in reach_missing:
                continue
            stamp = d.strftime("%Y%m%dT000000")
            end = (d + dt.timedelta(days=1)).strftime("%Y%m%dT000000")
            path = scratch / f"REACH-ALL_{stamp}_{end}.csv"
            write_text(path, reach_csv(d, args.seed, bad_row=d.toordinal() % 30 == 0))
            reach.append(path)
        run_import(args.gridlake, "caiso_lmp_dam", caiso, tmp_lake, log)
        run_import(args.gridlake, "binance_klines", klines, tmp_lake, log)
        run_import(args.gridlake, "reach_dosimeter", reach, tmp_lake, log)
    shutil.rmtree(scratch, ignore_errors=True)
    os.replace(tmp_lake, lake)
    info = {"built_in_s": round(time.perf_counter() - t0, 1)}
    # Beside the lake, not in it: the marker that the build finished, and how long it took.
    lake.with_name(lake.name + ".json").write_text(json.dumps(info) + "\n")
    return info


def lake_rows(lake):
    """Rows and bytes per dataset, from the Parquet footers."""
    import pyarrow.parquet as pq

    out = {}
    for ds in sorted(p.name for p in lake.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))):
        files = sorted((lake / ds).glob("date=*/*.parquet"))
        out[ds] = {
            "days": len(files),
            "rows": sum(pq.ParquetFile(f).metadata.num_rows for f in files),
            "mib": round(sum(f.stat().st_size for f in files) / 2**20, 1),
        }
    rej = list((lake / "_gridlake" / "rejects").glob("*/*/*.parquet"))
    out["rejects"] = {"files": len(rej), "rows": sum(pq.ParquetFile(f).metadata.num_rows for f in rej)}
    return out


# ============================================================================ DuckDB side


def duckdb_connect(lake, ledger_parquet, threads=None):
    import duckdb

    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {threads}")
    for ds in ("caiso_lmp_dam", "binance_klines", "reach_dosimeter"):
        con.execute(
            f"CREATE VIEW {ds} AS SELECT * FROM read_parquet('{lake}/{ds}/*/*.parquet', "
            f"hive_partitioning = true, hive_types = {{'date': DATE}})"
        )
    con.execute(f"CREATE VIEW ledger AS SELECT * FROM read_parquet('{ledger_parquet}')")
    if not list(Path(lake).glob("_gridlake/rejects/*/*/*.parquet")):
        # A lake without rejects (a --quick one can be): read_parquet fails on no files, so an empty view.
        con.execute(
            "CREATE VIEW rejects AS SELECT NULL::VARCHAR AS dataset, NULL::DATE AS date, NULL::VARCHAR AS input, "
            "NULL::VARCHAR AS input_sha256, NULL::BIGINT AS line, NULL::VARCHAR AS \"column\", NULL::VARCHAR AS value, "
            "NULL::VARCHAR AS reason, NULL::VARCHAR AS raw, NULL::VARCHAR AS run_id WHERE false"
        )
        return con
    con.execute(
        "CREATE VIEW rejects AS SELECT dataset, "
        "CASE WHEN date = '__HIVE_DEFAULT_PARTITION__' THEN NULL ELSE CAST(date AS DATE) END AS date, "
        "input, input_sha256, line, \"column\", value, reason, raw, run_id "
        f"FROM read_parquet('{lake}/_gridlake/rejects/*/*/*.parquet', hive_partitioning = true, "
        "hive_types = {'dataset': VARCHAR, 'date': VARCHAR})"
    )
    return con


def duckdb_query(name):
    sql = DUCKDB_SQL[name]
    return sql if sql is not None else gridlake_query(name)


def gridlake_query(name):
    text = (ROOT / "queries" / f"{name}.sql").read_text()
    return "\n".join(line for line in text.splitlines() if not line.startswith("--")).strip().rstrip(";")


def duckdb_cli():
    """The DuckDB CLI binary of the `duckdb-cli` wheel (scripts/requirements.txt), the same version as the
    Python package: started directly, not through the wheel's Python entry point."""
    try:
        import duckdb_cli
    except ImportError:
        sys.exit("the DuckDB CLI is missing: run scripts/python-env (it installs duckdb-cli into .venv)")
    return Path(duckdb_cli.__file__).resolve().parent / "duckdb"


def duckdb_database(lake, ledger, path):
    """A DuckDB database file holding the views of duckdb_connect, for the CLI's cold runs."""
    import duckdb

    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    for name, sql in duckdb_connect(lake, ledger).execute(
        "SELECT view_name, sql FROM duckdb_views() WHERE NOT internal"
    ).fetchall():
        con.execute(sql)
    con.close()
    return path


# ============================================================================ results check


def norm(v):
    if isinstance(v, decimal.Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    return v


def rows_of(table):
    cols = [table.column(i).to_pylist() for i in range(table.num_columns)]
    return [tuple(norm(c[r]) for c in cols) for r in range(table.num_rows)]


def checksum(rows):
    """sha256 of the non-float cells, plus each float column's sum to 6 significant digits."""
    h = hashlib.sha256()
    sums = {}
    for row in rows:
        for i, v in enumerate(row):
            if isinstance(v, float):
                sums[i] = sums.get(i, 0.0) + v
            else:
                h.update(repr(v).encode())
    for i in sorted(sums):
        h.update(f"{i}:{sums[i]:.6g}".encode())
    return h.hexdigest()[:16]


def same_rows(a, b):
    if len(a) != len(b):
        return f"{len(a)} vs {len(b)} rows"
    for n, (x, y) in enumerate(zip(a, b)):
        if len(x) != len(y):
            return f"row {n}: {len(x)} vs {len(y)} columns"
        for i, (u, v) in enumerate(zip(x, y)):
            if isinstance(u, float) or isinstance(v, float):
                if u is None or v is None or not math.isclose(u, v, rel_tol=1e-9, abs_tol=1.5e-4):
                    if not (u is None and v is None):
                        return f"row {n} column {i}: {u!r} vs {v!r}"
            elif u != v:
                return f"row {n} column {i}: {u!r} vs {v!r}"
    return None


def check_results(args, lake, ledger, scratch):
    import pyarrow.parquet as pq

    con = duckdb_connect(lake, ledger)
    out = {}
    for name in QUERY_NAMES:
        path = scratch / f"{name}.parquet"
        p = subprocess.run([str(args.gridlake), "sql", "--lake", str(lake), "--query", name, "--format", "parquet",
                            "-o", str(path)], capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"gridlake --query {name} failed: {p.stderr}")
        g = rows_of(pq.read_table(path))
        d = rows_of(con.execute(duckdb_query(name)).to_arrow_table())
        diff = same_rows(g, d)
        out[name] = {"rows": len(g), "gridlake_checksum": checksum(g), "duckdb_checksum": checksum(d),
                     "same": diff is None}
        print(f"  {name}: {len(g):,} rows, checksum {checksum(g)} / {checksum(d)}"
              + ("" if diff is None else f"  DIFFERENT: {diff}"))
        if diff is not None:
            sys.exit(f"{name}: gridlake and DuckDB disagree ({diff}); not timing")
    return out


# ============================================================================ timing


TIMING_LINE = re.compile(r"^(\d+) rows? in ([0-9.]+)s$")


def warm_gridlake(args, lake, scratch):
    """One `gridlake sql` process: a warm-up round, then --repeat rounds of every query."""
    rounds = args.repeat + 1
    script = ";\n".join(gridlake_query(n) for _ in range(rounds) for n in QUERY_NAMES) + ";\n"
    out = scratch / "warm-gridlake.txt"
    t0 = time.perf_counter()
    p = subprocess.run([str(args.gridlake), "sql", "--lake", str(lake), "--format", "table", "-o", str(out)],
                       input=script, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"gridlake warm run failed: {p.stderr}")
    times = [float(m.group(2)) for m in map(TIMING_LINE.match, out.read_text().splitlines()) if m]
    if len(times) != rounds * len(QUERY_NAMES):
        sys.exit(f"expected {rounds * len(QUERY_NAMES)} timing lines, got {len(times)}")
    out.unlink()
    per = {n: times[i::len(QUERY_NAMES)][1:] for i, n in enumerate(QUERY_NAMES)}
    return per, wall


def warm_duckdb(args, lake, ledger):
    con = duckdb_connect(lake, ledger)
    per = {n: [] for n in QUERY_NAMES}
    for r in range(args.repeat + 1):
        for n in QUERY_NAMES:
            sql = duckdb_query(n)
            t0 = time.perf_counter()
            con.execute(sql).to_arrow_table()
            t = time.perf_counter() - t0
            if r > 0:
                per[n].append(t)
    return per


def timed(cmd):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    t = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed: {p.stderr[-2000:]}")
    return t


def cold_commands(args, lake, database, name):
    if name == "_startup":
        g = [str(args.gridlake), "sql", "--lake", str(lake), "--format", "csv", "-o", "/dev/null", "-c", "SELECT 1"]
    else:
        g = [str(args.gridlake), "sql", "--lake", str(lake), "--query", name, "--format", "csv", "-o", "/dev/null"]
    sql = "SELECT 1" if name == "_startup" else duckdb_query(name)
    d = [str(duckdb_cli()), str(database), "-readonly", "-c", f"COPY ({sql}) TO '/dev/null' (FORMAT csv, HEADER)"]
    return g, d


def cold(args, lake, database):
    per = {}
    for name in ["_startup"] + QUERY_NAMES:
        g, d = cold_commands(args, lake, database, name)
        timed(g), timed(d)  # warm the page cache and the binaries
        gs, ds = [], []
        for _ in range(args.cold_repeat):
            gs.append(timed(g))
            ds.append(timed(d))
        per[name] = {"gridlake": gs, "duckdb": ds}
    return per


def geomean(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def summarize(g, d):
    rows = {}
    for n in g:
        gm, dm = statistics.median(g[n]), statistics.median(d[n])
        rows[n] = {"gridlake_s": gm, "duckdb_s": dm, "ratio": gm / dm, "gridlake_all_s": g[n], "duckdb_all_s": d[n]}
    ratios = [rows[n]["ratio"] for n in QUERY_NAMES]
    return rows, geomean(ratios)


# ============================================================================ report


def machine_info():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            model = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), model)
    except OSError:
        pass
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    except (ValueError, OSError):
        ram = 0
    return {"cpu": model, "cores": os.cpu_count(), "ram_gib": round(ram, 1), "os": platform.platform(),
            "python": platform.python_version(), "loadavg_1m_at_start": round(os.getloadavg()[0], 2)}


def fmt_ms(s):
    return f"{s * 1000:,.1f}"


def markdown(res):
    lk, m, v = res["lake"], res["machine"], res["versions"]
    lines = [
        "## SQL: gridlake shell vs DuckDB (issue 5)",
        "",
        f"The five canned queries of `queries/`, run {res['run_at']} by `benches/shell_vs_duckdb.py "
        f"--repeat {res['config']['repeat']} --cold-repeat {res['config']['cold_repeat']}`.",
        "",
        f"- Lake: {lk['days']} days ({lk['start']} ..), built by `gridlake import` from generated files "
        f"({lk['nodes']} CAISO nodes): "
        + ", ".join(f"{ds} {x['rows']:,} rows in {x['days']} days ({x['mib']} MiB)"
                    for ds, x in lk["datasets"].items() if ds != "rejects")
        + f", {lk['datasets']['rejects']['rows']} rejects.",
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM (1-min load at start "
        f"{m['loadavg_1m_at_start']}). Versions: {v['gridlake']}, DuckDB {v['duckdb']}. gridlake binary: "
        f"`{res['gridlake_binary']['path']}` ({res['gridlake_binary']['profile']} build).",
        "- Both engines read the same Parquet files; DuckDB's `ledger` is a Parquet materialisation of gridlake's "
        "`ledger` (gridlake computes it from the run records at every scan). Results were checked equal "
        "(row count and checksum) before timing.",
        "- Warm: one process each (one `gridlake sql` reading every query from a script; one DuckDB "
        "connection), a warm-up round, then the median. Cold: a new process per query, CLI against CLI "
        "(`gridlake sql --query NAME --format csv -o /dev/null` vs. the DuckDB CLI of the same version on a "
        "database file of the same views, `duckdb DB -readonly -c \"COPY (…) TO '/dev/null'\"`), median wall time.",
        "",
        "| query | rows | gridlake warm ms | DuckDB warm ms | ratio | gridlake cold ms | DuckDB cold ms | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in QUERY_NAMES:
        w, c = res["warm"]["queries"][n], res["cold"]["queries"][n]
        lines.append(f"| {n} | {res['check'][n]['rows']:,} | {fmt_ms(w['gridlake_s'])} | {fmt_ms(w['duckdb_s'])} | "
                     f"{w['ratio']:.2f}× | {fmt_ms(c['gridlake_s'])} | {fmt_ms(c['duckdb_s'])} | {c['ratio']:.2f}× |")
    s = res["cold"]["startup"]
    lines += [
        f"| *startup (`SELECT 1`)* | 1 | – | – | – | {fmt_ms(s['gridlake_s'])} | {fmt_ms(s['duckdb_s'])} | "
        f"{s['ratio']:.2f}× |",
        "",
        f"**Geomean gridlake ÷ DuckDB: warm {res['warm']['geomean_ratio']:.2f}×, cold "
        f"{res['cold']['geomean_ratio']:.2f}×** (target ≤ {TARGET_GEOMEAN:.1f}×: warm "
        f"{'met' if res['warm']['geomean_ratio'] <= TARGET_GEOMEAN else '**not met**'}, cold "
        f"{'met' if res['cold']['geomean_ratio'] <= TARGET_GEOMEAN else '**not met**'}).",
    ]
    return "\n".join(lines)


def print_table(title, rows, header):
    print(f"\n{title}")
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    for row in [header] + rows:
        print("  ".join(str(x).rjust(w) for x, w in zip(row, widths)))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_bin = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release" / "gridlake"
    p.add_argument("--gridlake", type=Path, default=default_bin, help="gridlake binary (default: %(default)s)")
    p.add_argument("--days", type=int, help="days from --start (default 366: all of 2024; quick 7)")
    p.add_argument("--nodes", type=int, help="CAISO nodes (default 500; quick 50)")
    p.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2024, 1, 1))
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--repeat", type=int, help="warm rounds after the warm-up (default 5; quick 1)")
    p.add_argument("--cold-repeat", type=int, help="cold runs per query (default 3; quick 1)")
    p.add_argument("--quick", action="store_true", help="7 days x 50 nodes, 1 repeat: a smoke test")
    p.add_argument("--build-only", action="store_true", help="build (or find) the lake and stop")
    p.add_argument("--md", help="markdown file to update (default BENCHMARKS.md; never for --quick)")
    p.add_argument("--no-md", action="store_true")
    args = p.parse_args()
    q = args.quick
    args.days = args.days or (7 if q else 366)
    args.nodes = args.nodes or (50 if q else 500)
    args.repeat = args.repeat or (1 if q else 5)
    args.cold_repeat = args.cold_repeat or (1 if q else 3)
    if not args.gridlake.exists():
        sys.exit(f"{args.gridlake}: no such binary (cargo build --release, or --gridlake PATH)")

    data = BENCHES / ".data"
    lake = data / f"shell_lake_{args.start}_{args.days}d_{args.nodes}n_seed{args.seed}_v{GENERATOR_VERSION}"
    if not lake.with_name(lake.name + ".json").exists():
        print(f"building {lake.relative_to(ROOT)} ({args.days} days, {args.nodes} CAISO nodes)")
        build_lake(args, lake)
    else:
        print(f"using cached {lake.relative_to(ROOT)}")
    lk = {"path": str(lake.relative_to(ROOT)), "days": args.days, "start": str(args.start), "nodes": args.nodes,
          "seed": args.seed, "datasets": lake_rows(lake),
          **json.loads(lake.with_name(lake.name + ".json").read_text())}
    for ds, x in lk["datasets"].items():
        print(f"  {ds}: {x}")
    if args.build_only:
        return 0

    import duckdb

    res = {"run_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine_info(),
           "config": {"repeat": args.repeat, "cold_repeat": args.cold_repeat, "quick": q}, "lake": lk}
    gv = subprocess.run([str(args.gridlake), "--version"], capture_output=True, text=True).stdout.strip()
    res["versions"] = {"gridlake": gv, "duckdb": duckdb.__version__}
    # Which build ran: a dev-profile binary (workspace crates unoptimised) understates gridlake.
    res["gridlake_binary"] = {"path": str(args.gridlake),
                              "profile": "release" if "/release/" in str(args.gridlake) else "not release"}
    with tempfile.TemporaryDirectory(prefix="shellbench-") as tmp:
        scratch = Path(tmp)
        ledger = data / f"{lake.name}.ledger.parquet"
        p = subprocess.run([str(args.gridlake), "sql", "--lake", str(lake), "-c", "SELECT * FROM ledger",
                            "--format", "parquet", "-o", str(ledger)], capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"materialising the ledger failed: {p.stderr}")
        print("checking both engines return the same results")
        res["check"] = check_results(args, lake, ledger, scratch)
        print(f"warm: {args.repeat} rounds after a warm-up")
        g, g_wall = warm_gridlake(args, lake, scratch)
        d = warm_duckdb(args, lake, ledger)
        rows, gm = summarize(g, d)
        res["warm"] = {"queries": rows, "geomean_ratio": gm, "gridlake_process_wall_s": g_wall}
        print(f"cold: {args.cold_repeat} runs per query")
        c = cold(args, lake, duckdb_database(lake, ledger, scratch / "views.duckdb"))
        crow, cgm = summarize({n: c[n]["gridlake"] for n in QUERY_NAMES}, {n: c[n]["duckdb"] for n in QUERY_NAMES})
        su = c["_startup"]
        res["cold"] = {"queries": crow, "geomean_ratio": cgm,
                       "startup": {"gridlake_s": statistics.median(su["gridlake"]),
                                   "duckdb_s": statistics.median(su["duckdb"]),
                                   "ratio": statistics.median(su["gridlake"]) / statistics.median(su["duckdb"])}}
    res["duckdb_sql"] = {n: duckdb_query(n) for n in QUERY_NAMES}
    table = [[n, f"{res['check'][n]['rows']:,}", fmt_ms(rows[n]["gridlake_s"]), fmt_ms(rows[n]["duckdb_s"]),
              f"{rows[n]['ratio']:.2f}", fmt_ms(crow[n]["gridlake_s"]), fmt_ms(crow[n]["duckdb_s"]),
              f"{crow[n]['ratio']:.2f}"] for n in QUERY_NAMES]
    print_table("median ms", table, ["query", "rows", "gl warm", "duck warm", "ratio", "gl cold", "duck cold", "ratio"])
    print(f"\ngeomean gridlake / DuckDB: warm {gm:.2f}x, cold {cgm:.2f}x (target <= {TARGET_GEOMEAN}x); "
          f"startup {fmt_ms(res['cold']['startup']['gridlake_s'])} vs {fmt_ms(res['cold']['startup']['duckdb_s'])} ms")
    out = BENCHES / "results" / ("shell-quick.json" if q else "shell.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2, default=str) + "\n")
    print(f"wrote {out}")
    if not args.no_md and (args.md or not q):
        replace_section(Path(args.md) if args.md else ROOT / "BENCHMARKS.md", "shell", markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
