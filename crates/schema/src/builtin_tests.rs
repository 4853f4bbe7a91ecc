//! One test group per built-in dataset beyond the original three: each converts its real fixture (or, where no
//! real file exists, its synthetic one; see the PROVENANCE.md beside it) through the shared harness of
//! `convert_tests` (whole and chunked pushes must agree; accounting must balance), then checks exact counts,
//! instants, values, DST behaviour and the reasons of a few bad lines. Also: the converter features these
//! datasets brought (preamble values, input context, header detection, list-of-dict extraction, coalesce).

use std::sync::Arc;

use crate::convert_tests::{
    FILE, HOUR, assert_counts, assert_reject, convert_in, convert_ok, dataset, day, f64_col,
    i16_col, i64_col, only_reject, str_col, table, ts_col, utc,
};
use crate::{ConvertError, Dataset, InputContext, RecordCounts};

macro_rules! fixture {
    ($path:literal) => {
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/",
            $path
        ))
        .unwrap()
    };
}

fn no_ctx() -> InputContext {
    InputContext::default()
}

/// Replaces the first occurrence of `from` in `input` (which must contain it).
fn edit(input: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8(input.to_vec()).unwrap();
    assert!(text.contains(from), "`{from}` not in input");
    text.replacen(from, to, 1).into_bytes()
}

// ---------------------------------------------------------------------------------------------------------
// CAISO PRC_INTVL_LMP (RTM, 5-minute), synthetic
// ---------------------------------------------------------------------------------------------------------

#[test]
fn caiso_rtm_synthetic_day() {
    let ds = dataset("caiso_lmp_rtm");
    let input =
        fixture!("synthetic/caiso/20240601_20240602_PRC_INTVL_LMP_RTM_20240602_08_15_02_v3.csv");
    let (s, batches, rejects) = convert_ok(&ds, &input);
    assert!(rejects.is_empty(), "{rejects:#?}");
    // 2 nodes × 4 LMP types × 288 five-minute intervals.
    assert_counts(&s, 2304, 0);
    let d = day("2024-06-01");
    assert_eq!(s.days.keys().copied().collect::<Vec<_>>(), [d]);
    let c = ds.completeness().unwrap();
    assert_eq!(c.intervals(d), 288);
    assert_eq!(c.expected_rows(d, 8), s.days[&d].rows);
    assert_eq!(c.intervals(day("2024-03-10")), 276);
    assert_eq!(c.intervals(day("2024-11-03")), 300);
    let t = table(&ds, &batches);
    let starts = ts_col(&t, "interval_start");
    assert_eq!(starts[0], utc("2024-06-01T07:00:00Z"));
    assert_eq!(starts.iter().min(), Some(&utc("2024-06-01T07:00:00Z")));
    assert_eq!(starts.iter().max(), Some(&utc("2024-06-02T06:55:00Z")));
    let ends = ts_col(&t, "interval_end");
    assert!(
        starts
            .iter()
            .zip(&ends)
            .all(|(s, e)| e - s == 5 * 60_000_000)
    );
    let intervals = i16_col(&t, "opr_interval");
    assert_eq!(
        intervals[..13],
        [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4].map(Some)
    );
    assert_eq!(f64_col(&t, "price")[0], Some(32.43968));
    assert_eq!(str_col(&t, "market_run_id")[0].as_deref(), Some("RTM"));
    // The price column is `VALUE` here; `MW` (PRC_LMP v1) is its alias.
    assert!(s.header.bound.contains(&("price".into(), "VALUE".into())));
}

#[test]
fn caiso_rtm_bad_lines() {
    let ds = dataset("caiso_lmp_rtm");
    let input =
        fixture!("synthetic/caiso/20240601_20240602_PRC_INTVL_LMP_RTM_20240602_08_15_02_v3.csv");
    // Line 2: interval 0 (an hourly DAM value in an RTM file); line 3: a DAM row.
    let bad = edit(
        &input,
        "2024-06-01,1,1,0096WD_7_N001",
        "2024-06-01,1,0,0096WD_7_N001",
    );
    let bad = edit(&bad, ",RTM,MCC,", ",DAM,MCC,");
    let (s, _, rejects) = convert_ok(&ds, &bad);
    assert_counts(&s, 2302, 2);
    assert_reject(&rejects[0], 2, Some("OPR_INTERVAL"), "below the minimum 1");
    assert_reject(
        &rejects[1],
        3,
        Some("MARKET_RUN_ID"),
        "not one of the allowed values",
    );
    assert_eq!(rejects[1].day, Some(day("2024-06-01")));
}

// ---------------------------------------------------------------------------------------------------------
// CAISO SLD_FCST (load forecast), synthetic
// ---------------------------------------------------------------------------------------------------------

#[test]
fn caiso_load_forecast_synthetic_days() {
    let ds = dataset("caiso_load_forecast");
    let input = fixture!("synthetic/caiso/20240601_20240602_SLD_FCST_DAM_20240531_13_35_12_v1.csv");
    let (s, batches, rejects) = convert_ok(&ds, &input);
    assert!(rejects.is_empty(), "{rejects:#?}");
    // 5 TAC areas × 24 hours.
    assert_counts(&s, 120, 0);
    let d = day("2024-06-01");
    assert_eq!(
        ds.completeness().unwrap().expected_rows(d, 5),
        s.days[&d].rows
    );
    let t = table(&ds, &batches);
    assert_eq!(ts_col(&t, "interval_start")[0], utc("2024-06-01T07:00:00Z"));
    assert_eq!(
        ts_col(&t, "interval_start")[23],
        utc("2024-06-02T06:00:00Z")
    );
    assert_eq!(
        str_col(&t, "tac_area_name")[0].as_deref(),
        Some("CA ISO-TAC")
    );
    assert_eq!(f64_col(&t, "load_mw")[0], Some(14300.0));

    // Fall-back day: 25 hours, the repeated 01:00 labelled OPR_HR 25 at 09:00Z.
    let input = fixture!("synthetic/caiso/20241103_20241104_SLD_FCST_DAM_20241102_13_35_12_v1.csv");
    let (s, batches, _) = convert_ok(&ds, &input);
    assert_counts(&s, 125, 0);
    let d = day("2024-11-03");
    assert_eq!(ds.completeness().unwrap().expected_rows(d, 5), 125);
    let t = table(&ds, &batches);
    assert_eq!(i16_col(&t, "opr_hr")[2], Some(25));
    assert_eq!(ts_col(&t, "interval_start")[2], utc("2024-11-03T09:00:00Z"));
}

#[test]
fn caiso_load_forecast_bad_lines() {
    let ds = dataset("caiso_load_forecast");
    let input = fixture!("synthetic/caiso/20240601_20240602_SLD_FCST_DAM_20240531_13_35_12_v1.csv");
    let bad = edit(&input, ",0,DAM,CA ISO-TAC,", ",0,RTD,CA ISO-TAC,");
    let (s, _, rejects) = convert_ok(&ds, &bad);
    assert_counts(&s, 119, 1);
    assert_reject(
        only_reject(&rejects),
        2,
        Some("MARKET_RUN_ID"),
        "`RTD` is not one",
    );
    let bad = edit(&input, ",1,14300.0,", ",1,-5,");
    let (_, _, rejects) = convert_ok(&ds, &bad);
    assert_reject(only_reject(&rejects), 2, Some("MW"), "below the minimum 0");
}

// ---------------------------------------------------------------------------------------------------------
// MISO day-ahead ex-ante LMP, synthetic
// ---------------------------------------------------------------------------------------------------------

fn miso_fixture() -> Vec<u8> {
    fixture!("synthetic/miso/20240310_da_exante_lmp.csv")
}

#[test]
fn miso_synthetic_day_unpivots_in_fixed_est() {
    let ds = dataset("miso_lmp_da_exante");
    let (s, batches, rejects) = convert_in(&ds, &miso_fixture(), FILE, &no_ctx()).unwrap();
    assert!(rejects.is_empty(), "{rejects:#?}");
    // 20 nodes × 3 components = 60 records, 24 hours each.
    assert_counts(&s, 60, 0);
    let d = day("2024-03-10");
    assert_eq!(s.days.keys().copied().collect::<Vec<_>>(), [d]);
    assert_eq!(s.days[&d].rows, 1440);
    // EST all year: the US spring-forward day still has 24 hours.
    assert_eq!(ds.completeness().unwrap().expected_rows(d, 60), 1440);
    assert_eq!(s.header.found.len(), 27);
    assert!(s.footer.is_none());
    let t = table(&ds, &batches);
    let starts = ts_col(&t, "interval_start");
    let he = i16_col(&t, "hour_ending");
    // HE 1 covers [00:00, 01:00) EST = 05:00Z; HE 24 starts 04:00Z the next day.
    assert_eq!((he[0], starts[0]), (Some(1), utc("2024-03-10T05:00:00Z")));
    assert_eq!(
        (he[23], starts[23]),
        (Some(24), utc("2024-03-11T04:00:00Z"))
    );
    assert!((0..1440).all(|r| starts[r] == starts[r - r % 24] + (r % 24) as i64 * HOUR));
    assert_eq!(str_col(&t, "node")[0].as_deref(), Some("AECI"));
    assert_eq!(str_col(&t, "value_type")[24].as_deref(), Some("MCC"));
    assert_eq!(f64_col(&t, "price")[0], Some(13.71));
    assert_eq!(str_col(&t, "node")[1439].as_deref(), Some("AMIL.EDWARDS3"));
    assert_eq!(str_col(&t, "node_type")[1439].as_deref(), Some("Gennode"));
}

#[test]
fn miso_lf_quoted_fields_and_footer_give_the_same_rows() {
    let ds = dataset("miso_lmp_da_exante");
    let (_, want, _) = convert_in(&ds, &miso_fixture(), FILE, &no_ctx()).unwrap();
    let lf = String::from_utf8(miso_fixture())
        .unwrap()
        .replace("\r\n", "\n");
    let quoted = lf
        .replace("\nAECI,Interface,", "\n\"AECI\",\"Interface\",")
        .replace("03/10/2024\n", "\"03/10/2024\",,,\n");
    let with_footer = format!("{quoted}Prices are in $/MWh.\n");
    let (s, got, rejects) = convert_in(&ds, with_footer.as_bytes(), FILE, &no_ctx()).unwrap();
    assert!(rejects.is_empty(), "{rejects:#?}");
    assert_counts(&s, 60, 0);
    assert_eq!(s.footer.as_deref(), Some("Prices are in $/MWh."));
    assert_eq!(got.len(), want.len());
    for (a, b) in got.iter().zip(&want) {
        assert_eq!(a.batch, b.batch);
    }
    // A footer-like line that is not the last line is a reject, never dropped silently.
    let mid = quoted.replacen("\nEEI,", "\nnote\nEEI,", 1);
    let (s, _, rejects) = convert_in(&ds, mid.as_bytes(), FILE, &no_ctx()).unwrap();
    assert_counts(&s, 60, 1);
    assert_reject(only_reject(&rejects), 9, None, "looks like a footer");
}

#[test]
fn miso_preamble_is_raw_lines_so_a_quote_in_the_title_does_not_swallow_the_header() {
    let ds = dataset("miso_lmp_da_exante");
    let input = edit(&miso_fixture(), "Day Ahead Market", "Day \"Ahead Market");
    let (s, _, rejects) = convert_in(&ds, &input, FILE, &no_ctx()).unwrap();
    assert!(rejects.is_empty());
    assert_counts(&s, 60, 0);
    // Line numbers still count the preamble: the first data record is line 6.
    let bad = edit(&input, "AECI,Interface,LMP,13.71", "AECI,Interface,LMP,x");
    let (_, _, rejects) = convert_in(&ds, &bad, FILE, &no_ctx()).unwrap();
    assert_reject(
        only_reject(&rejects),
        6,
        Some("HE 1"),
        "`x` is not a valid number",
    );
}

#[test]
fn miso_bad_or_missing_market_date_refuses_the_file() {
    let ds = dataset("miso_lmp_da_exante");
    let bad = edit(&miso_fixture(), "03/10/2024", "13/45/2024");
    match convert_in(&ds, &bad, FILE, &no_ctx()).unwrap_err() {
        e @ ConvertError::BadContext { .. } => {
            let msg = e.to_string();
            for phrase in [
                "`market_date` = `13/45/2024`",
                "preamble line 2",
                "market_date",
            ] {
                assert!(msg.contains(phrase), "{msg}");
            }
        }
        e => panic!("{e:?}"),
    }
    let blank = edit(&miso_fixture(), "03/10/2024", "");
    match convert_in(&ds, &blank, FILE, &no_ctx()).unwrap_err() {
        ConvertError::MissingContext { name, hint, .. } => {
            assert_eq!(name, "market_date");
            assert!(hint.contains("preamble"), "{hint}");
        }
        e => panic!("{e:?}"),
    }
    // A caller that knows the date (from the URL) can supply it for such a file.
    let ctx = InputContext::new().with("market_date", "2024-03-10");
    let (s, _, _) = convert_in(&ds, &blank, FILE, &ctx).unwrap();
    assert_eq!(
        s.days.keys().copied().collect::<Vec<_>>(),
        [day("2024-03-10")]
    );
}

// ---------------------------------------------------------------------------------------------------------
// NYISO day-ahead zonal LBMP, synthetic full days; the real RT file's shapes
// ---------------------------------------------------------------------------------------------------------

fn nyiso_zone_starts(ds: &Dataset, input: &[u8], rows: u64) -> (Vec<i64>, Vec<f64>) {
    let (s, batches, rejects) = convert_ok(&Arc::new(ds.clone()), input);
    assert!(rejects.is_empty(), "{rejects:#?}");
    assert_counts(&s, rows, 0);
    let t = table(ds, &batches);
    let names = str_col(&t, "zone_name");
    let nyc: Vec<bool> = names
        .iter()
        .map(|n| n.as_deref() == Some("N.Y.C."))
        .collect();
    let starts = ts_col(&t, "interval_start")
        .into_iter()
        .zip(&nyc)
        .filter(|(_, k)| **k)
        .map(|(v, _)| v)
        .collect();
    let lbmp = f64_col(&t, "lbmp")
        .into_iter()
        .zip(&nyc)
        .filter(|(_, k)| **k)
        .filter_map(|(v, _)| v)
        .collect();
    (starts, lbmp)
}

#[test]
fn nyiso_dam_synthetic_days() {
    let ds = dataset("nyiso_lbmp_dam_zonal");
    let c = ds.completeness().unwrap();
    for (file, date, hours, first) in [
        (
            fixture!("synthetic/nyiso/20240601damlbmp_zone.csv"),
            "2024-06-01",
            24,
            "2024-06-01T04:00:00Z",
        ),
        (
            fixture!("synthetic/nyiso/20241103damlbmp_zone.csv"),
            "2024-11-03",
            25,
            "2024-11-03T04:00:00Z",
        ),
        (
            fixture!("synthetic/nyiso/20240310damlbmp_zone.csv"),
            "2024-03-10",
            23,
            "2024-03-10T05:00:00Z",
        ),
    ] {
        let (starts, lbmp) = nyiso_zone_starts(&ds, &file, hours * 15);
        let d = day(date);
        assert_eq!(c.intervals(d), hours, "{date}");
        assert_eq!(c.expected_rows(d, 0), hours * 15, "{date}");
        // One zone's hours follow each other without a gap or a repeat, whatever the labels do.
        let want: Vec<i64> = (0..hours as i64).map(|h| utc(first) + h * HOUR).collect();
        assert_eq!(starts, want, "{date}");
        assert_eq!(lbmp.len(), hours as usize);
    }
    let (_, lbmp) = nyiso_zone_starts(
        &ds,
        &fixture!("synthetic/nyiso/20240601damlbmp_zone.csv"),
        360,
    );
    assert_eq!(lbmp[0], 20.65);
}

#[test]
fn nyiso_dam_schema_reads_the_real_file_shapes() {
    // The real (RT, trimmed) file has the same header and quoting as the DAM file.
    let ds = dataset("nyiso_lbmp_dam_zonal");
    let (s, batches, rejects) = convert_ok(&ds, &fixture!("real/nyiso/lmp.csv"));
    assert!(rejects.is_empty(), "{rejects:#?}");
    assert_counts(&s, 45, 0);
    assert_eq!(s.header.bound.len(), 6);
    let t = table(&ds, &batches);
    assert_eq!(ts_col(&t, "interval_start")[0], utc("2016-02-18T05:15:00Z"));
    assert_eq!(str_col(&t, "zone_name")[0].as_deref(), Some("CAPITL"));
    assert_eq!(i64_col(&t, "ptid")[0], Some(61757));
    assert_eq!(f64_col(&t, "lbmp")[0], Some(21.53));
    let bad = edit(
        &fixture!("synthetic/nyiso/20240601damlbmp_zone.csv"),
        ",61757,",
        ",CAP,",
    );
    let (_, _, rejects) = convert_ok(&ds, &bad);
    assert_reject(
        only_reject(&rejects),
        2,
        Some("PTID"),
        "`CAP` is not a valid integer",
    );
}

// ---------------------------------------------------------------------------------------------------------
// Binance klines: real 2021 files (ms, no header), synthetic 2025 file (µs, header)
// ---------------------------------------------------------------------------------------------------------

#[test]
fn binance_real_headerless_ms_file_symbol_from_the_name() {
    let ds = dataset("binance_klines");
    let input = fixture!("real/binance/ADABTC-1m-2021-11-27.csv");
    for name in [
        "ADABTC-1m-2021-11-27.csv",
        "ADABTC-1m-2021-11-27.zip!ADABTC-1m-2021-11-27.csv",
    ] {
        let (s, batches, rejects) = convert_in(&ds, &input, name, &no_ctx()).unwrap();
        assert!(rejects.is_empty(), "{rejects:#?}");
        assert_counts(&s, 10, 0);
        assert!(s.header.found.is_empty(), "no header row in 2021 files");
        let d = day("2021-11-27");
        assert_eq!(s.days.keys().copied().collect::<Vec<_>>(), [d]);
        assert_eq!(ds.completeness().unwrap().expected_rows(d, 1), 1440);
        let t = table(&ds, &batches);
        assert_eq!(str_col(&t, "symbol"), vec![Some("ADABTC".to_string()); 10]);
        assert_eq!(str_col(&t, "interval")[0].as_deref(), Some("1m"));
        let open = ts_col(&t, "open_time");
        let close = ts_col(&t, "close_time");
        assert_eq!(open[0], utc("2021-11-27T00:00:00Z"));
        assert_eq!(open[9], utc("2021-11-27T00:09:00Z"));
        assert_eq!(close[0], open[1] - 1_000, "close = next open - 1 ms");
        assert_eq!(f64_col(&t, "close")[0], Some(0.00002854));
        assert_eq!(f64_col(&t, "volume")[0], Some(36304.2));
        assert_eq!(i64_col(&t, "number_of_trades")[0], Some(79));
    }
}

#[test]
fn binance_caller_context_wins_over_the_name() {
    let ds = dataset("binance_klines");
    let ctx = InputContext::new()
        .with("symbol", "ADABTC")
        .with("interval", "1m");
    let input = fixture!("real/binance/ADABTC-1m-2021-11-28.csv");
    let (s, batches, _) = convert_in(&ds, &input, FILE, &ctx).unwrap();
    assert_counts(&s, 11, 0);
    let t = table(&ds, &batches);
    assert_eq!(str_col(&t, "symbol")[10].as_deref(), Some("ADABTC"));
    assert_eq!(ts_col(&t, "open_time")[0], utc("2021-11-28T00:00:00Z"));
}

#[test]
fn binance_2025_microsecond_file_with_header() {
    let ds = dataset("binance_klines");
    let input = fixture!("synthetic/binance/BTCUSDT-1m-2025-01-01.csv");
    let (s, batches, rejects) =
        convert_in(&ds, &input, "BTCUSDT-1m-2025-01-01.csv", &no_ctx()).unwrap();
    assert!(rejects.is_empty(), "{rejects:#?}");
    assert_counts(&s, 10, 0);
    assert_eq!(
        s.header.found.len(),
        12,
        "header detected and bound by name"
    );
    assert!(
        s.header
            .bound
            .contains(&("number_of_trades".into(), "count".into()))
    );
    assert_eq!(s.header.ignored, ["ignore"]);
    let t = table(&ds, &batches);
    let open = ts_col(&t, "open_time");
    let close = ts_col(&t, "close_time");
    // 16-digit µs and 13-digit ms land on the same scale: a minute apart is 60 s in both.
    assert_eq!(open[0], utc("2025-01-01T00:00:00Z"));
    assert_eq!(open[1] - open[0], 60_000_000);
    assert_eq!(close[0], open[1] - 1, "close = next open - 1 µs");
    assert_eq!(str_col(&t, "symbol")[0].as_deref(), Some("BTCUSDT"));
    assert_eq!(f64_col(&t, "open")[0], Some(93576.0));
}

#[test]
fn binance_missing_symbol_or_other_interval_refuses_the_file() {
    let ds = dataset("binance_klines");
    let input = fixture!("real/binance/ADABTC-1m-2021-11-27.csv");
    let e = convert_in(&ds, &input, "klines.csv", &no_ctx()).unwrap_err();
    match &e {
        ConvertError::MissingContext { name, column, .. } => {
            assert_eq!((name.as_str(), column.as_str()), ("symbol", "symbol"));
        }
        e => panic!("{e:?}"),
    }
    assert!(e.to_string().contains("Supply it with the input"), "{e}");
    let e = convert_in(&ds, &input, "ADABTC-5m-2021-11-27.csv", &no_ctx()).unwrap_err();
    match &e {
        ConvertError::BadContext { name, value, .. } => {
            assert_eq!((name.as_str(), value.as_str()), ("interval", "5m"));
        }
        e => panic!("{e:?}"),
    }
    assert!(e.to_string().contains("schema_dir"), "{e}");
}

#[test]
fn binance_bad_lines() {
    let ds = dataset("binance_klines");
    let ctx = InputContext::new()
        .with("symbol", "ADABTC")
        .with("interval", "1m");
    let input = fixture!("real/binance/ADABTC-1m-2021-11-27.csv");
    let bad = edit(&input, ",0.00002859,0.00002860,", ",0.00002859,abc,");
    let mut bad = edit(&bad, "\n1637971440000,", "\n1637971380000,");
    bad.extend_from_slice(b"1637971800000,1,2\n");
    let (s, _, rejects) = convert_in(&ds, &bad, FILE, &ctx).unwrap();
    assert_counts(&s, 8, 3);
    assert_reject(&rejects[0], 3, Some("high"), "`abc` is not a valid number");
    assert_reject(
        &rejects[1],
        5,
        None,
        "duplicate key (symbol, open_time) first seen on line 4",
    );
    assert_reject(&rejects[2], 11, Some("low"), "short row");
}

// ---------------------------------------------------------------------------------------------------------
// REACH dosimeter: three real layouts
// ---------------------------------------------------------------------------------------------------------

#[test]
fn reach_25_column_python_repr_layout() {
    let ds = dataset("reach_dosimeter");
    let input = fixture!("real/reach/REACH-ALL_20250901T000000_20250902T000000.csv");
    let (s, batches, rejects) = convert_ok(&ds, &input);
    assert!(rejects.is_empty(), "{rejects:#?}");
    assert_counts(&s, 99, 0);
    let d = day("2025-09-01");
    assert_eq!(s.days.keys().copied().collect::<Vec<_>>(), [d]);
    assert_eq!(ds.completeness().unwrap().intervals(d), 17_280);
    let t = table(&ds, &batches);
    assert_eq!(str_col(&t, "id_sensor")[0].as_deref(), Some("REACH-135"));
    assert_eq!(str_col(&t, "flavour")[0].as_deref(), Some("X"));
    assert_eq!(str_col(&t, "flavour")[1].as_deref(), Some("Z"));
    assert_eq!(ts_col(&t, "ob_time")[0], utc("2025-09-01T00:00:00Z"));
    assert_eq!(f64_col(&t, "dose")[0], Some(4.02944e-05));
    assert_eq!(str_col(&t, "dose_unit")[0].as_deref(), Some("rad/second"));
    assert_eq!(i16_col(&t, "ob_quality")[0], Some(0));
    assert_eq!(str_col(&t, "descriptor")[0].as_deref(), Some("PROVISIONAL"));
    assert_eq!(str_col(&t, "particle_type")[0].as_deref(), Some("PROTONS"));
    assert_eq!(f64_col(&t, "lat")[0], Some(-36.5228));
    assert_eq!(f64_col(&t, "alt")[0], Some(792.509));
    assert_eq!(
        str_col(&t, "sen_pos")[0].as_deref(),
        Some("[2641.6304332, -5135.1932749, -4251.2205054]")
    );
    assert_eq!(
        ts_col(&t, "ob_time").iter().max(),
        Some(&utc("2025-09-01T00:00:30Z"))
    );
}

#[test]
fn reach_43_column_json_layout_with_trailing_delimiter() {
    let ds = dataset("reach_dosimeter");
    let input = fixture!("real/reach/REACH-ALL_20251205T060517_20251205T060517.csv");
    let (s, batches, rejects) = convert_ok(&ds, &input);
    assert!(rejects.is_empty(), "{rejects:#?}");
    assert_counts(&s, 99, 0);
    // Named 2025-12-05 (generation), holding 2025-12-01 observations.
    assert_eq!(
        s.days.keys().copied().collect::<Vec<_>>(),
        [day("2025-12-01")]
    );
    let t = table(&ds, &batches);
    assert_eq!(str_col(&t, "id_sensor")[0].as_deref(), Some("REACH-170"));
    assert_eq!(str_col(&t, "flavour")[0].as_deref(), Some("Z"));
    assert_eq!(f64_col(&t, "dose")[0], Some(5.820433436476043e-7));
    assert_eq!(ts_col(&t, "ob_time")[0], utc("2025-12-01T07:03:25Z"));
    let q = i16_col(&t, "ob_quality");
    assert_eq!(q.iter().filter(|v| **v == Some(1)).count(), 2);
    // Three observations carry the fill value -1.0E31: kept, with a null dose.
    assert_eq!(
        f64_col(&t, "dose").iter().filter(|v| v.is_none()).count(),
        3
    );
    assert!(
        s.header
            .bound
            .contains(&("flavour".into(), "obSetId".into()))
    );
}

#[test]
fn reach_10_column_layout_takes_the_flavour_from_the_description() {
    let ds = dataset("reach_dosimeter");
    let input = fixture!("real/reach/REACH-TEST_20250904T000000_20250904T010000.csv");
    let (s, batches, rejects) = convert_ok(&ds, &input);
    assert!(rejects.is_empty(), "{rejects:#?}");
    assert_counts(&s, 716, 0);
    assert!(s.header.absent.contains(&"particle_type".to_string()));
    assert!(
        s.header
            .bound
            .contains(&("flavour".into(), "seoList".into()))
    );
    let t = table(&ds, &batches);
    let flavours = str_col(&t, "flavour");
    assert_eq!(
        flavours[..4],
        ["U", "W", "X", "Y"].map(|f| Some(f.to_string()))
    );
    assert_eq!(f64_col(&t, "dose")[2], Some(5.6952380952380975e-05));
    // Two observations carry the fill value (here written -1e+31): kept, with a null dose.
    assert_eq!(
        f64_col(&t, "dose").iter().filter(|v| v.is_none()).count(),
        2
    );
    assert_eq!(str_col(&t, "particle_type")[0], None);
    assert_eq!(
        i16_col(&t, "ob_quality")
            .iter()
            .filter(|v| **v == Some(16))
            .count(),
        24
    );
}

const REACH_TEST_HEADER: &str =
    "idSensor,observatoryName,obTime,createdAt,seoList,senPos,lat,lon,alt,descriptor\n";

fn reach_row(sensor: &str, seo: &str, descriptor: &str) -> String {
    format!(
        "{sensor},Iridium-168,2025-09-04T00:00:05.000Z,2025-09-04T01:31:28.692Z,\"{seo}\",\"[1.0, 2.0, 3.0]\",-45.9,126.2,796.6,{descriptor}\n"
    )
}

fn seo(value: &str, description: &str) -> String {
    format!(
        "[{{'obType': 'Energetic Charged Particle', 'obUoM': 'rad/second', 'obValue': {value}, 'obQuality': '0', 'obDescription': '{description}'}}]"
    )
}

#[test]
fn reach_provisional_supersedes_quicklook_in_either_order() {
    let ds = dataset("reach_dosimeter");
    let ql = reach_row(
        "REACH-175",
        &seo("1.5e-06", "DOSE2 (Flavor U) in rad/second"),
        "QUICKLOOK",
    );
    let pv = reach_row(
        "REACH-175",
        &seo("2.5e-06", "DOSE2 (Flavor U) in rad/second"),
        "PROVISIONAL",
    );
    for rows in [[&ql, &pv], [&pv, &ql]] {
        let input = format!("{REACH_TEST_HEADER}{}{}", rows[0], rows[1]);
        let (s, batches, rejects) = convert_ok(&ds, input.as_bytes());
        assert!(rejects.is_empty());
        assert_eq!(
            s.counts,
            RecordCounts {
                read: 2,
                written: 1,
                rejected: 0,
                superseded: 1
            }
        );
        let t = table(&ds, &batches);
        let d = &s.days[&day("2025-09-04")];
        let kept: Vec<_> = f64_col(&t, "dose")
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !d.superseded_rows.contains(&(*i as u32)))
            .map(|(_, v)| v)
            .collect();
        assert_eq!(kept, [Some(2.5e-06)], "PROVISIONAL wins");
    }
}

#[test]
fn reach_both_seolist_forms_and_bad_cells() {
    let ds = dataset("reach_dosimeter");
    let json = "[{\"\"obUoM\"\":\"\"rad/second\"\",\"\"obValue\"\":7.5E-7,\"\"obQuality\"\":null,\"\"obDescription\"\":\"\"DOSE1 (Flavor X) in rad/second\"\"}]";
    let rows = [
        reach_row("REACH-1", json, "QUICKLOOK"),
        reach_row(
            "REACH-2",
            &seo("1e-06", "DOSE1 (Flavor X) in rad/second"),
            "QUICKLOOK",
        ),
        reach_row(
            "REACH-3",
            "[{'obUoM': 'rad/second', 'obDescription': 'DOSE1 (Flavor X)'}]",
            "QUICKLOOK",
        ),
        reach_row("REACH-4", &seo("2e-06", "DOSE1 in rad/second"), "QUICKLOOK"),
        reach_row("REACH-5", "{'obValue': 1}", "QUICKLOOK"),
        reach_row(
            "REACH-6",
            &format!(
                "{}, {}]",
                seo("1", "(Flavor X)").trim_end_matches(']'),
                "{'obValue': 2}"
            ),
            "QUICKLOOK",
        ),
        reach_row(
            "REACH-7",
            &seo("lots", "DOSE1 (Flavor X) in rad/second"),
            "QUICKLOOK",
        ),
    ];
    let input = format!("{REACH_TEST_HEADER}{}", rows.concat());
    let (s, batches, rejects) = convert_ok(&ds, input.as_bytes());
    assert_counts(&s, 2, 5);
    let t = table(&ds, &batches);
    assert_eq!(f64_col(&t, "dose"), [Some(7.5e-7), Some(1e-06)]);
    assert_eq!(
        i16_col(&t, "ob_quality"),
        [None, Some(0)],
        "JSON null is null"
    );
    assert_eq!(str_col(&t, "flavour"), [Some("X".into()), Some("X".into())]);
    assert_reject(&rejects[0], 4, Some("seoList"), "key `obValue` is absent");
    assert_reject(
        &rejects[1],
        5,
        Some("seoList"),
        "does not match `\\(Flavor ([A-Z])\\)`",
    );
    assert_reject(&rejects[2], 6, Some("seoList"), "expected `[` at byte 1");
    assert_reject(&rejects[3], 7, Some("seoList"), "more than one observation");
    assert_reject(
        &rejects[4],
        8,
        Some("seoList"),
        "`lots` is not a valid number",
    );
    assert!(rejects.iter().all(|r| r.day == Some(day("2025-09-04"))));
}

// ---------------------------------------------------------------------------------------------------------
// Schema rules of the new features
// ---------------------------------------------------------------------------------------------------------

#[test]
fn new_feature_schema_mistakes_are_invalid() {
    let binance = include_str!("../../../schemas/binance_klines.toml");
    let reach = include_str!("../../../schemas/reach_dosimeter.toml");
    let miso = include_str!("../../../schemas/miso_lmp_da_exante.toml");
    let cases = [
        (
            binance.replacen("position = 0\n", "", 1),
            "needs both `source` and `position`",
        ),
        (
            binance.replace(
                "context = \"symbol\"",
                "context = \"symbol\"\nsource = \"s\"",
            ),
            "a `context` column reads no field",
        ),
        (
            reach.replace(
                "capture = \"^REACH_([A-Z])$\"",
                "capture = \"^REACH_[A-Z]$\"",
            ),
            "needs a group",
        ),
        (
            reach.replace(
                "type = \"utf8\"\npattern = \"[A-Z]\"",
                "type = \"utf8\"\nsource = \"x\"\npattern = \"[A-Z]\"",
            ),
            "put source/aliases/extract/capture inside",
        ),
        (
            miso.replace("{ line = 2,", "{ line = 7,"),
            "not a preamble line",
        ),
    ];
    for (text, phrase) in cases {
        match Dataset::from_toml("edited.toml", &text) {
            Err(crate::SchemaError::Invalid { message, .. }) => {
                assert!(message.contains(phrase), "`{message}` lacks `{phrase}`");
            }
            other => panic!("expected Invalid with `{phrase}`, got {other:?}"),
        }
    }
    // `header` takes true, false or "auto"; anything else names the choices.
    let e = Dataset::from_toml(
        "x.toml",
        &binance.replace("header = \"auto\"", "header = \"maybe\""),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("true, false or \"auto\""), "{e}");
}
