"""Reads every table of a gridlake lake with four independent readers and checks they agree.

Usage: four_readers.py LAKE

Readers: Spark (pyspark, local mode), DuckDB, pyarrow.dataset and DataFusion (python), each with nothing but
its own Hive-partition discovery (`date` declared as a date where a reader needs it: pyarrow, DataFusion).
For each table and reader it computes the row count and, per column, a checksum that does not depend on the
reader's types: non-null count plus a value digest (integers and timestamps as exact integer sums, timestamps
in UTC microseconds; floats as a sum rounded to 6 significant digits; text as total length and distinct count;
dates as days since 1970-01-01). It asserts `date` is a date and every timestamp a UTC microsecond instant in
each reader. Prints one JSON object {table: {reader: {"rows": n, "columns": {...}}}}; exits 1 on any
disagreement, with the differing entries on stderr.
"""

import datetime as dt
import json
import os
import sys

EPOCH = dt.date(1970, 1, 1)


def tables(lake):
    return sorted(
        t for t in os.listdir(lake) if not t.startswith(("_", ".")) and os.path.isdir(os.path.join(lake, t))
    )


def digest(kind, values):
    vals = [v for v in values if v is not None]
    n = len(vals)
    if kind == "int":
        return [n, int(sum(int(v) for v in vals))]
    if kind == "float":
        return [n, float(f"{sum(float(v) for v in vals):.6g}")]
    if kind == "text":
        return [n, sum(len(v) for v in vals), len(set(vals))]
    if kind == "date":
        return [n, sum((v - EPOCH).days for v in vals)]
    if kind == "bool":
        return [n, sum(1 for v in vals if v)]
    raise ValueError(kind)


def us(t):
    assert t.tzinfo is not None, f"naive timestamp {t!r}: the lake stores UTC instants"
    return round(t.astimezone(dt.timezone.utc).timestamp() * 1_000_000)


def summarize(kinds, columns):
    return {name: digest(kinds[name], columns[name]) for name in kinds}


def arrow_kind(t):
    import pyarrow as pa

    if pa.types.is_timestamp(t):
        assert t.unit == "us" and t.tz == "UTC", f"timestamp typed {t}"
        return "int"
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_boolean(t):
        return "bool"
    return "text"


def from_arrow(table):
    import pyarrow as pa

    kinds, columns = {}, {}
    for field, col in zip(table.schema, table.columns):
        kinds[field.name] = arrow_kind(field.type)
        values = col.to_pylist()
        if pa.types.is_timestamp(field.type):
            values = [None if v is None else us(v) for v in values]
        columns[field.name] = values
    assert pa.types.is_date32(table.schema.field("date").type), f"date typed {table.schema.field('date').type}"
    return {"rows": table.num_rows, "columns": summarize(kinds, columns)}


def read_pyarrow(path):
    import pyarrow as pa
    import pyarrow.dataset as pads

    part = pads.partitioning(pa.schema([("date", pa.date32())]), flavor="hive")
    return from_arrow(pads.dataset(path, format="parquet", partitioning=part).to_table())


def read_duckdb(path):
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    rel = con.sql(f"SELECT * FROM read_parquet('{path}/*/*.parquet', hive_partitioning = true)")
    types = dict(zip(rel.columns, [str(t) for t in rel.types]))
    assert types["date"] == "DATE", f"duckdb types date as {types['date']}"
    kinds = {}
    for name, t in types.items():
        if t == "TIMESTAMP WITH TIME ZONE":
            kinds[name] = "ts"
        elif t in ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT"):
            kinds[name] = "int"
        elif t in ("DOUBLE", "FLOAT"):
            kinds[name] = "float"
        elif t == "DATE":
            kinds[name] = "date"
        elif t == "BOOLEAN":
            kinds[name] = "bool"
        elif t == "VARCHAR":
            kinds[name] = "text"
        else:
            raise AssertionError(f"duckdb types {name} as {t}")
    rows = rel.fetchall()
    columns = {n: [r[i] for r in rows] for i, n in enumerate(rel.columns)}
    for n, k in kinds.items():
        if k == "ts":
            columns[n] = [None if v is None else us(v) for v in columns[n]]
            kinds[n] = "int"
    return {"rows": len(rows), "columns": summarize(kinds, columns)}


def read_datafusion(path, name):
    import pyarrow as pa
    from datafusion import SessionContext

    ctx = SessionContext()
    ctx.register_listing_table(
        name, path, table_partition_cols=[("date", pa.date32())], file_extension=".parquet"
    )
    batches = ctx.sql(f'SELECT * FROM "{name}"').collect()
    table = pa.Table.from_batches(batches) if batches else ctx.table(name).to_arrow_table()
    return from_arrow(table)


def spark_session():
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master("local[1]")
        .appName("gridlake-interop")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "1")
        .getOrCreate()
    )


def read_spark(spark, path):
    from pyspark.sql import types as T

    df = spark.read.option("basePath", path).parquet(path)
    kinds = {}
    for f in df.schema.fields:
        t = f.dataType
        if isinstance(t, T.TimestampType):
            kinds[f.name] = "ts"
        elif isinstance(t, (T.LongType, T.IntegerType, T.ShortType, T.ByteType)):
            kinds[f.name] = "int"
        elif isinstance(t, (T.DoubleType, T.FloatType)):
            kinds[f.name] = "float"
        elif isinstance(t, T.DateType):
            kinds[f.name] = "date"
        elif isinstance(t, T.BooleanType):
            kinds[f.name] = "bool"
        elif isinstance(t, T.StringType):
            kinds[f.name] = "text"
        else:
            raise AssertionError(f"spark types {f.name} as {t}")
    assert kinds["date"] == "date", "spark does not see date as a date"
    rows = df.collect()
    columns = {n: [r[n] for r in rows] for n in kinds}
    for n, k in kinds.items():
        if k == "ts":
            # Spark hands back naive datetimes in the session zone (UTC).
            columns[n] = [None if v is None else us(v.replace(tzinfo=dt.timezone.utc)) for v in columns[n]]
            kinds[n] = "int"
    return {"rows": len(rows), "columns": summarize(kinds, columns)}


def main():
    lake = sys.argv[1]
    spark = spark_session()
    spark.sparkContext.setLogLevel("ERROR")
    report, ok = {}, True
    for name in tables(lake):
        path = os.path.join(lake, name)
        got = {
            "duckdb": read_duckdb(path),
            "pyarrow": read_pyarrow(path),
            "datafusion": read_datafusion(path, name),
            "spark": read_spark(spark, path),
        }
        report[name] = got
        base = got["duckdb"]
        for reader, r in got.items():
            if r != base:
                ok = False
                diff = {
                    c: (base["columns"].get(c), r["columns"].get(c))
                    for c in set(base["columns"]) | set(r["columns"])
                    if base["columns"].get(c) != r["columns"].get(c)
                }
                print(f"{name}: {reader} disagrees with duckdb: rows {r['rows']} vs {base['rows']}; {diff}", file=sys.stderr)
    spark.stop()
    print(json.dumps(report))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
