//! Daylight-saving days end to end: 23- and 25-hour operating days in America/Los_Angeles (CAISO layout,
//! OPR_HR 25 for the repeated hour) and America/New_York (NYISO layout, repeated `01:00` labels), exact UTC
//! instants, expected rows for 23 and 25 hours, and a day missing an hour reported `incomplete`.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::America::{Los_Angeles, New_York};

use crate::common::*;

const TYPES: [&str; 4] = ["LMP", "MCC", "MCE", "MCL"];

/// CAISO hour-ending labels of a Pacific operating day and their UTC starts: HE h starts at local h−1:00,
/// the repeated 01:00 hour is labelled 25, and the skipped 02:00 hour has no label.
fn caiso_hours(day: NaiveDate) -> Vec<(u32, DateTime<Utc>)> {
    let mut out = Vec::new();
    for he in 1..=24u32 {
        let local = day.and_hms_opt(he - 1, 0, 0).unwrap();
        match Los_Angeles.from_local_datetime(&local) {
            chrono::LocalResult::Single(t) => out.push((he, t.with_timezone(&Utc))),
            chrono::LocalResult::Ambiguous(early, late) => {
                out.push((he, early.with_timezone(&Utc)));
                out.push((25, late.with_timezone(&Utc)));
            }
            chrono::LocalResult::None => {}
        }
    }
    out
}

fn caiso_day_csv(day: NaiveDate, skip_he: Option<u32>) -> String {
    let mut text = format!("{CAISO_HEADER}\n");
    for (he, start) in caiso_hours(day) {
        if Some(he) == skip_he {
            continue;
        }
        for (i, t) in TYPES.iter().enumerate() {
            text.push_str(&caiso_row(
                start,
                &day.to_string(),
                he,
                "TEST_7_N001",
                t,
                20.0 + i as f64,
            ));
            text.push('\n');
        }
    }
    text
}

fn instants(lake: &std::path::Path, dataset: &str, day: &str) -> Vec<i64> {
    use arrow::array::TimestampMicrosecondArray;
    let (batches, _) = read_parquet(&lake.join(format!("{dataset}/date={day}/part-0.parquet")));
    let mut out: Vec<i64> = batches
        .iter()
        .flat_map(|b| {
            let a = b
                .column_by_name("interval_start")
                .unwrap()
                .as_any()
                .downcast_ref::<TimestampMicrosecondArray>()
                .unwrap()
                .clone();
            assert_eq!(a.timezone(), Some("UTC"));
            a.values().to_vec()
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

fn utc(y: i32, m: u32, d: u32, h: u32) -> i64 {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0)
        .unwrap()
        .timestamp_micros()
}

#[test]
fn caiso_shaped_dst_days_have_exact_instants_and_23_or_25_hours() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let spring = NaiveDate::from_ymd_opt(2024, 3, 10).unwrap();
    let fall = NaiveDate::from_ymd_opt(2024, 11, 3).unwrap();
    let a = write(dir.path(), "spring.csv", caiso_day_csv(spring, None));
    let b = write(dir.path(), "fall.csv", caiso_day_csv(fall, None));
    let (code, s) = import_json(&lake, "caiso_lmp_dam", &[&a, &b], &[]);
    assert_eq!(code, 0, "{s}");
    let states = day_states(&lake, "caiso_lmp_dam", "2024-03-10", "2024-03-10");
    assert_eq!(
        (
            states[0].state.as_str(),
            states[0].expected_rows,
            states[0].written_rows
        ),
        ("complete", Some(92), 92)
    );
    let states = day_states(&lake, "caiso_lmp_dam", "2024-11-03", "2024-11-03");
    assert_eq!(
        (
            states[0].state.as_str(),
            states[0].expected_rows,
            states[0].written_rows
        ),
        ("complete", Some(100), 100)
    );

    // Spring: 00:00 PST = 08:00Z, HE2 01:00 PST = 09:00Z, then HE4 03:00 PDT = 10:00Z … HE24 = 06:00Z next day.
    let spring_i = instants(&lake, "caiso_lmp_dam", "2024-03-10");
    assert_eq!(spring_i.len(), 23);
    assert_eq!(
        (spring_i[0], spring_i[1], spring_i[2]),
        (
            utc(2024, 3, 10, 8),
            utc(2024, 3, 10, 9),
            utc(2024, 3, 10, 10)
        )
    );
    assert_eq!(*spring_i.last().unwrap(), utc(2024, 3, 11, 6));
    // Fall: 00:00 PDT = 07:00Z, HE2 = 08:00Z, HE25 (second 01:00) = 09:00Z, HE3 = 10:00Z … HE24 = 07:00Z next day.
    let fall_i = instants(&lake, "caiso_lmp_dam", "2024-11-03");
    assert_eq!(fall_i.len(), 25);
    assert_eq!(
        fall_i[..4],
        [
            utc(2024, 11, 3, 7),
            utc(2024, 11, 3, 8),
            utc(2024, 11, 3, 9),
            utc(2024, 11, 3, 10)
        ]
    );
    assert_eq!(*fall_i.last().unwrap(), utc(2024, 11, 4, 7));
    assert!(
        fall_i.windows(2).all(|w| w[1] - w[0] == 3_600_000_000),
        "consecutive hours, no gap or overlap"
    );

    // The fall-back day without its 25th hour: incomplete, 96 of 100 rows.
    let lake2 = dir.path().join("lake2");
    let c = write(dir.path(), "fall_short.csv", caiso_day_csv(fall, Some(25)));
    let (code, s) = import_json(&lake2, "caiso_lmp_dam", &[&c], &[]);
    assert_eq!(code, 0);
    assert_eq!(s["days"][0]["state"], "incomplete");
    let st = &day_states(&lake2, "caiso_lmp_dam", "2024-11-03", "2024-11-03")[0];
    assert_eq!(
        (
            st.state.as_str(),
            st.written_rows,
            st.expected_rows,
            st.availability_pct
        ),
        ("incomplete", 96, Some(100), Some(96.0))
    );
}

const NYISO_HEADER: &str = "\"Time Stamp\",\"Name\",\"PTID\",\"LBMP ($/MWHr)\",\"Marginal Cost Losses ($/MWHr)\",\"Marginal Cost Congestion ($/MWHr)\"";
const ZONES: [(&str, u32); 15] = [
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

/// A NYISO day-ahead zonal file in the real layout: hour-beginning Eastern labels, all zones per hour, the
/// repeated `01:00` written twice (no zone marker), the skipped `02:00` absent.
fn nyiso_day_csv(day: NaiveDate, skip_hour: Option<u32>) -> String {
    let mut text = format!("{NYISO_HEADER}\r\n");
    for h in 0..24u32 {
        if Some(h) == skip_hour {
            continue;
        }
        let local = day.and_hms_opt(h, 0, 0).unwrap();
        let times = match New_York.from_local_datetime(&local) {
            chrono::LocalResult::Single(_) => 1,
            chrono::LocalResult::Ambiguous(..) => 2,
            chrono::LocalResult::None => 0,
        };
        for _ in 0..times {
            for (name, ptid) in ZONES {
                text.push_str(&format!(
                    "\"{}\",\"{name}\",{ptid},31.25,1.10,-2.05\r\n",
                    local.format("%m/%d/%Y %H:%M:%S")
                ));
            }
        }
    }
    text
}

#[test]
fn nyiso_shaped_dst_days_resolve_repeated_labels_by_order() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let spring = NaiveDate::from_ymd_opt(2024, 3, 10).unwrap();
    let fall = NaiveDate::from_ymd_opt(2024, 11, 3).unwrap();
    let a = write(
        dir.path(),
        "20240310damlbmp_zone.csv",
        nyiso_day_csv(spring, None),
    );
    let b = write(
        dir.path(),
        "20241103damlbmp_zone.csv",
        nyiso_day_csv(fall, None),
    );
    let (code, s) = import_json(&lake, "nyiso_lbmp_dam_zonal", &[&a, &b], &[]);
    assert_eq!(code, 0, "{s}");
    assert_eq!(s["records"]["rejected"], 0, "{s}");
    let st = day_states(&lake, "nyiso_lbmp_dam_zonal", "2024-03-10", "2024-03-10");
    assert_eq!(
        (
            st[0].state.as_str(),
            st[0].expected_rows,
            st[0].written_rows
        ),
        ("complete", Some(15 * 23), 15 * 23)
    );
    let st = day_states(&lake, "nyiso_lbmp_dam_zonal", "2024-11-03", "2024-11-03");
    assert_eq!(
        (
            st[0].state.as_str(),
            st[0].expected_rows,
            st[0].written_rows
        ),
        ("complete", Some(15 * 25), 15 * 25)
    );
    // 00:00 EST = 05:00Z; 01:00 EST = 06:00Z; 03:00 EDT = 07:00Z.
    let spring_i = instants(&lake, "nyiso_lbmp_dam_zonal", "2024-03-10");
    assert_eq!(spring_i.len(), 23);
    assert_eq!(
        spring_i[..3],
        [
            utc(2024, 3, 10, 5),
            utc(2024, 3, 10, 6),
            utc(2024, 3, 10, 7)
        ]
    );
    // 00:00 EDT = 04:00Z; first 01:00 (EDT) = 05:00Z; second 01:00 (EST) = 06:00Z; 02:00 EST = 07:00Z.
    let fall_i = instants(&lake, "nyiso_lbmp_dam_zonal", "2024-11-03");
    assert_eq!(fall_i.len(), 25);
    assert_eq!(
        fall_i[..4],
        [
            utc(2024, 11, 3, 4),
            utc(2024, 11, 3, 5),
            utc(2024, 11, 3, 6),
            utc(2024, 11, 3, 7)
        ]
    );
    assert_eq!(*fall_i.last().unwrap(), utc(2024, 11, 4, 4));

    // A day missing an hour: incomplete with its availability.
    let lake2 = dir.path().join("lake2");
    let c = write(
        dir.path(),
        "20240310damlbmp_zone_short.csv",
        nyiso_day_csv(spring, Some(12)),
    );
    import_json(&lake2, "nyiso_lbmp_dam_zonal", &[&c], &[]);
    let st = &day_states(&lake2, "nyiso_lbmp_dam_zonal", "2024-03-10", "2024-03-10")[0];
    assert_eq!(
        (
            st.state.as_str(),
            st.written_rows,
            st.expected_rows,
            st.availability_pct
        ),
        ("incomplete", 15 * 22, Some(15 * 23), Some(95.65))
    );
}
