//! The recordings compiled into gridlake: one or more answers per built-in source, served at the paths the
//! real services use, so `gridlake demo` and the source conformance tests go through the real HTTP path
//! offline. Real recorded bytes are used wherever a real sample exists (see `tests/fixtures/*/PROVENANCE.md`);
//! the rest are labelled synthetic there. OASIS always answers with a zip: where only the CSV member of a real
//! answer was published, the zip around it is built here (deflate, one member, the member's own OASIS name),
//! which is what OASIS sends.

use std::io::Write;

use bytes::Bytes;
use chrono::{Days, NaiveDate};

use crate::{ParamMatcher, PathPattern, Recorded, Recording, ReplayError};

macro_rules! fixture {
    ($path:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/",
            $path
        ))
    };
}

/// One dataset's recorded days: what `gridlake demo` ingests and what the conformance suite checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRange {
    /// Dataset.
    pub dataset: &'static str,
    /// First day recorded.
    pub start: NaiveDate,
    /// Last day recorded (inclusive).
    pub end: NaiveDate,
    /// Whether the recording is real bytes (else synthetic, built from SOURCES.md).
    pub real: bool,
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

fn days(start: NaiveDate, end: NaiveDate) -> Vec<NaiveDate> {
    start.iter_days().take_while(|d| *d <= end).collect()
}

/// The recorded ranges, one per built-in dataset.
pub fn ranges() -> Vec<RecordedRange> {
    vec![
        RecordedRange {
            dataset: "caiso_lmp_dam",
            start: date(2018, 10, 13),
            end: date(2018, 11, 6),
            real: true,
        },
        RecordedRange {
            dataset: "caiso_lmp_rtm",
            start: date(2024, 6, 1),
            end: date(2024, 6, 1),
            real: false,
        },
        RecordedRange {
            dataset: "caiso_load_forecast",
            start: date(2024, 6, 1),
            end: date(2024, 6, 1),
            real: false,
        },
        RecordedRange {
            dataset: "miso_lmp_da_exante",
            start: date(2024, 3, 10),
            end: date(2024, 3, 10),
            real: false,
        },
        RecordedRange {
            dataset: "nyiso_lbmp_dam_zonal",
            start: date(2024, 3, 10),
            end: date(2024, 3, 10),
            real: false,
        },
        RecordedRange {
            dataset: "binance_klines",
            start: date(2021, 11, 27),
            end: date(2021, 11, 27),
            real: true,
        },
        RecordedRange {
            dataset: "reach_dosimeter",
            start: date(2025, 9, 1),
            end: date(2025, 9, 1),
            real: true,
        },
    ]
}

/// A zip with one deflated member, as OASIS and Binance send.
pub fn zip_one(member: &str, data: &[u8]) -> Result<Bytes, ReplayError> {
    zip_members(&[(member, data)])
}

/// A zip with deflated members, in order (a monthly archive of daily files).
pub fn zip_members(members: &[(&str, &[u8])]) -> Result<Bytes, ReplayError> {
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut buf);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let fixture = |e: &dyn std::fmt::Display| ReplayError::Fixture(e.to_string());
    for (member, data) in members {
        zip.start_file(*member, options).map_err(|e| fixture(&e))?;
        zip.write_all(data).map_err(|e| fixture(&e))?;
    }
    zip.finish().map_err(|e| fixture(&e))?;
    Ok(Bytes::from(buf.into_inner()))
}

/// A Binance `.CHECKSUM` body for `body` published as `file_name`: `<sha256>  <file_name>`.
pub fn sha256sum_line(body: &[u8], file_name: &str) -> String {
    use sha2::{Digest, Sha256};
    format!("{}  {file_name}\n", hex::encode(Sha256::digest(body)))
}

fn binance_zip(dir: &str, name: &str, body: Bytes) -> [Recording; 2] {
    let checksum = sha256sum_line(&body, name);
    [
        Recording::get(
            PathPattern::exact(format!("{dir}/{name}")),
            Recorded::ok("application/zip", body),
        ),
        Recording::get(
            PathPattern::exact(format!("{dir}/{name}.CHECKSUM")),
            Recorded::ok("text/plain", checksum),
        ),
    ]
}

/// OASIS's "no data" answer: a zip holding `INVALID_REQUEST.xml` with error 1000 (layout from SOURCES.md;
/// synthetic, as no raw error zip was found).
pub fn oasis_no_data_zip() -> Result<Bytes, ReplayError> {
    zip_one(
        "INVALID_REQUEST.xml",
        br#"<?xml version="1.0" encoding="UTF-8"?>
<m:OASISReport xmlns:m="http://www.caiso.com/soa/OASISReport_v1.xsd"><m:MessageHeader><m:TimeDate>2024-06-02T08:15:02-00:00</m:TimeDate><m:Source>OASIS</m:Source><m:Version>v20131201</m:Version></m:MessageHeader><m:MessagePayload><m:RTO><m:name>CAISO</m:name><m:ERROR><m:ERR_CODE>1000</m:ERR_CODE><m:ERR_DESC>No data returned for the specified selection</m:ERR_DESC></m:ERROR></m:RTO></m:MessagePayload></m:OASISReport>
"#,
    )
}

fn oasis(
    queryname: &str,
    market: &str,
    covers: Vec<NaiveDate>,
    body: Bytes,
) -> Result<Recording, ReplayError> {
    Ok(Recording::get(
        PathPattern::exact("/oasisapi/SingleZip"),
        Recorded::ok("application/x-zip-compressed", body),
    )
    .with_query("queryname", ParamMatcher::exact(queryname))
    .with_query("market_run_id", ParamMatcher::exact(market))
    .with_query("resultformat", ParamMatcher::exact("6"))
    .with_query(
        "startdatetime",
        ParamMatcher::date_format("%Y%m%dT%H:%M%z")?,
    )
    .with_query("enddatetime", ParamMatcher::any())
    .covering(covers))
}

/// Every built-in recording. Base URLs for the sources: CAISO `<server>/oasisapi`, MISO `<server>`, NYISO
/// `<server>/public/csv`, Binance `<server>`, REACH `<server>/reach/REACH-ALL_{date:%Y%m%d}T000000_{next:%Y%m%d}T000000.csv`.
pub fn recordings() -> Result<Vec<Recording>, ReplayError> {
    let mut out = Vec::new();
    // CAISO day-ahead LMP: the real single-node answer for 2018-10-13 .. 2018-11-06 (with the 25-hour
    // fall-back day), and the real ALL_APNODES zip as OASIS served it.
    let dam_member = "20181013_20181107_PRC_LMP_DAM_20200511_16_08_16_v1.csv";
    out.push(oasis(
        "PRC_LMP",
        "DAM",
        days(date(2018, 10, 13), date(2018, 11, 6)),
        zip_one(
            dam_member,
            fixture!("real/caiso/20181013_20181107_PRC_LMP_DAM_20200511_16_08_16_v1.csv"),
        )?,
    )?);
    out.push(oasis(
        "PRC_LMP",
        "DAM",
        vec![date(2020, 1, 1), date(2020, 1, 2)],
        Bytes::from_static(fixture!(
            "real/caiso/oasis_singlezip_PRC_LMP_DAM_ALL_APNODES_20200101.zip"
        )),
    )?);
    out.push(oasis(
        "PRC_INTVL_LMP",
        "RTM",
        vec![date(2024, 6, 1)],
        zip_one(
            "20240601_20240602_PRC_INTVL_LMP_RTM_20240602_08_15_02_v3.csv",
            fixture!(
                "synthetic/caiso/20240601_20240602_PRC_INTVL_LMP_RTM_20240602_08_15_02_v3.csv"
            ),
        )?,
    )?);
    out.push(oasis(
        "SLD_FCST",
        "DAM",
        vec![date(2024, 6, 1)],
        zip_one(
            "20240601_20240602_SLD_FCST_DAM_20240531_13_35_12_v1.csv",
            fixture!("synthetic/caiso/20240601_20240602_SLD_FCST_DAM_20240531_13_35_12_v1.csv"),
        )?,
    )?);
    out.push(oasis(
        "SLD_FCST",
        "DAM",
        vec![date(2024, 11, 3)],
        zip_one(
            "20241103_20241104_SLD_FCST_DAM_20241102_13_35_12_v1.csv",
            fixture!("synthetic/caiso/20241103_20241104_SLD_FCST_DAM_20241102_13_35_12_v1.csv"),
        )?,
    )?);
    // The day after the recorded RTM day has no data: OASIS's error-1000 answer.
    out.push(oasis(
        "PRC_INTVL_LMP",
        "RTM",
        vec![date(2024, 6, 2)],
        oasis_no_data_zip()?,
    )?);
    // MISO day-ahead ex-ante LMP (synthetic: no real file was found).
    out.push(Recording::get(
        PathPattern::exact("/marketreports/20240310_da_exante_lmp.csv"),
        Recorded::ok(
            "text/csv",
            Bytes::from_static(fixture!("synthetic/miso/20240310_da_exante_lmp.csv")),
        ),
    ));
    // NYISO day-ahead zonal LBMP (synthetic daily files: the spring-forward, a summer and the fall-back day).
    for name in [
        "20240310damlbmp_zone.csv",
        "20240601damlbmp_zone.csv",
        "20241103damlbmp_zone.csv",
    ] {
        let body: &'static [u8] = match name {
            "20240310damlbmp_zone.csv" => fixture!("synthetic/nyiso/20240310damlbmp_zone.csv"),
            "20240601damlbmp_zone.csv" => fixture!("synthetic/nyiso/20240601damlbmp_zone.csv"),
            _ => fixture!("synthetic/nyiso/20241103damlbmp_zone.csv"),
        };
        out.push(Recording::get(
            PathPattern::exact(format!("/public/csv/damlbmp/{name}")),
            Recorded::ok("text/csv", Bytes::from_static(body)),
        ));
    }
    // Binance klines: a daily zip of real rows with its CHECKSUM sibling.
    let kline_dir = "/data/spot/daily/klines/ADABTC/1m";
    out.push(Recording::get(
        PathPattern::exact(format!("{kline_dir}/ADABTC-1m-2021-11-27.zip")),
        Recorded::ok(
            "application/zip",
            Bytes::from_static(fixture!("synthetic/binance/ADABTC-1m-2021-11-27.zip")),
        ),
    ));
    out.push(Recording::get(
        PathPattern::exact(format!("{kline_dir}/ADABTC-1m-2021-11-27.zip.CHECKSUM")),
        Recorded::ok(
            "text/plain",
            Bytes::from_static(fixture!(
                "synthetic/binance/ADABTC-1m-2021-11-27.zip.CHECKSUM"
            )),
        ),
    ));
    // Archives beyond the conformance ranges, for the monthly and microsecond paths. NYISO's monthly zip holds
    // the month's daily files (here the one day recorded, so the rest of March answers "no data").
    out.push(Recording::get(
        PathPattern::exact("/public/csv/damlbmp/20240301damlbmp_zone_csv.zip"),
        Recorded::ok(
            "application/zip",
            zip_members(&[(
                "20240310damlbmp_zone.csv",
                fixture!("synthetic/nyiso/20240310damlbmp_zone.csv"),
            )])?,
        ),
    ));
    // Binance's monthly zip of November 2021 from the two real (trimmed) days, with its checksum.
    out.extend(binance_zip(
        "/data/spot/monthly/klines/ADABTC/1m",
        "ADABTC-1m-2021-11.zip",
        zip_members(&[(
            "ADABTC-1m-2021-11.csv",
            &[
                &fixture!("real/binance/ADABTC-1m-2021-11-27.csv")[..],
                &fixture!("real/binance/ADABTC-1m-2021-11-28.csv")[..],
            ]
            .concat(),
        )])?,
    ));
    // A 2025 day: microsecond timestamps and a header row (synthetic).
    out.extend(binance_zip(
        "/data/spot/daily/klines/BTCUSDT/1m",
        "BTCUSDT-1m-2025-01-01.zip",
        zip_one(
            "BTCUSDT-1m-2025-01-01.csv",
            fixture!("synthetic/binance/BTCUSDT-1m-2025-01-01.csv"),
        )?,
    ));
    // REACH dosimeter records: the real day file.
    let reach_day = date(2025, 9, 1);
    out.push(Recording::get(
        PathPattern::exact(format!(
            "/reach/REACH-ALL_{}T000000_{}T000000.csv",
            reach_day.format("%Y%m%d"),
            reach_day
                .checked_add_days(Days::new(1))
                .unwrap_or(reach_day)
                .format("%Y%m%d")
        )),
        Recorded::ok(
            "text/csv",
            Bytes::from_static(fixture!(
                "real/reach/REACH-ALL_20250901T000000_20250902T000000.csv"
            )),
        ),
    ));
    Ok(out)
}
