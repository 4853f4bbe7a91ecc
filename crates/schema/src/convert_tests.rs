//! The converter's test suite: the real fixtures under `tests/fixtures/real/`, synthetic malformed inputs
//! built from the real headers with small edits, and daylight-saving days in the CAISO and NYISO shapes.
//!
//! Every input goes through [`convert`], which pushes it whole and in chunks of 1, 7 and 4096 bytes (so a
//! BOM, a quoted field and a CRLF are split across pushes), requires identical results from all of them, and
//! checks the accounting invariants before the case checks its own expectations.

use std::sync::Arc;

use arrow::array::{AsArray, RecordBatch};
use arrow::compute::concat_batches;
use arrow::datatypes::{
    DataType, Date32Type, Float64Type, Int16Type, Int64Type, TimeUnit, TimestampMicrosecondType,
};
use chrono::{NaiveDate, TimeZone, Timelike};

use crate::{
    Catalog, ConvertError, ConvertSummary, Converter, Dataset, DayBatch, InputContext,
    RecordCounts, Reject, date_to_day,
};

const CAISO_25_DAYS: &[u8] = include_bytes!(
    "../../../tests/fixtures/real/caiso/20181013_20181107_PRC_LMP_DAM_20200511_16_08_16_v1.csv"
);
const CAISO_1_DAY: &[u8] = include_bytes!(
    "../../../tests/fixtures/real/caiso/20200510_20200511_PRC_LMP_DAM_20200510_10_49_47_v1.csv"
);
const NYISO_RT: &[u8] = include_bytes!("../../../tests/fixtures/real/nyiso/lmp.csv");
const CAISO_TOML: &str = include_str!("../../../schemas/caiso_lmp_dam.toml");

/// Input name given to every converter in these tests.
pub(crate) const FILE: &str = "input.csv";
pub(crate) const HOUR: i64 = 3_600_000_000;

pub(crate) type Out = (ConvertSummary, Vec<DayBatch>, Vec<Reject>);

// ---------------------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------------------

pub(crate) fn dataset(name: &str) -> Arc<Dataset> {
    Catalog::builtin().unwrap().get(name).unwrap()
}

/// Runs one converter over `input` pushed in chunks of `chunk` bytes. Batches and rejects are taken after
/// every push (as a streaming caller does) and merged with what `finish` returns.
fn run_chunked(
    ds: &Arc<Dataset>,
    input: &[u8],
    chunk: usize,
    file: &str,
    ctx: &InputContext,
) -> Result<Out, ConvertError> {
    let mut conv = Converter::with_context(Arc::clone(ds), file, ctx.clone());
    let mut push_error: Option<ConvertError> = None;
    let mut batches = Vec::new();
    let mut rejects = Vec::new();
    for piece in input.chunks(chunk) {
        match conv.push(piece) {
            Ok(()) => assert!(push_error.is_none(), "push succeeded after an error"),
            // After an error every further push repeats it.
            Err(e) => match &push_error {
                Some(first) => assert_eq!(first, &e),
                None => push_error = Some(e),
            },
        }
        batches.extend(conv.take_batches());
        rejects.extend(conv.take_rejects());
    }
    let result = conv.finish();
    if let Some(e) = push_error {
        assert_eq!(
            result.as_ref().err(),
            Some(&e),
            "finish must return the error push returned"
        );
    }
    let (summary, more_batches, more_rejects) = result?;
    batches.extend(more_batches);
    batches.sort_by_key(|b| (b.day, b.first_row));
    rejects.extend(more_rejects);
    Ok((summary, batches, rejects))
}

/// Converts `input` whole and in chunks of 1, 7 and 4096 bytes; all results must be identical. Checks the
/// accounting invariants and returns the result.
fn convert(ds: &Arc<Dataset>, input: &[u8]) -> Result<Out, ConvertError> {
    convert_in(ds, input, FILE, &InputContext::default())
}

/// [`convert`] for an input named `file`, with the caller's context `ctx`.
pub(crate) fn convert_in(
    ds: &Arc<Dataset>,
    input: &[u8],
    file: &str,
    ctx: &InputContext,
) -> Result<Out, ConvertError> {
    let whole = run_chunked(ds, input, usize::MAX, file, ctx);
    for chunk in [1, 7, 4096] {
        let other = run_chunked(ds, input, chunk, file, ctx);
        match (&whole, &other) {
            (Ok(a), Ok(b)) => assert_same(a, b, &format!("chunk size {chunk}")),
            (Err(a), Err(b)) => assert_eq!(a, b, "chunk size {chunk}"),
            (a, b) => panic!(
                "chunk size {chunk}: whole input gave ok={}, chunked gave ok={}",
                a.is_ok(),
                b.is_ok()
            ),
        }
    }
    if let Ok(out) = &whole {
        check_invariants(ds, out, file);
    }
    whole
}

pub(crate) fn convert_ok(ds: &Arc<Dataset>, input: &[u8]) -> Out {
    match convert(ds, input) {
        Ok(out) => out,
        Err(e) => panic!("conversion failed: {e}"),
    }
}

pub(crate) fn convert_err(ds: &Arc<Dataset>, input: &[u8]) -> ConvertError {
    match convert(ds, input) {
        Ok((s, _, _)) => panic!("expected an error, got {:?}", s.counts),
        Err(e) => e,
    }
}

/// Two results are the same: summary, batches (day, first row, contents) and rejects.
fn assert_same(a: &Out, b: &Out, what: &str) {
    assert_eq!(
        format!("{:?}", a.0),
        format!("{:?}", b.0),
        "{what}: summary"
    );
    assert_eq!(a.1.len(), b.1.len(), "{what}: number of batches");
    for (x, y) in a.1.iter().zip(&b.1) {
        assert_eq!((x.day, x.first_row), (y.day, y.first_row), "{what}");
        assert_eq!(x.batch, y.batch, "{what}: batch of day {}", x.day);
    }
    assert_eq!(a.2, b.2, "{what}: rejects");
}

fn check_invariants(ds: &Dataset, (s, batches, rejects): &Out, file: &str) {
    assert_eq!(s.file, file);
    assert!(s.counts.balanced(), "unbalanced totals {:?}", s.counts);
    let mut sum = RecordCounts::default();
    for (day, o) in &s.days {
        assert!(o.counts.balanced(), "unbalanced day {day}: {:?}", o.counts);
        sum.add(&o.counts);
        let in_batches: usize = batches
            .iter()
            .filter(|b| b.day == *day)
            .map(|b| b.batch.num_rows())
            .sum();
        assert_eq!(
            in_batches as u64,
            o.rows + o.superseded_rows.len() as u64,
            "day {day}: batch rows = kept rows + superseded rows"
        );
    }
    assert_eq!(sum.read + s.undated_rejects, s.counts.read, "per-day read");
    assert_eq!(sum.written, s.counts.written, "per-day written");
    assert_eq!(
        sum.rejected + s.undated_rejects,
        s.counts.rejected,
        "per-day rejected"
    );
    assert_eq!(sum.superseded, s.counts.superseded, "per-day superseded");
    assert_eq!(
        rejects.len() as u64,
        s.counts.rejected,
        "one Reject per rejected record"
    );
    assert_eq!(
        rejects.iter().filter(|r| r.day.is_none()).count() as u64,
        s.undated_rejects
    );
    for r in rejects {
        assert_eq!(r.file, file);
        assert!(r.line >= 1);
        if let Some(d) = r.day {
            assert!(s.days.contains_key(&d), "reject day {d} has no DayOutcome");
        }
    }
    for b in batches {
        assert_eq!(b.batch.schema().as_ref(), ds.arrow_schema().as_ref());
        assert!(s.days.contains_key(&b.day));
        assert!(b.batch.num_rows() > 0);
    }
}

pub(crate) fn assert_counts(s: &ConvertSummary, written: u64, rejected: u64) {
    assert_eq!(
        s.counts,
        RecordCounts {
            read: written + rejected,
            written,
            rejected,
            superseded: 0
        }
    );
}

pub(crate) fn only_reject(rejects: &[Reject]) -> &Reject {
    assert_eq!(rejects.len(), 1, "{rejects:#?}");
    &rejects[0]
}

pub(crate) fn assert_reject(r: &Reject, line: u64, column: Option<&str>, phrase: &str) {
    assert_eq!(r.file, FILE);
    assert_eq!(r.line, line, "{r:#?}");
    assert_eq!(r.column.as_deref(), column, "{r:#?}");
    assert!(
        r.reason.contains(phrase),
        "reason `{}` does not contain `{phrase}`",
        r.reason
    );
}

pub(crate) fn table(ds: &Dataset, batches: &[DayBatch]) -> RecordBatch {
    concat_batches(ds.arrow_schema(), batches.iter().map(|b| &b.batch)).unwrap()
}

pub(crate) fn ts_col(t: &RecordBatch, name: &str) -> Vec<i64> {
    let a = t.column_by_name(name).unwrap();
    assert_eq!(
        a.data_type(),
        &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
    );
    a.as_primitive::<TimestampMicrosecondType>()
        .values()
        .to_vec()
}

pub(crate) fn str_col(t: &RecordBatch, name: &str) -> Vec<Option<String>> {
    t.column_by_name(name)
        .unwrap()
        .as_string::<i32>()
        .iter()
        .map(|v| v.map(str::to_string))
        .collect()
}

pub(crate) fn i16_col(t: &RecordBatch, name: &str) -> Vec<Option<i16>> {
    t.column_by_name(name)
        .unwrap()
        .as_primitive::<Int16Type>()
        .iter()
        .collect()
}

pub(crate) fn i64_col(t: &RecordBatch, name: &str) -> Vec<Option<i64>> {
    t.column_by_name(name)
        .unwrap()
        .as_primitive::<Int64Type>()
        .iter()
        .collect()
}

pub(crate) fn f64_col(t: &RecordBatch, name: &str) -> Vec<Option<f64>> {
    t.column_by_name(name)
        .unwrap()
        .as_primitive::<Float64Type>()
        .iter()
        .collect()
}

/// UTC micros of an RFC 3339 text.
pub(crate) fn utc(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap()
        .timestamp_micros()
}

pub(crate) fn day(s: &str) -> i32 {
    date_to_day(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap())
}

// ---------------------------------------------------------------------------------------------------------
// Synthetic inputs in the real formats
// ---------------------------------------------------------------------------------------------------------

/// The real PRC_LMP v1 header (first line of the fixtures).
const CAISO_HEADER: [&str; 16] = [
    "INTERVALSTARTTIME_GMT",
    "INTERVALENDTIME_GMT",
    "OPR_DT",
    "OPR_HR",
    "OPR_INTERVAL",
    "NODE_ID_XML",
    "NODE_ID",
    "NODE",
    "MARKET_RUN_ID",
    "LMP_TYPE",
    "XML_DATA_ITEM",
    "PNODE_RESMRID",
    "GRP_TYPE",
    "POS",
    "MW",
    "GROUP",
];
const CAISO_NODE: &str = "0096WD_7_N001";
const LMP_TYPES: [(&str, &str); 4] = [
    ("LMP", "LMP_PRC"),
    ("MCC", "LMP_CONG_PRC"),
    ("MCE", "LMP_ENE_PRC"),
    ("MCL", "LMP_LOSS_PRC"),
];

type Rows = Vec<Vec<String>>;

fn fmt_gmt(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S-00:00")
        .to_string()
}

/// Every row of one Pacific operating day as OASIS writes it: one row per hour and LMP type, hour-major;
/// on the fall-back day the repeated 01:00 hour is labelled OPR_HR 25, on the spring-forward day OPR_HR 3
/// is absent.
fn caiso_day(date: &str) -> Rows {
    let d = NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap();
    let la = chrono_tz::America::Los_Angeles;
    let midnight = |d: NaiveDate| {
        la.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap())
            .earliest()
            .unwrap()
            .timestamp_micros()
    };
    let (start, end) = (midnight(d), midnight(d.succ_opt().unwrap()));
    let mut seen_hours = Vec::new();
    let mut rows = Vec::new();
    let mut t = start;
    while t < end {
        let local_hour = chrono::DateTime::from_timestamp_micros(t)
            .unwrap()
            .with_timezone(&la)
            .hour();
        let hr = if seen_hours.contains(&local_hour) {
            25
        } else {
            seen_hours.push(local_hour);
            local_hour + 1
        };
        for (ty, item) in LMP_TYPES {
            let group = rows.len() + 1;
            rows.push(
                [
                    fmt_gmt(t),
                    fmt_gmt(t + HOUR),
                    date.to_string(),
                    hr.to_string(),
                    "0".into(),
                    CAISO_NODE.into(),
                    CAISO_NODE.into(),
                    CAISO_NODE.into(),
                    "DAM".into(),
                    ty.into(),
                    item.into(),
                    CAISO_NODE.into(),
                    "ALL".into(),
                    "1".into(),
                    format!("{}.{:05}", 20 + group % 17, group * 7919 % 100_000),
                    group.to_string(),
                ]
                .to_vec(),
            );
        }
        t += HOUR;
    }
    rows
}

/// The first `n` rows of operating day 2018-10-13 (a plain 24-hour day); row `i` is on line `i + 2`.
fn caiso_rows(n: usize) -> Rows {
    let mut rows = caiso_day("2018-10-13");
    rows.truncate(n);
    rows
}

fn col_index(header: &[&str], name: &str) -> usize {
    header.iter().position(|h| *h == name).unwrap()
}

/// Replaces the raw CSV text of one field of a CAISO row.
fn set(row: &mut [String], column: &str, raw: &str) {
    row[col_index(&CAISO_HEADER, column)] = raw.to_string();
}

fn render(header: &[&str], rows: &[Vec<String>]) -> Vec<u8> {
    let mut s = header.join(",");
    s.push('\n');
    for r in rows {
        s.push_str(&r.join(","));
        s.push('\n');
    }
    s.into_bytes()
}

fn caiso_csv(rows: &[Vec<String>]) -> Vec<u8> {
    render(&CAISO_HEADER, rows)
}

/// Drops one column from the header and every row.
fn without_column(rows: &[Vec<String>], column: &str) -> (Vec<&'static str>, Rows) {
    let i = col_index(&CAISO_HEADER, column);
    let mut header = CAISO_HEADER.to_vec();
    header.remove(i);
    let rows = rows
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.remove(i);
            r
        })
        .collect();
    (header, rows)
}

/// The real header of NYISO's zonal LBMP files (quoted, as NYISO writes it).
const NYISO_HEADER: &str = "\"Time Stamp\",\"Name\",\"PTID\",\"LBMP ($/MWHr)\",\"Marginal Cost Losses ($/MWHr)\",\"Marginal Cost Congestion ($/MWHr)\"";
/// The 15 zones and their PTIDs, in file order (from the real lmp.csv).
const NYISO_ZONES: [(&str, i64); 15] = [
    ("CAPITL", 61757),
    ("CENTRL", 61754),
    ("DUNWOD", 61760),
    ("GENESE", 61753),
    ("H Q", 61844),
    ("HUD VL", 61758),
    ("LONGIL", 61762),
    ("MHK VL", 61756),
    ("MILLWD", 61759),
    ("N.Y.C.", 61761),
    ("NORTH", 61755),
    ("NPX", 61845),
    ("O H", 61846),
    ("PJM", 61847),
    ("WEST", 61752),
];

/// A NYISO-shaped file (CRLF, quoted strings): for each time label in order, one row per zone.
fn nyiso_csv(labels: &[String]) -> Vec<u8> {
    let mut s = String::from(NYISO_HEADER);
    s.push_str("\r\n");
    for (i, label) in labels.iter().enumerate() {
        for (z, (name, ptid)) in NYISO_ZONES.iter().enumerate() {
            s.push_str(&format!(
                "\"{label}\",\"{name}\",{ptid},{}.{:02},1.69,-0.{:02}\r\n",
                20 + i,
                z,
                z
            ));
        }
    }
    s.into_bytes()
}

fn hourly_labels(date_mdy: &str, hours: &[u32]) -> Vec<String> {
    hours
        .iter()
        .map(|h| format!("{date_mdy} {h:02}:00:00"))
        .collect()
}

// ---------------------------------------------------------------------------------------------------------
// Real fixtures
// ---------------------------------------------------------------------------------------------------------

#[test]
fn real_caiso_25_operating_days() {
    let ds = dataset("caiso_lmp_dam");
    let (s, batches, rejects) = convert_ok(&ds, CAISO_25_DAYS);
    assert_counts(&s, 2404, 0);
    assert!(rejects.is_empty());
    assert_eq!(s.undated_rejects, 0);
    assert_eq!(s.header.found, CAISO_HEADER);
    assert!(s.header.absent.is_empty() && s.header.ignored.is_empty());
    assert_eq!(s.days.len(), 25);
    assert_eq!(s.days.keys().next(), Some(&day("2018-10-13")));
    assert_eq!(s.days.keys().last(), Some(&day("2018-11-06")));
    let fall_back = day("2018-11-04");
    for (d, o) in &s.days {
        let want = if *d == fall_back { 100 } else { 96 };
        assert_eq!(o.rows, want, "day {d}");
        assert_eq!(
            o.counts,
            RecordCounts {
                read: want,
                written: want,
                rejected: 0,
                superseded: 0
            }
        );
        assert!(o.superseded_rows.is_empty());
        let c = ds.completeness().unwrap();
        assert_eq!(c.expected_rows(*d, 4), want, "completeness of day {d}");
    }
    for b in &batches {
        assert_eq!(b.batch.schema(), *ds.arrow_schema());
        let opr_dt = b.batch.column_by_name("opr_dt").unwrap();
        assert!(
            opr_dt
                .as_primitive::<Date32Type>()
                .iter()
                .all(|v| v == Some(b.day)),
            "every row sits in the partition of its OPR_DT"
        );
    }
    let t = table(&ds, &batches);
    let start = ts_col(&t, "interval_start");
    let end = ts_col(&t, "interval_end");
    assert!(start.iter().zip(&end).all(|(s, e)| e - s == HOUR));
    // The first data row of the file, exactly.
    assert_eq!(start[0], utc("2018-10-13T11:00:00Z"));
    // The repeated hour of the fall-back day: OPR_HR 25, 09:00Z–10:00Z, one row per LMP type.
    let fb = batches.iter().find(|b| b.day == fall_back).unwrap();
    let hr = i16_col(&fb.batch, "opr_hr");
    let fb_start = ts_col(&fb.batch, "interval_start");
    let at = |h: i16| -> Vec<i64> {
        let mut v: Vec<i64> = hr
            .iter()
            .zip(&fb_start)
            .filter(|(x, _)| **x == Some(h))
            .map(|(_, t)| *t)
            .collect();
        v.dedup();
        v
    };
    assert_eq!(at(25), vec![utc("2018-11-04T09:00:00Z")]);
    assert_eq!(hr.iter().filter(|h| **h == Some(25)).count(), 4);
    assert_eq!(at(1), vec![utc("2018-11-04T07:00:00Z")]);
    assert_eq!(at(2), vec![utc("2018-11-04T08:00:00Z")]);
    assert_eq!(at(3), vec![utc("2018-11-04T10:00:00Z")]);
    let mut distinct = fb_start.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), 25, "25 distinct hours on the fall-back day");
    // Values and nullable columns are read as written.
    let price = f64_col(&t, "price");
    assert_eq!(price[0], Some(34.74459));
    assert!(
        str_col(&t, "node")
            .iter()
            .all(|n| n.as_deref() == Some(CAISO_NODE))
    );
    assert_eq!(i64_col(&t, "group")[0], Some(1));
}

#[test]
fn real_caiso_single_day() {
    let ds = dataset("caiso_lmp_dam");
    let (s, batches, _) = convert_ok(&ds, CAISO_1_DAY);
    assert_counts(&s, 96, 0);
    assert_eq!(
        s.days.keys().copied().collect::<Vec<_>>(),
        [day("2020-05-10")]
    );
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].first_row, 0);
    let mut starts = ts_col(&batches[0].batch, "interval_start");
    starts.sort_unstable();
    starts.dedup();
    // 24 hours from 07:00Z (PDT midnight); the file is not sorted by time.
    assert_eq!(starts.len(), 24);
    assert_eq!(starts[0], utc("2020-05-10T07:00:00Z"));
    assert_eq!(starts[23], utc("2020-05-11T06:00:00Z"));
}

#[test]
fn real_nyiso_realtime_zonal() {
    let ds = dataset("nyiso_lbmp_rt_zonal");
    let (s, batches, rejects) = convert_ok(&ds, NYISO_RT);
    assert_counts(&s, 45, 0);
    assert!(rejects.is_empty());
    assert_eq!(
        s.days.keys().copied().collect::<Vec<_>>(),
        [day("2016-02-18")]
    );
    assert_eq!(
        s.header.found,
        [
            "Time Stamp",
            "Name",
            "PTID",
            "LBMP ($/MWHr)",
            "Marginal Cost Losses ($/MWHr)",
            "Marginal Cost Congestion ($/MWHr)"
        ]
    );
    let t = table(&ds, &batches);
    let names = str_col(&t, "zone_name");
    let ptids = i64_col(&t, "ptid");
    for (i, (name, ptid)) in NYISO_ZONES.iter().enumerate() {
        assert_eq!(names[i].as_deref(), Some(*name), "names kept exactly");
        assert_eq!(ptids[i], Some(*ptid));
    }
    assert!(names.iter().any(|n| n.as_deref() == Some("HUD VL")));
    assert!(names.iter().any(|n| n.as_deref() == Some("N.Y.C.")));
    // February: Eastern Standard Time, so the instant is the label + 5 h.
    let starts = ts_col(&t, "interval_start");
    for (i, minute) in [15, 30, 45].iter().enumerate() {
        let want = utc(&format!("2016-02-18T05:{minute}:00Z"));
        assert!(starts[i * 15..(i + 1) * 15].iter().all(|s| *s == want));
    }
    assert_eq!(f64_col(&t, "lbmp")[0], Some(21.53));
    assert_eq!(f64_col(&t, "marginal_cost_losses")[0], Some(1.69));
    assert_eq!(f64_col(&t, "marginal_cost_congestion")[0], Some(0.0));
}

#[test]
fn real_nyiso_line_numbers_count_the_leading_blank_line() {
    // lmp.csv starts with an empty line: the header is line 2 and the n-th data row is line n + 2.
    let ds = dataset("nyiso_lbmp_rt_zonal");
    let text = String::from_utf8(NYISO_RT.to_vec()).unwrap();
    let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    assert_eq!(lines[0], "");
    assert!(lines[11].contains("\"N.Y.C.\",61761,21.85,"));
    lines[11] = lines[11].replace(",21.85,", ",x21.85,");
    // The last line has no newline; make it bad too.
    let last = lines.len() - 1;
    lines[last] = lines[last].replace("\"WEST\",61752", "\"WEST\",617x52");
    let input = lines.join("\n");
    let (s, _, rejects) = convert_ok(&ds, input.as_bytes());
    assert_counts(&s, 43, 2);
    assert_reject(
        &rejects[0],
        12,
        Some("LBMP ($/MWHr)"),
        "is not a valid number",
    );
    assert_reject(&rejects[1], 47, Some("PTID"), "is not a valid integer");
    assert_eq!(rejects[1].value.as_deref(), Some("617x52"));
    // The time stamp was readable, so the reject knows its day.
    assert_eq!(rejects[0].day, Some(day("2016-02-18")));
    assert_eq!(s.undated_rejects, 0);
}

// ---------------------------------------------------------------------------------------------------------
// Synthetic malformed inputs (CAISO header unless noted)
// ---------------------------------------------------------------------------------------------------------

#[test]
fn bad_number_in_mw() {
    let ds = dataset("caiso_lmp_dam");
    let mut rows = caiso_rows(8);
    set(&mut rows[2], "MW", "12.3.4");
    let (s, batches, rejects) = convert_ok(&ds, &caiso_csv(&rows));
    assert_counts(&s, 7, 1);
    let r = only_reject(&rejects);
    assert_reject(r, 4, Some("MW"), "`12.3.4` is not a valid number");
    assert_eq!(r.value.as_deref(), Some("12.3.4"));
    assert_eq!(r.raw, rows[2].join(","));
    assert_eq!(r.day, Some(day("2018-10-13")));
    assert_eq!(s.days[&day("2018-10-13")].counts.rejected, 1);
    assert_eq!(table(&ds, &batches).num_rows(), 7);
}

#[test]
fn empty_required_field_rejected_empty_nullable_field_is_null() {
    let ds = dataset("caiso_lmp_dam");
    let mut rows = caiso_rows(6);
    set(&mut rows[1], "NODE", "");
    set(&mut rows[3], "NODE_ID", "");
    set(&mut rows[4], "POS", "  ");
    let (s, batches, rejects) = convert_ok(&ds, &caiso_csv(&rows));
    assert_counts(&s, 5, 1);
    assert_reject(
        only_reject(&rejects),
        3,
        Some("NODE"),
        "empty value in required column",
    );
    let t = table(&ds, &batches);
    assert_eq!(str_col(&t, "node_id")[2], None);
    assert_eq!(i16_col(&t, "pos")[3], None);
    assert_eq!(i16_col(&t, "pos")[0], Some(1));
}

#[test]
fn short_row() {
    let ds = dataset("caiso_lmp_dam");
    let mut rows = caiso_rows(4);
    rows[1].truncate(10);
    let (s, _, rejects) = convert_ok(&ds, &caiso_csv(&rows));
    assert_counts(&s, 3, 1);
    let r = only_reject(&rejects);
    // The column named is the first one the row lacks.
    assert_reject(r, 3, Some("XML_DATA_ITEM"), "short row");
    assert!(r.reason.contains("row has 10 fields, header has 16"));
    assert_eq!(r.value, None);
    assert_eq!(r.day, None);
    assert_eq!(s.undated_rejects, 1);
}

#[test]
fn long_rows_and_a_tolerated_trailing_delimiter() {
    let ds = dataset("caiso_lmp_dam");
    let mut rows = caiso_rows(4);
    rows[0].push("surplus".into());
    // A 30-field row against the 16-field header.
    rows[2].extend((0..14).map(|i| i.to_string()));
    // One trailing delimiter (an empty 17th field) is tolerated.
    rows[3].push(String::new());
    let (s, _, rejects) = convert_ok(&ds, &caiso_csv(&rows));
    assert_counts(&s, 2, 2);
    assert_reject(&rejects[0], 2, None, "long row");
    assert!(
        rejects[0]
            .reason
            .contains("row has 17 fields, header has 16")
    );
    assert_reject(
        &rejects[1],
        4,
        None,
        "row has 30 fields, header has 16 (long row)",
    );
}

#[test]
fn utf8_bom_gives_the_same_output() {
    let ds = dataset("caiso_lmp_dam");
    let mut rows = caiso_rows(12);
    set(&mut rows[5], "MW", "oops");
    let plain = caiso_csv(&rows);
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(&plain);
    let a = convert_ok(&ds, &plain);
    let b = convert_ok(&ds, &bom);
    assert_same(&a, &b, "BOM vs no BOM");
    assert_eq!(b.0.header.found[0], "INTERVALSTARTTIME_GMT");
    assert_reject(only_reject(&b.2), 7, Some("MW"), "not a valid number");
    // The real single-day file with a BOM in front, too.
    let mut real = b"\xEF\xBB\xBF".to_vec();
    real.extend_from_slice(CAISO_1_DAY);
    assert_same(
        &convert_ok(&ds, CAISO_1_DAY),
        &convert_ok(&ds, &real),
        "real BOM",
    );
}

#[test]
fn crlf_gives_the_same_output_and_line_numbers() {
    let ds = dataset("caiso_lmp_dam");
    let mut rows = caiso_rows(12);
    set(&mut rows[3], "OPR_HR", "x");
    set(&mut rows[9], "MW", "y");
    let mut lf = CAISO_HEADER.join(",") + "\n";
    for (i, r) in rows.iter().enumerate() {
        lf.push_str(&r.join(","));
        lf.push('\n');
        // A blank line too, so that line counting after it is checked.
        if i == 6 {
            lf.push('\n');
        }
    }
    let crlf = lf.replace('\n', "\r\n");
    let a = convert_ok(&ds, lf.as_bytes());
    let b = convert_ok(&ds, crlf.as_bytes());
    assert_same(&a, &b, "CRLF vs LF");
    assert_counts(&b.0, 10, 2);
    assert_reject(&b.2[0], 5, Some("OPR_HR"), "not a valid integer");
    // Row 9 is on line 11 plus the blank line.
    assert_reject(&b.2[1], 12, Some("MW"), "not a valid number");
    assert!(
        !b.2[1].raw.contains('\r'),
        "raw text has no line terminator"
    );
    // The real file with CRLF endings converts identically too.
    let real_crlf = String::from_utf8(CAISO_1_DAY.to_vec())
        .unwrap()
        .replace('\n', "\r\n");
    assert_same(
        &convert_ok(&ds, CAISO_1_DAY),
        &convert_ok(&ds, real_crlf.as_bytes()),
        "real CRLF",
    );
}

#[test]
fn quoted_fields_with_commas_doubled_quotes_and_newlines() {
    let ds = dataset("caiso_lmp_dam");
    let mut rows = caiso_rows(6);
    set(&mut rows[0], "NODE", "\"A,\"\"B\"\"\"");
    // A quoted value holding a line break: the record spans lines 3–4.
    set(&mut rows[1], "NODE", "\"multi\nline\"");
    // Quoted numbers and dates are fine.
    set(&mut rows[2], "MW", "\"12.5\"");
    set(&mut rows[2], "OPR_DT", "\"2018-10-13\"");
    set(&mut rows[4], "MW", "bad");
    let (s, batches, rejects) = convert_ok(&ds, &caiso_csv(&rows));
    assert_counts(&s, 5, 1);
    let t = table(&ds, &batches);
    let nodes = str_col(&t, "node");
    assert_eq!(nodes[0].as_deref(), Some("A,\"B\""));
    assert_eq!(nodes[1].as_deref(), Some("multi\nline"));
    assert_eq!(f64_col(&t, "price")[2], Some(12.5));
    // rows[4] is on line 6 + 1 for the line break inside rows[1].
    assert_reject(only_reject(&rejects), 7, Some("MW"), "not a valid number");
}

#[test]
fn duplicate_key_rejects_the_second_record() {
    let ds = dataset("caiso_lmp_dam");
    let mut rows = caiso_rows(8);
    let mut dup = rows[1].clone();
    set(&mut dup, "MW", "99.9");
    rows.push(dup);
    let (s, batches, rejects) = convert_ok(&ds, &caiso_csv(&rows));
    assert_counts(&s, 8, 1);
    let r = only_reject(&rejects);
    assert_reject(r, 10, None, "duplicate key");
    assert!(
        r.reason.contains("(node, lmp_type, interval_start)"),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("first seen on line 3"), "{}", r.reason);
    assert_eq!(r.day, Some(day("2018-10-13")));
    // The first record is the one kept.
    assert!(!f64_col(&table(&ds, &batches), "price").contains(&Some(99.9)));
}

#[test]
fn unparseable_timestamp() {
    let ds = dataset("caiso_lmp_dam");
    let mut rows = caiso_rows(5);
    set(&mut rows[0], "INTERVALSTARTTIME_GMT", "2018-10-13 11:00");
    set(
        &mut rows[1],
        "INTERVALENDTIME_GMT",
        "2018-10-13T12:00:00+25:00",
    );
    set(
        &mut rows[2],
        "INTERVALSTARTTIME_GMT",
        "2018-02-30T12:00:00-00:00",
    );
    let (s, _, rejects) = convert_ok(&ds, &caiso_csv(&rows));
    assert_counts(&s, 2, 3);
    assert_reject(
        &rejects[0],
        2,
        Some("INTERVALSTARTTIME_GMT"),
        "cannot parse `2018-10-13 11:00` as a timestamp",
    );
    assert!(rejects[0].reason.contains("%Y-%m-%dT%H:%M:%S%:z"));
    assert_reject(&rejects[1], 3, Some("INTERVALENDTIME_GMT"), "cannot parse");
    assert_reject(
        &rejects[2],
        4,
        Some("INTERVALSTARTTIME_GMT"),
        "cannot parse",
    );
}

#[test]
fn out_of_range_values() {
    let ds = dataset("caiso_lmp_dam");
    let mut rows = caiso_rows(8);
    set(&mut rows[0], "OPR_HR", "26");
    set(&mut rows[1], "OPR_HR", "0");
    set(&mut rows[2], "MW", "1e9");
    set(&mut rows[3], "MW", "-10000.5");
    set(&mut rows[4], "MW", "10000");
    set(&mut rows[5], "OPR_INTERVAL", "13");
    let (s, _, rejects) = convert_ok(&ds, &caiso_csv(&rows));
    assert_counts(&s, 3, 5);
    assert_reject(
        &rejects[0],
        2,
        Some("OPR_HR"),
        "value 26 is above the maximum 25",
    );
    assert_reject(
        &rejects[1],
        3,
        Some("OPR_HR"),
        "value 0 is below the minimum 1",
    );
    assert_reject(
        &rejects[2],
        4,
        Some("MW"),
        "value 1000000000 is above the maximum 10000",
    );
    assert_reject(&rejects[3], 5, Some("MW"), "below the minimum -10000");
    assert_reject(&rejects[4], 7, Some("OPR_INTERVAL"), "above the maximum 12");
}

#[test]
fn value_not_in_allowed_set() {
    let ds = dataset("caiso_lmp_dam");
    let mut rows = caiso_rows(4);
    set(&mut rows[2], "LMP_TYPE", "XYZ");
    // Allowed values compare exactly: case matters.
    set(&mut rows[3], "MARKET_RUN_ID", "dam");
    let (s, _, rejects) = convert_ok(&ds, &caiso_csv(&rows));
    assert_counts(&s, 2, 2);
    assert_reject(
        &rejects[0],
        4,
        Some("LMP_TYPE"),
        "value `XYZ` is not one of the allowed values",
    );
    assert!(rejects[0].reason.contains("\"MCL\""));
    assert_reject(
        &rejects[1],
        5,
        Some("MARKET_RUN_ID"),
        "not one of the allowed values",
    );
}

#[test]
fn missing_required_column() {
    let ds = dataset("caiso_lmp_dam");
    let (header, rows) = without_column(&caiso_rows(4), "NODE");
    let err = convert_err(&ds, &render(&header, &rows));
    let ConvertError::MissingColumns {
        file,
        missing,
        expected,
        found,
    } = &err
    else {
        panic!("expected MissingColumns, got {err:?}");
    };
    assert_eq!(file, FILE);
    assert_eq!(missing, &["NODE"]);
    assert_eq!(expected, &CAISO_HEADER);
    assert_eq!(found, &header);
    let msg = err.to_string();
    assert!(
        msg.contains("missing required column") && msg.contains("aliases"),
        "{msg}"
    );
}

#[test]
fn several_missing_columns_are_all_listed() {
    let ds = dataset("caiso_lmp_dam");
    let (header, rows) = without_column(&caiso_rows(2), "MW");
    let header: Vec<&str> = header.into_iter().filter(|h| *h != "OPR_DT").collect();
    let rows: Rows = rows
        .into_iter()
        .map(|mut r| {
            r.remove(2);
            r
        })
        .collect();
    match convert_err(&ds, &render(&header, &rows)) {
        ConvertError::MissingColumns { missing, .. } => assert_eq!(missing, ["OPR_DT", "MW"]),
        e => panic!("{e:?}"),
    }
}

#[test]
fn a_huge_header_makes_a_bounded_error() {
    // Found by the bad-input corpus: a million header names, or one 100 MB header line, were copied whole
    // into the error (10 MB and 100 MB messages on the terminal, in the ledger and in notifications).
    let ds = dataset("caiso_lmp_dam");
    let names: Vec<String> = (0..100_000).map(|i| format!("C{i}")).collect();
    let err = convert_err(&ds, format!("{}\n1\n", names.join(",")).as_bytes());
    let ConvertError::MissingColumns { found, .. } = &err else {
        panic!("expected MissingColumns, got {err:?}");
    };
    assert_eq!(found.len(), 100_000, "the error value keeps every name");
    let msg = err.to_string();
    assert!(msg.len() < 4096, "{} bytes", msg.len());
    assert!(msg.contains("\"C39\", … (99960 more)]"), "{msg}");
    let err = convert_err(&ds, format!("{}\n", "y".repeat(1 << 20)).as_bytes());
    let msg = err.to_string();
    assert!(msg.len() < 4096, "{} bytes", msg.len());
    assert!(msg.contains("(1048576 bytes in all)"), "{msg}");

    let strict = CAISO_TOML.replace(
        "unknown_columns = \"ignore\"",
        "unknown_columns = \"error\"",
    );
    let ds = Arc::new(Dataset::from_toml("strict.toml", &strict).unwrap());
    let extra: Vec<String> = (0..100_000).map(|i| format!("X{i}")).collect();
    let header = format!("{},{}", CAISO_HEADER.join(","), extra.join(","));
    let msg = convert_err(&ds, format!("{header}\n").as_bytes()).to_string();
    assert!(msg.len() < 4096, "{} bytes", msg.len());
    assert!(
        msg.contains("… (99960 more)]") && msg.contains("unknown_columns"),
        "{msg}"
    );
}

#[test]
fn a_column_the_header_repeats_is_an_error_not_a_guess() {
    // Found by the bad-input corpus: `…,MW,GROUP,MW` imported the first `MW` and dropped the second unseen.
    let ds = dataset("caiso_lmp_dam");
    let rows = caiso_rows(2);
    let mut header = CAISO_HEADER.to_vec();
    header.push("mw");
    let rows: Rows = rows
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.push("7.5".into());
            r
        })
        .collect();
    let err = convert_err(&ds, &render(&header, &rows));
    assert_eq!(
        err,
        ConvertError::DuplicateColumns {
            file: FILE.into(),
            columns: vec!["MW".into()],
        }
    );
    assert!(err.to_string().contains("ambiguous"), "{err}");
    // A repeated name no column reads is ignored like any unknown column.
    let mut header = CAISO_HEADER.to_vec();
    header.extend(["NOTE", "NOTE"]);
    let rows: Rows = caiso_rows(2)
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.extend(["a".into(), "b".into()]);
            r
        })
        .collect();
    assert_counts(&convert_ok(&ds, &render(&header, &rows)).0, 2, 0);
}

fn with_extra_column(rows: &[Vec<String>]) -> Vec<u8> {
    let mut header = CAISO_HEADER.to_vec();
    header.insert(3, "EXTRA");
    let rows: Rows = rows
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.insert(3, "whatever".into());
            r
        })
        .collect();
    render(&header, &rows)
}

#[test]
fn extra_column_ignored() {
    let ds = dataset("caiso_lmp_dam");
    let rows = caiso_rows(8);
    let out = convert_ok(&ds, &with_extra_column(&rows));
    assert_counts(&out.0, 8, 0);
    assert_eq!(out.0.header.ignored, ["EXTRA"]);
    let plain = convert_ok(&ds, &caiso_csv(&rows));
    assert_eq!(table(&ds, &out.1), table(&ds, &plain.1));
}

#[test]
fn extra_column_is_an_error_when_the_schema_says_so() {
    let strict = CAISO_TOML.replace(
        "unknown_columns = \"ignore\"",
        "unknown_columns = \"error\"",
    );
    assert_ne!(strict, CAISO_TOML);
    let ds = Arc::new(Dataset::from_toml("strict.toml", &strict).unwrap());
    let err = convert_err(&ds, &with_extra_column(&caiso_rows(4)));
    assert_eq!(
        err,
        ConvertError::UnknownColumns {
            file: FILE.into(),
            dataset: "caiso_lmp_dam".into(),
            unknown: vec!["EXTRA".into()],
        }
    );
    // The exact header is fine under the strict schema.
    assert_counts(&convert_ok(&ds, &caiso_csv(&caiso_rows(4))).0, 4, 0);
}

#[test]
fn empty_inputs_are_errors() {
    let ds = dataset("caiso_lmp_dam");
    for input in [
        &b""[..],
        b"\n\n\r\n",
        b"\xEF\xBB\xBF",
        b"\xEF\xBB\xBF\r\n",
        b"   \n\t\n",
    ] {
        assert_eq!(
            convert_err(&ds, input),
            ConvertError::Empty { file: FILE.into() },
            "input {input:?}"
        );
    }
}

#[test]
fn header_only_is_ok_and_empty() {
    let ds = dataset("caiso_lmp_dam");
    let header = CAISO_HEADER.join(",");
    for input in [
        format!("{header}\n"),
        header.clone(),
        format!("{header}\r\n\r\n"),
    ] {
        let (s, batches, rejects) = convert_ok(&ds, input.as_bytes());
        assert_counts(&s, 0, 0);
        assert!(s.days.is_empty() && batches.is_empty() && rejects.is_empty());
        assert_eq!(s.header.found.len(), 16);
    }
}

#[test]
fn blank_lines_are_skipped_and_counted() {
    // Blank lines (empty, or only spaces/tabs) anywhere are skipped, not rejected as one-field rows, but
    // they still count as physical lines for later rejects.
    let ds = dataset("caiso_lmp_dam");
    let mut rows = caiso_rows(6);
    set(&mut rows[4], "MW", "bad");
    let r: Vec<String> = rows.iter().map(|r| r.join(",")).collect();
    let header = CAISO_HEADER.join(",");
    let input = format!(
        "\n{header}\n{}\n\n\n{}\n   \n{}\n\t\n{}\n{}\n{}\n\n\n  \n",
        r[0], r[1], r[2], r[3], r[4], r[5]
    );
    let (s, _, rejects) = convert_ok(&ds, input.as_bytes());
    assert_counts(&s, 5, 1);
    // 1 blank, 2 header, 3 r0, 4–5 blank, 6 r1, 7 blank, 8 r2, 9 blank, 10 r3, 11 r4.
    assert_reject(only_reject(&rejects), 11, Some("MW"), "not a valid number");
}

#[test]
fn non_utf8_text_field_rejects_only_that_row() {
    let ds = dataset("caiso_lmp_dam");
    let mut input = caiso_csv(&caiso_rows(6));
    let needle = format!("{CAISO_NODE},DAM,MCC");
    let at = input
        .windows(needle.len())
        .position(|w| w == needle.as_bytes())
        .unwrap();
    // Latin-1 `é` (0xE9) in the NODE field of the second row.
    input.splice(at..at + 4, b"N\xE9\xFF_".iter().copied());
    let (s, batches, rejects) = convert_ok(&ds, &input);
    assert_counts(&s, 5, 1);
    let r = only_reject(&rejects);
    assert_reject(r, 3, Some("NODE"), "invalid UTF-8");
    assert!(r.raw.contains('\u{FFFD}'), "raw is lossy UTF-8");
    assert_eq!(r.day, Some(day("2018-10-13")));
    assert_eq!(table(&ds, &batches).num_rows(), 5);
}

#[test]
fn non_utf8_numeric_field() {
    let ds = dataset("caiso_lmp_dam");
    let rows = caiso_rows(3);
    let mut input = caiso_csv(&rows);
    let price = rows[1][14].clone();
    let at = input
        .windows(price.len())
        .position(|w| w == price.as_bytes())
        .unwrap();
    input.splice(at..at + 2, b"\xFF\xFE".iter().copied());
    let (s, _, rejects) = convert_ok(&ds, &input);
    assert_counts(&s, 2, 1);
    assert_reject(
        only_reject(&rejects),
        3,
        Some("MW"),
        "is not a valid number",
    );
}

#[test]
fn non_utf8_header_is_an_error() {
    let ds = dataset("caiso_lmp_dam");
    let mut input = b"\n".to_vec();
    input.extend_from_slice(&caiso_csv(&caiso_rows(2)));
    input[3] = 0xFF;
    assert_eq!(
        convert_err(&ds, &input),
        ConvertError::HeaderEncoding {
            file: FILE.into(),
            line: 2
        }
    );
}

#[test]
fn truncated_last_line_is_a_short_row() {
    let ds = dataset("caiso_lmp_dam");
    let mut input = caiso_csv(&caiso_rows(4));
    // Cut in the middle of the last row's MW value: no newline, 15 fields.
    input.truncate(input.len() - 8);
    let (s, _, rejects) = convert_ok(&ds, &input);
    assert_counts(&s, 3, 1);
    let r = only_reject(&rejects);
    assert_reject(r, 5, Some("GROUP"), "short row");
    assert!(r.reason.contains("row has 15 fields"));
}

#[test]
fn complete_last_line_without_newline_is_accepted() {
    let ds = dataset("caiso_lmp_dam");
    let mut input = caiso_csv(&caiso_rows(4));
    assert_eq!(input.pop(), Some(b'\n'));
    let (s, batches, _) = convert_ok(&ds, &input);
    assert_counts(&s, 4, 0);
    assert_eq!(i64_col(&table(&ds, &batches), "group")[3], Some(4));
}

#[test]
fn unterminated_quote_at_eof() {
    let ds = dataset("caiso_lmp_dam");
    let mut rows = caiso_rows(5);
    // The quote opened in NODE never closes: the rest of the input is one field of one record.
    set(&mut rows[3], "NODE", "\"0096WD_7_N001");
    let (s, _, rejects) = convert_ok(&ds, &caiso_csv(&rows));
    assert_counts(&s, 3, 1);
    let r = only_reject(&rejects);
    assert_reject(r, 5, Some("MARKET_RUN_ID"), "short row");
    assert!(r.reason.contains("row has 8 fields"), "{}", r.reason);
}

#[test]
fn one_megabyte_field_is_capped_in_the_reject() {
    let ds = dataset("caiso_lmp_dam");
    let mut rows = caiso_rows(3);
    let huge = "7x".repeat(512 * 1024);
    set(&mut rows[1], "MW", &huge);
    let input = caiso_csv(&rows);
    // Chunk size 1 over a megabyte is slow in debug builds: run the sizes that split the field differently.
    let ctx = InputContext::default();
    let whole = run_chunked(&ds, &input, usize::MAX, FILE, &ctx).unwrap();
    for chunk in [7, 4096, 65_536] {
        assert_same(
            &whole,
            &run_chunked(&ds, &input, chunk, FILE, &ctx).unwrap(),
            "1 MB",
        );
    }
    check_invariants(&ds, &whole, FILE);
    let (s, _, rejects) = whole;
    assert_counts(&s, 2, 1);
    let r = only_reject(&rejects);
    assert_reject(r, 3, Some("MW"), "is not a valid number");
    assert!(
        r.reason.len() < 200,
        "reason is capped: {} bytes",
        r.reason.len()
    );
    assert!(r.reason.contains("(1048576 bytes in all)"));
    let value = r.value.as_deref().unwrap();
    assert!(value.len() < 1100, "value is capped: {} bytes", value.len());
    assert!(
        r.raw.len() < 16 * 1024 + 100,
        "raw is capped: {} bytes",
        r.raw.len()
    );
    assert!(r.raw.starts_with(&rows[1][0]));
}

#[test]
fn alias_header_value_instead_of_mw() {
    let ds = dataset("caiso_lmp_dam");
    let rows = caiso_rows(8);
    let mut header = CAISO_HEADER.to_vec();
    header[14] = "VALUE";
    let (s, batches, _) = convert_ok(&ds, &render(&header, &rows));
    assert_counts(&s, 8, 0);
    assert!(s.header.bound.contains(&("price".into(), "VALUE".into())));
    let plain = convert_ok(&ds, &caiso_csv(&rows));
    assert_eq!(table(&ds, &batches), table(&ds, &plain.1));
}

#[test]
fn header_in_another_order_binds_by_name() {
    let ds = dataset("caiso_lmp_dam");
    let mut rows = caiso_rows(12);
    set(&mut rows[7], "LMP_TYPE", "XYZ");
    let mut header = CAISO_HEADER.to_vec();
    header.reverse();
    let reversed: Rows = rows
        .iter()
        .map(|r| r.iter().rev().cloned().collect())
        .collect();
    let a = convert_ok(&ds, &caiso_csv(&rows));
    let b = convert_ok(&ds, &render(&header, &reversed));
    assert_eq!(table(&ds, &a.1), table(&ds, &b.1));
    assert_counts(&b.0, 11, 1);
    assert_reject(
        &b.2[0],
        9,
        Some("LMP_TYPE"),
        "not one of the allowed values",
    );
}

#[test]
fn header_names_match_case_insensitively() {
    let ds = dataset("caiso_lmp_dam");
    let rows = caiso_rows(8);
    let lower: Vec<String> = CAISO_HEADER.iter().map(|h| h.to_lowercase()).collect();
    let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
    let (s, batches, _) = convert_ok(&ds, &render(&lower, &rows));
    assert_counts(&s, 8, 0);
    assert!(s.header.bound.contains(&("node".into(), "node".into())));
    assert!(s.header.ignored.is_empty());
    assert_eq!(
        table(&ds, &batches),
        table(&ds, &convert_ok(&ds, &caiso_csv(&rows)).1)
    );
}

#[test]
fn nan_and_infinity_in_float_columns() {
    let ds = dataset("caiso_lmp_dam");
    let mut rows = caiso_rows(5);
    set(&mut rows[0], "MW", "NaN");
    set(&mut rows[1], "MW", "inf");
    set(&mut rows[2], "MW", "-Infinity");
    let (s, _, rejects) = convert_ok(&ds, &caiso_csv(&rows));
    assert_counts(&s, 2, 3);
    assert_reject(&rejects[0], 2, Some("MW"), "NaN is not a value");
    assert_reject(&rejects[1], 3, Some("MW"), "not a finite number");
    assert_reject(&rejects[2], 4, Some("MW"), "not a finite number");
    // A float column without bounds refuses infinity too.
    let ds = dataset("nyiso_lbmp_rt_zonal");
    let text = String::from_utf8(NYISO_RT.to_vec())
        .unwrap()
        .replacen(",1.69,", ",inf,", 1)
        .replacen(",0.85,", ",1e400,", 1);
    let (s, _, rejects) = convert_ok(&ds, text.as_bytes());
    assert_counts(&s, 43, 2);
    assert_reject(
        &rejects[0],
        3,
        Some("Marginal Cost Losses ($/MWHr)"),
        "not a finite number",
    );
    assert_reject(
        &rejects[1],
        4,
        Some("Marginal Cost Losses ($/MWHr)"),
        "not a finite number",
    );
}

#[test]
fn integer_overflow() {
    let ds = dataset("caiso_lmp_dam");
    let mut rows = caiso_rows(5);
    set(&mut rows[0], "POS", "40000");
    set(&mut rows[1], "POS", "-32769");
    set(&mut rows[2], "GROUP", "99999999999999999999");
    set(&mut rows[3], "POS", "32767");
    set(&mut rows[4], "OPR_HR", "2.5");
    let (s, batches, rejects) = convert_ok(&ds, &caiso_csv(&rows));
    assert_counts(&s, 1, 4);
    assert_reject(
        &rejects[0],
        2,
        Some("POS"),
        "integer 40000 does not fit int16",
    );
    assert_reject(&rejects[1], 3, Some("POS"), "does not fit int16");
    assert_reject(&rejects[2], 4, Some("GROUP"), "is not a valid integer");
    assert_reject(
        &rejects[3],
        6,
        Some("OPR_HR"),
        "`2.5` is not a valid integer",
    );
    assert_eq!(i16_col(&table(&ds, &batches), "pos"), [Some(32767)]);
}

#[test]
fn unreadable_partition_date_is_an_undated_reject() {
    let ds = dataset("caiso_lmp_dam");
    let mut rows = caiso_rows(6);
    set(&mut rows[2], "OPR_DT", "2018-10-32");
    set(&mut rows[3], "OPR_DT", "10/13/2018");
    let (s, _, rejects) = convert_ok(&ds, &caiso_csv(&rows));
    assert_counts(&s, 4, 2);
    assert_eq!(s.undated_rejects, 2);
    for (r, line) in rejects.iter().zip([4, 5]) {
        assert_reject(r, line, Some("OPR_DT"), "as a date");
        assert_eq!(r.day, None);
    }
    assert_eq!(s.days[&day("2018-10-13")].counts.rejected, 0);
}

#[test]
fn rows_of_two_operating_days_go_to_two_days() {
    let ds = dataset("caiso_lmp_dam");
    // The GMT window of an OASIS request straddles two Pacific operating days.
    let mut rows: Rows = caiso_day("2018-10-13").split_off(80);
    rows.extend(caiso_day("2018-10-14").into_iter().take(20));
    set(&mut rows[18], "MW", "bad");
    let (s, batches, rejects) = convert_ok(&ds, &caiso_csv(&rows));
    assert_counts(&s, 35, 1);
    let (d13, d14) = (day("2018-10-13"), day("2018-10-14"));
    assert_eq!(s.days.keys().copied().collect::<Vec<_>>(), [d13, d14]);
    assert_eq!(s.days[&d13].rows, 16);
    assert_eq!(s.days[&d14].rows, 19);
    assert_eq!(s.days[&d14].counts.rejected, 1);
    assert_eq!(rejects[0].day, Some(d14));
    assert_eq!(batches.len(), 2);
    assert_eq!((batches[0].day, batches[1].day), (d13, d14));
    // Both operating days hold 07:00Z rows … the 13th's last hour starts at 06:00Z on the 14th.
    assert_eq!(
        ts_col(&batches[0].batch, "interval_start").last(),
        Some(&utc("2018-10-14T06:00:00Z"))
    );
    assert_eq!(
        ts_col(&batches[1].batch, "interval_start")[0],
        utc("2018-10-14T07:00:00Z")
    );
}

#[test]
fn absent_nullable_column_reads_as_null() {
    let ds = dataset("caiso_lmp_dam");
    let (header, rows) = without_column(&caiso_rows(4), "GROUP");
    let (header, rows) = {
        let i = header.iter().position(|h| *h == "NODE_ID_XML").unwrap();
        let mut header = header;
        header.remove(i);
        let rows: Rows = rows
            .into_iter()
            .map(|mut r| {
                r.remove(i);
                r
            })
            .collect();
        (header, rows)
    };
    let (s, batches, _) = convert_ok(&ds, &render(&header, &rows));
    assert_counts(&s, 4, 0);
    assert_eq!(s.header.absent, ["node_id_xml", "group"]);
    let t = table(&ds, &batches);
    assert_eq!(i64_col(&t, "group"), [None; 4]);
    assert_eq!(str_col(&t, "node_id_xml"), [None, None, None, None]);
    assert_eq!(str_col(&t, "node_id")[0].as_deref(), Some(CAISO_NODE));
}

#[test]
fn whitespace_around_numbers_and_dates_is_trimmed_text_is_kept() {
    let ds = dataset("caiso_lmp_dam");
    let mut rows = caiso_rows(3);
    set(&mut rows[0], "MW", " 12.5 ");
    set(&mut rows[0], "OPR_DT", " 2018-10-13");
    set(&mut rows[0], "NODE", " N 1 ");
    let (s, batches, _) = convert_ok(&ds, &caiso_csv(&rows));
    assert_counts(&s, 3, 0);
    let t = table(&ds, &batches);
    assert_eq!(f64_col(&t, "price")[0], Some(12.5));
    assert_eq!(str_col(&t, "node")[0].as_deref(), Some(" N 1 "));
}

#[test]
fn every_reject_names_its_file() {
    let ds = dataset("caiso_lmp_dam");
    let mut rows = caiso_rows(4);
    set(&mut rows[1], "MW", "?");
    let mut conv = Converter::new(Arc::clone(&ds), "archive.zip!member.csv");
    conv.push(&caiso_csv(&rows)).unwrap();
    let (s, _, rejects) = conv.finish().unwrap();
    assert_eq!(s.file, "archive.zip!member.csv");
    assert_eq!(only_reject(&rejects).file, "archive.zip!member.csv");
}

// ---------------------------------------------------------------------------------------------------------
// Daylight saving
// ---------------------------------------------------------------------------------------------------------

/// The OPR_HR → interval_start pairs of one day's output, one per hour, in file order.
fn hours_and_starts(batch: &RecordBatch) -> Vec<(i16, i64)> {
    let mut v: Vec<(i16, i64)> = i16_col(batch, "opr_hr")
        .into_iter()
        .map(|h| h.unwrap())
        .zip(ts_col(batch, "interval_start"))
        .collect();
    v.dedup();
    v
}

#[test]
fn caiso_spring_forward_2024_03_10() {
    let ds = dataset("caiso_lmp_dam");
    let mut rows = caiso_day("2024-03-10");
    rows.extend(caiso_day("2024-03-11"));
    let (s, batches, _) = convert_ok(&ds, &caiso_csv(&rows));
    assert_counts(&s, 23 * 4 + 24 * 4, 0);
    let (d10, d11) = (day("2024-03-10"), day("2024-03-11"));
    let c = ds.completeness().unwrap();
    assert_eq!(c.intervals(d10), 23);
    assert_eq!(c.intervals(d11), 24);
    assert_eq!(c.intervals(d10 - 1), 24);
    assert_eq!(s.days[&d10].rows, c.expected_rows(d10, 4));
    assert_eq!(s.days[&d11].rows, c.expected_rows(d11, 4));
    let hours = hours_and_starts(&batches[0].batch);
    assert_eq!(hours.len(), 23);
    assert!(!hours.iter().any(|(h, _)| *h == 3), "no OPR_HR 3");
    assert_eq!(hours[0], (1, utc("2024-03-10T08:00:00Z")));
    assert_eq!(hours[1], (2, utc("2024-03-10T09:00:00Z")));
    assert_eq!(hours[2], (4, utc("2024-03-10T10:00:00Z")));
    assert_eq!(hours[22], (24, utc("2024-03-11T06:00:00Z")));
    let next = hours_and_starts(&batches[1].batch);
    assert_eq!(next[0], (1, utc("2024-03-11T07:00:00Z")));
}

#[test]
fn caiso_fall_back_2024_11_03() {
    let ds = dataset("caiso_lmp_dam");
    let rows = caiso_day("2024-11-03");
    let (s, batches, _) = convert_ok(&ds, &caiso_csv(&rows));
    assert_counts(&s, 100, 0);
    let d = day("2024-11-03");
    assert_eq!(ds.completeness().unwrap().intervals(d), 25);
    assert_eq!(ds.completeness().unwrap().intervals(d + 1), 24);
    let hours = hours_and_starts(&batches[0].batch);
    assert_eq!(hours.len(), 25);
    assert_eq!(hours[0], (1, utc("2024-11-03T07:00:00Z")));
    assert_eq!(hours[1], (2, utc("2024-11-03T08:00:00Z")));
    assert_eq!(hours[2], (25, utc("2024-11-03T09:00:00Z")));
    assert_eq!(hours[3], (3, utc("2024-11-03T10:00:00Z")));
    assert_eq!(hours[24], (24, utc("2024-11-04T07:00:00Z")));
}

#[test]
fn nyiso_fall_back_repeated_hour_in_order() {
    let ds = dataset("nyiso_lbmp_dam_zonal");
    let mut hours: Vec<u32> = (0..24).collect();
    hours.insert(2, 1); // 00, 01, 01, 02, …
    let input = nyiso_csv(&hourly_labels("11/03/2024", &hours));
    let (s, batches, rejects) = convert_ok(&ds, &input);
    assert!(rejects.is_empty(), "{rejects:#?}");
    assert_counts(&s, 25 * 15, 0);
    let d = day("2024-11-03");
    assert_eq!(s.days.keys().copied().collect::<Vec<_>>(), [d]);
    let c = ds.completeness().unwrap();
    assert_eq!(c.intervals(d), 25);
    assert_eq!(c.expected_rows(d, 0), 25 * 15, "keys = 15 from the schema");
    let t = table(&ds, &batches);
    let starts = ts_col(&t, "interval_start");
    let names = str_col(&t, "zone_name");
    for (z, (name, _)) in NYISO_ZONES.iter().enumerate() {
        let zone_starts: Vec<i64> = starts
            .iter()
            .zip(&names)
            .filter(|(_, n)| n.as_deref() == Some(*name))
            .map(|(s, _)| *s)
            .collect();
        // 00:00 EDT = 04:00Z, then one hour after another: the first 01:00 is EDT, the second EST.
        let want: Vec<i64> = (0..25)
            .map(|i| utc("2024-11-03T04:00:00Z") + i * HOUR)
            .collect();
        assert_eq!(zone_starts, want, "zone {name}");
        assert_eq!(starts[15 + z], utc("2024-11-03T05:00:00Z"));
        assert_eq!(starts[30 + z], utc("2024-11-03T06:00:00Z"));
    }
}

#[test]
fn nyiso_fall_back_third_occurrence_is_a_duplicate() {
    let ds = dataset("nyiso_lbmp_dam_zonal");
    let input = nyiso_csv(&hourly_labels("11/03/2024", &[0, 1, 1, 1, 2]));
    let (s, _, rejects) = convert_ok(&ds, &input);
    assert_counts(&s, 4 * 15, 15);
    // Header on line 1, the third `01:00` block on lines 47..=61.
    for (z, r) in rejects.iter().enumerate() {
        assert_reject(
            r,
            47 + z as u64,
            None,
            "duplicate key (ptid, interval_start)",
        );
        assert!(
            r.reason.contains(&format!("first seen on line {}", 32 + z)),
            "{}",
            r.reason
        );
    }
}

#[test]
fn nyiso_spring_forward_skipped_hour() {
    let ds = dataset("nyiso_lbmp_dam_zonal");
    let mut hours: Vec<u32> = (0..24).filter(|h| *h != 2).collect();
    let ok = nyiso_csv(&hourly_labels("03/10/2024", &hours));
    let (s, batches, _) = convert_ok(&ds, &ok);
    assert_counts(&s, 23 * 15, 0);
    let d = day("2024-03-10");
    assert_eq!(ds.completeness().unwrap().intervals(d), 23);
    assert_eq!(
        s.days[&d].rows,
        ds.completeness().unwrap().expected_rows(d, 0)
    );
    let starts = ts_col(&table(&ds, &batches), "interval_start");
    assert_eq!(starts[0], utc("2024-03-10T05:00:00Z"));
    assert_eq!(starts[15], utc("2024-03-10T06:00:00Z"));
    assert_eq!(
        starts[30],
        utc("2024-03-10T07:00:00Z"),
        "03:00 EDT follows 01:00 EST"
    );
    assert_eq!(starts[22 * 15], utc("2024-03-11T03:00:00Z"));
    // A row labelled with the skipped hour names no instant.
    hours.insert(2, 2);
    let bad = nyiso_csv(&hourly_labels("03/10/2024", &hours));
    let (s, _, rejects) = convert_ok(&ds, &bad);
    assert_counts(&s, 23 * 15, 15);
    assert_eq!(s.undated_rejects, 15);
    for (z, r) in rejects.iter().enumerate() {
        assert_reject(r, 32 + z as u64, Some("Time Stamp"), "does not exist");
        assert_eq!(r.value.as_deref(), Some("03/10/2024 02:00:00"));
        assert_eq!(r.day, None);
    }
}

#[test]
fn ambiguous_label_rejected_when_the_schema_does_not_say() {
    let text = include_str!("../../../schemas/nyiso_lbmp_dam_zonal.toml")
        .replace("ambiguous = \"in_order\"", "ambiguous = \"reject\"");
    let ds = Arc::new(Dataset::from_toml("reject.toml", &text).unwrap());
    let input = nyiso_csv(&hourly_labels("11/03/2024", &[0, 1, 2]));
    let (s, _, rejects) = convert_ok(&ds, &input);
    assert_counts(&s, 30, 15);
    assert_reject(&rejects[0], 17, Some("Time Stamp"), "occurs twice");
    for (which, want) in [("earliest", "05:00"), ("latest", "06:00")] {
        let text = include_str!("../../../schemas/nyiso_lbmp_dam_zonal.toml").replace(
            "ambiguous = \"in_order\"",
            &format!("ambiguous = \"{which}\""),
        );
        let ds = Arc::new(Dataset::from_toml("x.toml", &text).unwrap());
        let (s, batches, _) = convert_ok(&ds, &input);
        assert_counts(&s, 45, 0);
        let starts = ts_col(&table(&ds, &batches), "interval_start");
        assert_eq!(
            starts[15],
            utc(&format!("2024-11-03T{want}:00Z")),
            "{which}"
        );
    }
}

// ---------------------------------------------------------------------------------------------------------
// Unpivot, derive, precedence, positional binding
// ---------------------------------------------------------------------------------------------------------

const MISO_LIKE: &str = r#"
name = "miso_like_da_lmp"
version = 1
description = "MISO-like wide day-ahead LMP file: one row per node and component, HE 1..HE 24 across."

[csv]
preamble_lines = 4

[partition]
column = "interval_start"
zone = "-05:00"

[key]
columns = ["node", "lmp_kind", "interval_start"]

[unpivot]
pattern = "HE {n}"
from = 1
to = 24
index_column = "hour_ending"
value_column = "value"

[[columns]]
name = "node"
source = "Node"
type = "utf8"

[[columns]]
name = "node_type"
source = "Type"
type = "utf8"

[[columns]]
name = "lmp_kind"
source = "Value"
type = "utf8"
allowed = ["LMP", "MCC", "MLC"]

[[columns]]
name = "market_day"
source = "Date"
type = "date"
format = ["%m/%d/%Y"]

[[columns]]
name = "hour_ending"
type = "int16"

[[columns]]
name = "value"
type = "float64"
min = -10000.0
max = 10000.0

[[columns]]
name = "interval_start"
type = "timestamp"
derive = { date_column = "market_day", hour_ending_column = "hour_ending", zone = "-05:00" }
"#;

fn miso_like_csv(rows: &[(&str, &str, Vec<String>)]) -> Vec<u8> {
    // Four preamble lines, one of them blank (it still counts as a physical line).
    let mut s = String::from(
        "MISO-like Day-Ahead Market ExPost LMPs\n03/10/2024\n\nAll times are EST, hour ending\n",
    );
    s.push_str("Node,Type,Value,Date");
    for he in 1..=24 {
        s.push_str(&format!(",HE {he}"));
    }
    s.push('\n');
    for (node, kind, values) in rows {
        s.push_str(&format!(
            "{node},Interface,{kind},03/10/2024,{}\n",
            values.join(",")
        ));
    }
    s.into_bytes()
}

#[test]
fn unpivot_and_derive_miso_like() {
    let ds = Arc::new(Dataset::from_toml("miso_like.toml", MISO_LIKE).unwrap());
    let values = |base: f64| -> Vec<String> {
        (1..=24)
            .map(|h| format!("{:.2}", base + f64::from(h)))
            .collect()
    };
    let mut bad = values(0.0);
    bad[6] = "x".into();
    let input = miso_like_csv(&[
        ("AECI", "LMP", values(20.0)),
        ("AECI", "MCC", values(-5.0)),
        ("AECI", "MLC", bad),
    ]);
    let (s, batches, rejects) = convert_ok(&ds, &input);
    // Records, not output rows, are counted: 3 read, 2 written (24 rows each), 1 rejected.
    assert_counts(&s, 2, 1);
    let d = day("2024-03-10");
    assert_eq!(s.days.keys().copied().collect::<Vec<_>>(), [d]);
    assert_eq!(s.days[&d].rows, 48);
    assert_eq!(s.days[&d].counts.written, 2);
    // Header on line 5 (after the 4 preamble lines); the bad record is line 8, the column its `HE 7` header.
    let r = only_reject(&rejects);
    assert_reject(r, 8, Some("HE 7"), "`x` is not a valid number");
    let t = table(&ds, &batches);
    assert_eq!(t.num_rows(), 48);
    let he = i16_col(&t, "hour_ending");
    let value = f64_col(&t, "value");
    let starts = ts_col(&t, "interval_start");
    let kinds = str_col(&t, "lmp_kind");
    for r in 0..48 {
        let h = (r % 24) as i16 + 1;
        assert_eq!(he[r], Some(h));
        let base = if r < 24 { 20.0 } else { -5.0 };
        assert_eq!(value[r], Some(base + f64::from(h)));
        assert_eq!(
            kinds[r].as_deref(),
            Some(if r < 24 { "LMP" } else { "MCC" })
        );
        // Fixed -05:00 (no DST even on 2024-03-10): HE 1 starts 05:00Z.
        assert_eq!(
            starts[r],
            utc("2024-03-10T05:00:00Z") + i64::from(h - 1) * HOUR
        );
    }
    assert_eq!(
        t.column_by_name("market_day")
            .unwrap()
            .as_primitive::<Date32Type>()
            .value(0),
        d
    );
    assert!(s.header.ignored.is_empty());
}

#[test]
fn unpivot_without_value_columns_is_missing_columns() {
    let ds = Arc::new(Dataset::from_toml("miso_like.toml", MISO_LIKE).unwrap());
    let input = b"1\n2\n3\n4\nNode,Type,Value,Date\nA,B,LMP,03/10/2024\n";
    match convert_err(&ds, input) {
        ConvertError::MissingColumns { missing, .. } => assert_eq!(missing, ["HE {1..24}"]),
        e => panic!("{e:?}"),
    }
}

const PRECEDENCE: &str = r#"
name = "readings"
version = 1
description = "Sensor readings republished as prelim, then final."

[partition]
column = "ts"
zone = "UTC"

[key]
columns = ["sensor", "ts"]
precedence = { column = "status", order = ["prelim", "final"] }

[[columns]]
name = "ts"
source = "ts"
type = "timestamp"
format = ["%Y-%m-%dT%H:%M:%SZ"]

[[columns]]
name = "sensor"
source = "sensor"
type = "utf8"

[[columns]]
name = "status"
source = "status"
type = "utf8"

[[columns]]
name = "v"
source = "v"
type = "float64"
"#;

#[test]
fn precedence_supersedes_instead_of_rejecting() {
    let ds = Arc::new(Dataset::from_toml("readings.toml", PRECEDENCE).unwrap());
    let input = b"ts,sensor,status,v\n\
        2024-01-01T00:00:00Z,a,prelim,1\n\
        2024-01-01T00:00:00Z,b,final,2\n\
        2024-01-01T00:00:00Z,a,final,3\n\
        2024-01-01T00:00:00Z,b,prelim,4\n\
        2024-01-01T00:00:00Z,b,final,5\n";
    let (s, batches, rejects) = convert_ok(&ds, input);
    assert_eq!(
        s.counts,
        RecordCounts {
            read: 5,
            written: 2,
            rejected: 1,
            superseded: 2
        }
    );
    let o = &s.days[&day("2024-01-01")];
    // Row 0 (a prelim) is replaced by row 2 (a final); b prelim loses to the b final already kept.
    assert_eq!(o.superseded_rows, [0]);
    assert_eq!(o.rows, 2);
    // The same rank twice is still a duplicate.
    assert_reject(only_reject(&rejects), 6, None, "first seen on line 3");
    assert_eq!(
        f64_col(&table(&ds, &batches), "v"),
        [Some(1.0), Some(2.0), Some(3.0)]
    );
}

const POSITIONAL: &str = r#"
name = "positional"
version = 1
description = "A headerless, semicolon-separated file."

[csv]
header = false
delimiter = ";"
null_values = ["NA", "-"]

[partition]
column = "ts"
zone = "UTC"

[key]
columns = ["sensor", "ts"]

[[columns]]
name = "ts"
position = 0
type = "timestamp"
format = ["epoch_s"]

[[columns]]
name = "sensor"
position = 1
type = "utf8"

[[columns]]
name = "v"
position = 2
type = "float64"
nullable = true

[[columns]]
name = "ok"
position = 3
type = "boolean"
"#;

#[test]
fn headerless_file_binds_by_position() {
    let ds = Arc::new(Dataset::from_toml("positional.toml", POSITIONAL).unwrap());
    let input = b"1700000000;s1;1.5;true\n1700000060;s1;NA;no\n1700000120;s1; - ;Y;extra\n1700000180;s1\n1700000240;s1;2;maybe\n";
    let (s, batches, rejects) = convert_ok(&ds, input);
    assert_counts(&s, 3, 2);
    assert!(s.header.found.is_empty());
    let t = table(&ds, &batches);
    assert_eq!(f64_col(&t, "v"), [Some(1.5), None, None]);
    assert_eq!(ts_col(&t, "ts")[0], 1_700_000_000_000_000);
    // Column names in rejects are the schema's names (there is no header).
    assert_reject(&rejects[0], 4, Some("v"), "short row");
    assert_reject(&rejects[1], 5, Some("ok"), "`maybe` is not a valid boolean");
}

#[test]
fn unpivot_with_precedence_counts_records_not_rows() {
    // A wide record superseded by a later one is one superseded record (and 24 dropped rows). This used
    // to subtract `written` once per row: an overflow panic in debug builds.
    let text = MISO_LIKE.replace(
        "columns = [\"node\", \"lmp_kind\", \"interval_start\"]",
        "columns = [\"node\", \"lmp_kind\", \"interval_start\"]\nprecedence = { column = \"node_type\", order = [\"prelim\", \"final\"] }",
    );
    assert_ne!(text, MISO_LIKE);
    let ds = Arc::new(Dataset::from_toml("miso_like_prec.toml", &text).unwrap());
    let values: Vec<String> = (1..=24).map(|h| h.to_string()).collect();
    let wide = |status: &str| -> Vec<u8> {
        miso_like_csv(&[("AECI", "LMP", values.clone())])
            .split(|b| *b == b'\n')
            .nth(5)
            .map(|l| String::from_utf8_lossy(l).replace("Interface", status))
            .unwrap()
            .into_bytes()
    };
    let d = day("2024-03-10");
    for (first, second, superseded_rows) in [
        ("prelim", "final", (0..24).collect::<Vec<u32>>()),
        ("final", "prelim", Vec::new()),
    ] {
        let mut input = miso_like_csv(&[]);
        for status in [first, second] {
            input.extend_from_slice(&wide(status));
            input.push(b'\n');
        }
        let (s, batches, rejects) = convert_ok(&ds, &input);
        assert!(rejects.is_empty());
        let want = RecordCounts {
            read: 2,
            written: 1,
            rejected: 0,
            superseded: 1,
        };
        assert_eq!(s.counts, want, "{first} then {second}");
        assert_eq!(s.days[&d].counts, want);
        assert_eq!(s.days[&d].rows, 24);
        assert_eq!(s.days[&d].superseded_rows, superseded_rows);
        let t = table(&ds, &batches);
        let kept: Vec<Option<String>> = str_col(&t, "node_type")
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !superseded_rows.contains(&(*i as u32)))
            .map(|(_, v)| v)
            .collect();
        assert_eq!(kept, vec![Some("final".to_string()); 24]);
    }
}
