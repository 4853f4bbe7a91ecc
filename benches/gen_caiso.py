#!/usr/bin/env python3
"""Deterministic generator of CAISO OASIS PRC_LMP DAM day files (all-APNodes shape).

Writes one CSV per operating day, laid out like the member of an OASIS SingleZip
response for `queryname=PRC_LMP&market_run_id=DAM&grp_type=ALL_APNODES`:

    INTERVALSTARTTIME_GMT,INTERVALENDTIME_GMT,OPR_DT,OPR_HR,OPR_INTERVAL,NODE_ID_XML,NODE_ID,
    NODE,MARKET_RUN_ID,LMP_TYPE,XML_DATA_ITEM,PNODE_RESMRID,GRP_TYPE,POS,MW,GROUP

Format details copied from a real all-APNodes file (tests/fixtures/real/caiso/):
  * LF line ends, final newline, no quoting, `-00:00` offsets on the GMT timestamps;
  * GRP_TYPE is ALL_APNODES, POS is 0, OPR_INTERVAL is 0, MARKET_RUN_ID is DAM;
  * nodes in name order; per node one block per LMP_TYPE (LMP, MCC, MCE, MCL), the hours of
    a block in shuffled order, GROUP numbering the blocks 1, 2, 3, ...;
  * prices have at most 5 decimals, trailing zeros dropped, zero written as `0`;
    LMP = MCE + MCC + MCL exactly (to the 5th decimal); most MCC values are 0;
  * OPR_HR is the hour ending in Pacific prevailing time: 23 hours on the spring-forward day
    (no HE3), 25 on the fall-back day, where the repeated hour (the second 01:00) is HE 25.

Output is a pure function of (seed, date, node count): re-running writes identical bytes.
Standard library only. Usage:

    gen_caiso.py --out DIR --start 2024-01-01 --days 30 --nodes 1700 [--zip] [--seed 42]
"""

import argparse
import datetime as dt
import math
import os
import random
import sys
import time
import zipfile
from zoneinfo import ZoneInfo

PACIFIC = ZoneInfo("America/Los_Angeles")
UTC = dt.timezone.utc
ONE_HOUR = dt.timedelta(hours=1)

HEADER = (
    "INTERVALSTARTTIME_GMT,INTERVALENDTIME_GMT,OPR_DT,OPR_HR,OPR_INTERVAL,NODE_ID_XML,NODE_ID,"
    "NODE,MARKET_RUN_ID,LMP_TYPE,XML_DATA_ITEM,PNODE_RESMRID,GRP_TYPE,POS,MW,GROUP\n"
)
# (LMP_TYPE, XML_DATA_ITEM) in the order OASIS writes the blocks of one node.
LMP_TYPES = (
    ("LMP", "LMP_PRC"),
    ("MCC", "LMP_CONG_PRC"),
    ("MCE", "LMP_ENE_PRC"),
    ("MCL", "LMP_LOSS_PRC"),
)
SCALE = 100_000  # prices are handled as integers in units of 1e-5 $/MWh


# ----------------------------------------------------------------------------- calendar


def day_hours(day):
    """The (start_utc, end_utc, opr_hr) hours of operating day `day` (a date), in time order.

    The operating day runs from local midnight to the next local midnight in
    America/Los_Angeles, so it has 23, 24 or 25 hours. OPR_HR is the local hour ending;
    the second local 01:00 hour of the fall-back day is labelled 25.
    """
    start = dt.datetime(day.year, day.month, day.day, tzinfo=PACIFIC).astimezone(UTC)
    nxt = day + dt.timedelta(days=1)
    end = dt.datetime(nxt.year, nxt.month, nxt.day, tzinfo=PACIFIC).astimezone(UTC)
    hours, seen, t = [], set(), start
    while t < end:
        he = t.astimezone(PACIFIC).hour + 1
        if he in seen:
            he = 25
        seen.add(he)
        hours.append((t, t + ONE_HOUR, he))
        t += ONE_HOUR
    return hours


def rows_for_day(day, nodes):
    return len(day_hours(day)) * nodes * len(LMP_TYPES)


def file_name(day, ext="csv"):
    """OASIS member name: <start>_<end>_PRC_LMP_DAM_<generated stamp>_v1.csv."""
    nxt = day + dt.timedelta(days=1)
    return f"{day:%Y%m%d}_{nxt:%Y%m%d}_PRC_LMP_DAM_{day:%Y%m%d}_00_00_00_v1.{ext}"


# ----------------------------------------------------------------------------- nodes

_CONS = "BCDFGHKLMNPRSTVWYZ"
_VOW = "AEIOU"
_UNITS = (
    "UNIT", "UNITS", "UNIT1", "UNIT2", "PL1X2", "PL1X3", "PL2X3", "PL4X5", "SOLAR", "SOLAR1",
    "SOLAR2", "WIND", "WIND1", "GEN", "TOT_GEN", "QF", "HYDRO", "CT1", "CT2", "STG", "BESS1",
    "BIOMS", "GEO1", "PEAKER", "COGEN", "LOAD", "EXESWD", "ESS1",
)
_BAAS = ("AZPS", "BANC", "IPCO", "NEVP", "PACE", "PACW", "PGE", "PSEI", "SCL", "TIDC", "BCHA", "LADWP")


def _word(rng, lo, hi):
    n = rng.randint(lo, hi)
    return "".join(rng.choice(_CONS if i % 2 == 0 else _VOW) if rng.random() < 0.8
                   else rng.choice(_CONS) for i in range(n))


def _unit(rng):
    if rng.random() < 0.55:
        return rng.choice(_UNITS)
    return _word(rng, 2, 5) + str(rng.randint(1, 12))


def _node_name(rng):
    r = rng.random()
    stn = _word(rng, 4, 6)
    d = rng.randint(1, 7)
    if r < 0.60:      # CARBOU_7_PL2X3-APND
        name = f"{stn}_{d}_{_unit(rng)}"
    elif r < 0.70:    # CDWR07_2_GEN-APND
        name = f"{stn[:4]}{rng.randint(1, 99):02d}_{d}_{_unit(rng)}"
    elif r < 0.85:    # SCE_ALAMIT_2_PL1X3-APND style, with a balancing-area prefix
        name = f"{rng.choice(_BAAS)}_{stn}_{d}_{_unit(rng)}"
    elif r < 0.91:    # AZPS_CRYSTAL500_NEVP_E_EIMBASE-APND
        name = (f"{rng.choice(_BAAS)}_{stn}{rng.randint(1, 500)}_{rng.choice(_BAAS)}"
                f"_{rng.choice('EI')}_EIMBASE")
    elif r < 0.97:    # USMAG1_NCL-APND
        name = f"{stn}{rng.randint(1, 3)}_{_word(rng, 2, 4)}"
    else:             # real names carry spaces and dots too: W TRACY_7_UNITS 8-10-APND
        name = f"{rng.choice('NSEW')} {stn}_{d}_UNITS {rng.randint(1, 9)}-{rng.randint(10, 12)}"
    return name + "-APND"


def node_table(nodes, seed):
    """`nodes` distinct node names (sorted, as OASIS writes them) with fixed price traits."""
    rng = random.Random(f"gen_caiso:{seed}:nodes")
    names = set()
    while len(names) < nodes:
        names.add(_node_name(rng))
    table = []
    for name in sorted(names):
        loss = max(-0.12, min(0.12, rng.gauss(0.0, 0.035)))   # MCL = loss * MCE
        cong = rng.gauss(0.0, 0.6) if rng.random() < 0.13 else 0.0  # MCC = cong * shadow
        energy = rng.gauss(0.0, 0.08) if rng.random() < 0.04 else 0.0  # EIM nodes differ in MCE
        # Everything but the price is constant per (node, LMP_TYPE): pre-join it.
        mids = [f"{name},{name},{name},DAM,{t},{item},{name},ALL_APNODES,0" for t, item in LMP_TYPES]
        table.append((mids, loss, cong, energy))
    return table


# ----------------------------------------------------------------------------- prices


def fmt_price(v):
    """Integer 1e-5 units -> OASIS text: at most 5 decimals, no trailing zeros, 0 as `0`."""
    if v == 0:
        return "0"
    sign = "-" if v < 0 else ""
    q, r = divmod(abs(v), SCALE)
    if r == 0:
        return f"{sign}{q}"
    return f"{sign}{q}.{r:05d}".rstrip("0")


def system_prices(day, hours, rng):
    """Per hour: (system energy price $/MWh, congestion shadow level >= 0)."""
    season = math.cos(2 * math.pi * (day.timetuple().tm_yday - 15) / 365.25)
    base = 38.0 + 8.0 * season + rng.gauss(0.0, 4.0)
    out = []
    for start, _end, _he in hours:
        h = start.astimezone(PACIFIC).hour + 0.5
        duck = (-14.0 * math.exp(-(((h - 12.5) / 3.0) ** 2))   # solar trough
                + 22.0 * math.exp(-(((h - 19.5) / 2.0) ** 2))  # evening ramp
                + 5.0 * math.exp(-(((h - 7.5) / 1.5) ** 2)))   # morning bump
        energy = base + duck * (1.2 - 0.4 * season) + rng.gauss(0.0, 2.5)
        shadow = 0.0 if rng.random() < 0.35 else rng.expovariate(1 / 12.0)
        out.append((energy, shadow))
    return out


# ----------------------------------------------------------------------------- writer


def day_csv(day, table, seed):
    """The whole CSV text of one operating day."""
    rng = random.Random(f"gen_caiso:{seed}:{day.isoformat()}")
    hours = day_hours(day)
    opr_dt = day.isoformat()
    prefixes = [
        f"{s:%Y-%m-%dT%H:%M:%S}-00:00,{e:%Y-%m-%dT%H:%M:%S}-00:00,{opr_dt},{he},0"
        for s, e, he in hours
    ]
    system = system_prices(day, hours, rng)
    order = list(range(len(hours)))
    lines = [HEADER]
    group = 0
    for mids, loss, cong, energy in table:
        mce = [round(e * (1.0 + energy) * SCALE) for e, _ in system]
        mcc = [round(cong * s * SCALE) for _, s in system] if cong else [0] * len(hours)
        mcl = [round(m * loss) for m in mce]
        lmp = [a + b + c for a, b, c in zip(mce, mcc, mcl)]
        for mid, values in zip(mids, (lmp, mcc, mce, mcl)):
            group += 1
            tail = f",{group}\n"
            rng.shuffle(order)
            lines.extend(f"{prefixes[i]},{mid},{fmt_price(values[i])}{tail}" for i in order)
    return "".join(lines)


def _write_atomic(path, data, mode="w"):
    tmp = path + ".tmp"
    with open(tmp, mode, newline="" if mode == "w" else None) as f:
        f.write(data)
    os.replace(tmp, path)


def generate(out, start, days, nodes, seed=42, make_zip=False, skip_existing=False, log=None):
    """Write `days` day files from `start`; returns [(csv_path, zip_path or None, rows)]."""
    os.makedirs(out, exist_ok=True)
    table = None
    result = []
    for k in range(days):
        day = start + dt.timedelta(days=k)
        csv_path = os.path.join(out, file_name(day, "csv"))
        zip_path = os.path.join(out, file_name(day, "zip")) if make_zip else None
        rows = rows_for_day(day, nodes)
        have = os.path.exists(csv_path) and (zip_path is None or os.path.exists(zip_path))
        if not (skip_existing and have):
            t0 = time.perf_counter()
            if table is None:
                table = node_table(nodes, seed)
            text = day_csv(day, table, seed)
            _write_atomic(csv_path, text)
            if zip_path:
                info = zipfile.ZipInfo(os.path.basename(csv_path), date_time=(day.year, day.month, day.day, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                tmp = zip_path + ".tmp"
                with zipfile.ZipFile(tmp, "w") as zf:
                    zf.writestr(info, text.encode("ascii"), compresslevel=6)
                os.replace(tmp, zip_path)
            if log:
                log(f"  generated {os.path.basename(csv_path)}: {rows:,} rows in {time.perf_counter() - t0:.2f}s")
        result.append((csv_path, zip_path, rows))
    return result


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--start", default="2024-01-01", type=dt.date.fromisoformat, help="first operating day")
    p.add_argument("--days", default=30, type=int)
    p.add_argument("--nodes", default=1700, type=int)
    p.add_argument("--seed", default=42, type=int)
    p.add_argument("--zip", action="store_true", help="also write a .zip (deflate) holding each CSV")
    a = p.parse_args(argv)
    t0 = time.perf_counter()
    files = generate(a.out, a.start, a.days, a.nodes, a.seed, a.zip, log=lambda m: print(m, file=sys.stderr))
    total = sum(r for _, _, r in files)
    print(f"{len(files)} day files, {total:,} rows, {a.nodes} nodes -> {a.out} ({time.perf_counter() - t0:.1f}s)")


if __name__ == "__main__":
    main()
