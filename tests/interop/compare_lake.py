"""Reads a gridlake dataset back with real readers and compares it, value by value, with its source CSVs.

Usage: compare_lake.py LAKE DATASET SCHEMA_TOML SOURCE... (a SOURCE may be a .zip of CSVs)

The expected rows are computed here, independently of gridlake: Python's csv module reads each source,
the schema's column mapping (source header and aliases) picks the fields, and each value is typed the way
the schema says (timestamps to aware UTC datetimes, dates, ints, floats, text). The lake is then read with
DuckDB (hive_partitioning) and with pyarrow.dataset (hive partitioning with `date` declared as date32),
and each reader must return exactly the expected multiset of rows, `date` typed as a date equal to the
row's partition day, and timestamps as UTC microseconds. Prints one JSON line with the counts; exits 1 with
the first differences on any mismatch.
"""

import csv
import datetime as dt
import io
import json
import sys
import tomllib
import zipfile
from collections import Counter
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
import pyarrow.dataset as pads


def source_texts(path):
    if path.endswith(".zip"):
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                if name.lower().endswith(".csv") and not name.startswith("__MACOSX/"):
                    yield z.read(name).decode("utf-8")
    else:
        with open(path, encoding="utf-8", newline="") as f:
            yield f.read()


def py_format(fmt):
    return fmt.replace("%:z", "%z").replace("%.f", ".%f")


def parse_ts(text, col):
    for fmt in col.get("format", []):
        try:
            t = dt.datetime.strptime(text, py_format(fmt))
        except ValueError:
            continue
        if t.tzinfo is None:
            zone = col.get("zone", "UTC")
            t = t.replace(tzinfo=ZoneInfo(zone) if "/" in zone else dt.timezone.utc)
        return t.astimezone(dt.timezone.utc)
    raise ValueError(f"cannot parse {text!r} as {col['name']}")


def typed(text, col):
    if text.strip() == "":
        return None
    kind = col["type"]
    if kind == "utf8":
        return text
    if kind in ("int16", "int32", "int64"):
        return int(text)
    if kind == "float64":
        return float(text)
    if kind == "date":
        return dt.datetime.strptime(text.strip(), py_format((col.get("format") or ["%Y-%m-%d"])[0])).date()
    if kind == "timestamp":
        return parse_ts(text.strip(), col)
    raise ValueError(kind)


def expected_rows(schema, sources):
    cols = schema["columns"]
    part = schema["partition"]
    rows = []
    for path in sources:
        for text in source_texts(path):
            reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
            header = None
            for rec in reader:
                if not rec or rec == [""]:
                    continue
                if header is None:
                    header = [h.strip() for h in rec]
                    continue
                values = {}
                for col in cols:
                    names = [col.get("source")] + col.get("aliases", [])
                    idx = next((header.index(n) for n in names if n in header), None)
                    values[col["name"]] = None if idx is None else typed(rec[idx], col)
                pv = values[part["column"]]
                day = pv if isinstance(pv, dt.date) and not isinstance(pv, dt.datetime) else pv.astimezone(ZoneInfo(part["zone"])).date()
                rows.append(tuple(values[c["name"]] for c in cols) + (day,))
    return rows


def norm(v):
    if isinstance(v, dt.datetime):
        assert v.tzinfo is not None, f"naive timestamp {v!r}: the lake must store UTC instants"
        return v.astimezone(dt.timezone.utc)
    return v


def main():
    lake, dataset, schema_path, *sources = sys.argv[1:]
    with open(schema_path, "rb") as f:
        schema = tomllib.load(f)
    names = [c["name"] for c in schema["columns"]]
    want = Counter(expected_rows(schema, sources))
    table = f"{lake}/{dataset}"

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    rel = con.sql(f"SELECT * FROM read_parquet('{table}/*/*.parquet', hive_partitioning = true)")
    types = dict(zip(rel.columns, [str(t) for t in rel.types]))
    assert types["date"] == "DATE", f"duckdb sees date as {types['date']}"
    for c in schema["columns"]:
        if c["type"] == "timestamp":
            assert types[c["name"]] == "TIMESTAMP WITH TIME ZONE", f"duckdb sees {c['name']} as {types[c['name']]}"
    duck = Counter(tuple(norm(v) for v in r) for r in con.sql(f"SELECT {', '.join(chr(34) + n + chr(34) for n in names)}, date FROM rel").fetchall())

    part = pads.partitioning(pa.schema([("date", pa.date32())]), flavor="hive")
    ds = pads.dataset(table, format="parquet", partitioning=part)
    for c in schema["columns"]:
        if c["type"] == "timestamp":
            t = ds.schema.field(c["name"]).type
            assert t == pa.timestamp("us", tz="UTC"), f"pyarrow sees {c['name']} as {t}"
    tbl = ds.to_table(columns=names + ["date"])
    arrow = Counter(tuple(norm(v) for v in r.values()) for r in tbl.to_pylist())

    report = {"expected": sum(want.values()), "duckdb": sum(duck.values()), "pyarrow": sum(arrow.values())}
    ok = True
    for reader, got in (("duckdb", duck), ("pyarrow", arrow)):
        if got != want:
            ok = False
            missing = list((want - got).elements())[:3]
            extra = list((got - want).elements())[:3]
            print(f"{reader}: rows differ; missing {missing}; unexpected {extra}", file=sys.stderr)
    print(json.dumps(report))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
