//! `gridlake status`: the state of every day of every dataset, as a terminal summary and as a coverage
//! calendar (HTML or SVG: one cell per day coloured by state, hover for rows and availability).
//!
//! The pages are self-contained (inline CSS, no script, no fonts or images fetched), so they can be mailed,
//! attached to a ticket or opened from an S3 console as they are.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use gridlake_lake::{DayState, DayStatus, Lake};

use crate::error::Result;

/// The days of one dataset, first to last day it has anything for.
#[derive(Debug, Clone)]
pub struct DatasetCoverage {
    /// Dataset name.
    pub dataset: String,
    /// Every day of its history, in order.
    pub days: Vec<DayStatus>,
}

impl DatasetCoverage {
    /// Days per state.
    pub fn counts(&self) -> BTreeMap<DayState, usize> {
        let mut counts = BTreeMap::new();
        for d in &self.days {
            *counts.entry(d.state).or_insert(0) += 1;
        }
        counts
    }

    /// 100 × rows written / rows expected over the days that know what to expect.
    pub fn availability_pct(&self) -> Option<f64> {
        let (written, expected) = self
            .days
            .iter()
            .filter_map(|d| d.expected_rows.map(|e| (d.written_rows, e)))
            .fold((0u64, 0u64), |(w, e), (dw, de)| (w + dw, e + de));
        gridlake_lake::availability_pct(written, Some(expected))
    }
}

/// The coverage of every dataset that has a file or a record in the lake.
pub async fn coverage(lake: &Lake, datasets: &[String]) -> Result<Vec<DatasetCoverage>> {
    let rows = crate::tables::current_state(lake, datasets).await?;
    let mut by: BTreeMap<String, Vec<DayStatus>> = BTreeMap::new();
    for r in rows {
        by.entry(r.dataset.clone()).or_default().push(r);
    }
    Ok(by
        .into_iter()
        .map(|(dataset, days)| DatasetCoverage { dataset, days })
        .collect())
}

const STATES: [DayState; 5] = [
    DayState::Complete,
    DayState::Incomplete,
    DayState::NoData,
    DayState::Failed,
    DayState::Missing,
];

/// One line per dataset: its range, days per state and availability.
pub fn summary(coverage: &[DatasetCoverage]) -> String {
    let mut out = String::new();
    if coverage.is_empty() {
        out.push_str("the lake holds no dataset yet\n");
        return out;
    }
    let width = coverage.iter().map(|c| c.dataset.len()).max().unwrap_or(0);
    for c in coverage {
        let counts = c.counts();
        let (first, last) = match (c.days.first(), c.days.last()) {
            (Some(f), Some(l)) => (f.day.as_str(), l.day.as_str()),
            _ => ("", ""),
        };
        let states: Vec<String> = STATES
            .iter()
            .map(|s| format!("{} {s}", counts.get(s).copied().unwrap_or(0)))
            .collect();
        let avail = c
            .availability_pct()
            .map_or_else(|| "n/a".to_string(), |a| format!("{a:.2}%"));
        let _ = writeln!(
            out,
            "{:<width$}  {first} .. {last}  {:>5} {}: {}; availability {avail}",
            c.dataset,
            c.days.len(),
            days_word(c.days.len()),
            states.join(", ")
        );
    }
    out
}

fn days_word(n: usize) -> &'static str {
    if n == 1 { "day" } else { "days" }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// What the hover of a day says.
fn title(d: &DayStatus) -> String {
    let rows = match d.expected_rows {
        Some(e) => format!("{} of {e} rows", d.written_rows),
        None => format!("{} rows", d.written_rows),
    };
    let avail = d
        .availability_pct
        .map(|a| format!(" ({a:.2}%)"))
        .unwrap_or_default();
    let attempts = match d.attempts {
        1 => "1 attempt".to_string(),
        n => format!("{n} attempts"),
    };
    let err = d
        .last_error
        .as_deref()
        .map(|e| format!("; {e}"))
        .unwrap_or_default();
    format!("{} {}: {rows}{avail}, {attempts}{err}", d.day, d.state)
}

/// Month (`YYYY-MM`) → day of month → status.
fn months(days: &[DayStatus]) -> BTreeMap<&str, BTreeMap<u32, &DayStatus>> {
    let mut m: BTreeMap<&str, BTreeMap<u32, &DayStatus>> = BTreeMap::new();
    for d in days {
        let (Some(month), Some(dom)) = (d.day.get(..7), d.day.get(8..10)) else {
            continue;
        };
        if let Ok(dom) = dom.parse::<u32>() {
            m.entry(month).or_default().insert(dom, d);
        }
    }
    m
}

const CSS: &str = "body{font:14px system-ui,sans-serif;margin:2em;color:#1f2328}\
h1{font-size:1.4em}h2{font-size:1.1em;margin:1.6em 0 .3em}p.s{margin:0 0 .6em;color:#59636e}\
table.cal{border-collapse:separate;border-spacing:2px}table.cal th{font-weight:normal;color:#59636e;\
font-size:11px;text-align:right;padding-right:6px}table.cal th.d{font-size:9px;text-align:center;padding:0;\
width:14px;min-width:14px;max-width:14px}table.cal td{width:14px;min-width:14px;max-width:14px;height:14px;\
border-radius:2px;padding:0}td.complete{background:#2da44e}td.incomplete{background:#d4a72c}td.no_data{background:#8c959f}\
td.failed{background:#cf222e}td.missing{background:#fff;outline:1px solid #d1d9e0}td.none{background:none}\
.legend span{display:inline-block;width:12px;height:12px;border-radius:2px;margin:0 4px 0 12px;\
vertical-align:-2px}";

/// A self-contained HTML page: per dataset, one row per month and one cell per day.
pub fn html(coverage: &[DatasetCoverage], lake: &str) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>gridlake coverage: {}</title>\
         <style>{CSS}</style></head><body>\n<h1>Coverage of {}</h1>\n<p class=\"legend\">",
        escape(lake),
        escape(lake)
    );
    for s in STATES {
        let _ = write!(
            out,
            "<span class=\"{s}\" style=\"{}\"></span>{s}",
            legend_style(s)
        );
    }
    out.push_str("</p>\n");
    if coverage.is_empty() {
        out.push_str("<p>The lake holds no dataset yet.</p>\n");
    }
    for c in coverage {
        let counts = c.counts();
        let states: Vec<String> = STATES
            .iter()
            .map(|s| format!("{} {s}", counts.get(s).copied().unwrap_or(0)))
            .collect();
        let avail = c
            .availability_pct()
            .map_or_else(|| "n/a".to_string(), |a| format!("{a:.2}%"));
        let _ = write!(
            out,
            "<h2 id=\"{0}\">{0}</h2>\n<p class=\"s\">{1} {3}: {2}; availability {avail}</p>\n\
             <table class=\"cal\" data-dataset=\"{0}\">\n<tr><th></th>",
            escape(&c.dataset),
            c.days.len(),
            states.join(", "),
            days_word(c.days.len())
        );
        for dom in 1..=31 {
            // Narrow day numbers in fixed-width columns: "31" must not make its column wider than "1"'s.
            let _ = write!(out, "<th class=\"d\">{dom}</th>");
        }
        out.push_str("</tr>\n");
        for (month, days) in months(&c.days) {
            let _ = write!(out, "<tr><th>{month}</th>");
            for dom in 1..=31 {
                match days.get(&dom) {
                    Some(d) => {
                        let _ = write!(
                            out,
                            "<td class=\"{0}\" data-day=\"{1}\" data-state=\"{0}\" title=\"{2}\"></td>",
                            d.state,
                            d.day,
                            escape(&title(d))
                        );
                    }
                    None => out.push_str("<td class=\"none\"></td>"),
                }
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</table>\n");
    }
    out.push_str("</body></html>\n");
    out
}

fn legend_style(s: DayState) -> &'static str {
    match s {
        DayState::Complete => "background:#2da44e",
        DayState::Incomplete => "background:#d4a72c",
        DayState::NoData => "background:#8c959f",
        DayState::Failed => "background:#cf222e",
        DayState::Missing => "background:#fff;outline:1px solid #d1d9e0",
    }
}

fn fill(s: DayState) -> &'static str {
    match s {
        DayState::Complete => "#2da44e",
        DayState::Incomplete => "#d4a72c",
        DayState::NoData => "#8c959f",
        DayState::Failed => "#cf222e",
        DayState::Missing => "#ffffff",
    }
}

/// The same calendar as one SVG image (a `<title>` per cell is the hover).
pub fn svg(coverage: &[DatasetCoverage]) -> String {
    const CELL: usize = 14;
    const LEFT: usize = 70;
    let mut body = String::new();
    let mut y = 20;
    for c in coverage {
        let _ = writeln!(
            body,
            "<text x=\"0\" y=\"{}\" font-weight=\"bold\">{}</text>",
            y + 12,
            escape(&c.dataset)
        );
        y += 20;
        for (month, days) in months(&c.days) {
            let _ = writeln!(
                body,
                "<text x=\"0\" y=\"{}\" font-size=\"11\">{month}</text>",
                y + 11
            );
            for (dom, d) in days {
                let x = LEFT + (dom as usize - 1) * CELL;
                let _ = writeln!(
                    body,
                    "<rect x=\"{x}\" y=\"{y}\" width=\"12\" height=\"12\" rx=\"2\" fill=\"{}\" stroke=\"#d1d9e0\" \
                     data-day=\"{}\" data-state=\"{}\"><title>{}</title></rect>",
                    fill(d.state),
                    d.day,
                    d.state,
                    escape(&title(d))
                );
            }
            y += CELL;
        }
        y += 10;
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{y}\" font-family=\"sans-serif\" \
         font-size=\"13\">\n{body}</svg>\n",
        LEFT + 31 * CELL
    )
}
