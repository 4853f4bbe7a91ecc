//! What the commands print: a human summary, or `--json`.

use std::io::Write;
use std::sync::Arc;

use gridlake_ingest::RunSummary;
use gridlake_schema::Dataset;

fn json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

pub(crate) fn datasets(list: &[Arc<Dataset>], as_json: bool) -> anyhow::Result<()> {
    if as_json {
        let defs: Vec<_> = list.iter().map(|d| d.definition()).collect();
        return json(&defs);
    }
    let mut out = std::io::stdout().lock();
    for ds in list {
        let def = ds.definition();
        writeln!(out, "{} (v{}) — {}", def.name, def.version, def.description)?;
        writeln!(
            out,
            "  partition: date = {} in {}",
            def.partition.column, def.partition.zone
        )?;
        writeln!(out, "  key: {}", def.key.columns.join(", "))?;
        if let Some(c) = &def.completeness {
            let per = if c.per.is_empty() {
                String::new()
            } else {
                format!(" per ({})", c.per.join(", "))
            };
            let keys = c
                .keys
                .map(|k| format!(", {k} expected"))
                .unwrap_or_default();
            writeln!(
                out,
                "  complete day: one row every {}{per}{keys}",
                c.interval
            )?;
        }
        for col in &def.columns {
            let src = col
                .source
                .as_deref()
                .map(|s| format!("  ← \"{s}\""))
                .unwrap_or_default();
            let unit = col
                .unit
                .as_deref()
                .map(|u| format!(" [{u}]"))
                .unwrap_or_default();
            let null = if col.nullable { " null" } else { "" };
            writeln!(
                out,
                "    {:<28} {}{null}{unit}{src}",
                col.name,
                gridlake_schema::arrow_type(col.kind)
            )?;
        }
        writeln!(out)?;
    }
    Ok(())
}

fn inputs_and_rejects(out: &mut impl Write, s: &RunSummary) -> std::io::Result<()> {
    for i in &s.inputs {
        match &i.error {
            Some(e) => writeln!(out, "  input {}: REFUSED: {e}", i.name)?,
            None => {
                let c = i.records;
                writeln!(
                    out,
                    "  input {}: {} read, {} written, {} rejected, {} superseded; days {}",
                    i.name,
                    c.read,
                    c.written,
                    c.rejected,
                    c.superseded,
                    summarize_days(&i.days)
                )?;
                if !i.header.ignored.is_empty() {
                    writeln!(out, "    ignored columns: {}", i.header.ignored.join(", "))?;
                }
                if !i.header.absent.is_empty() {
                    writeln!(
                        out,
                        "    absent optional columns (null): {}",
                        i.header.absent.join(", ")
                    )?;
                }
                for r in &i.rejects {
                    let col = r.column.as_deref().unwrap_or("-");
                    writeln!(out, "    reject {}:{} [{col}] {}", r.file, r.line, r.reason)?;
                }
                if (i.rejects.len() as u64) < c.rejected {
                    writeln!(
                        out,
                        "    … {} more rejects",
                        c.rejected - i.rejects.len() as u64
                    )?;
                }
            }
        }
    }
    Ok(())
}

fn summarize_days(days: &[String]) -> String {
    match days {
        [] => "none".into(),
        [one] => one.clone(),
        [first, .., last] => format!("{first} … {last} ({})", days.len()),
    }
}

pub(crate) fn validate(s: &RunSummary, as_json: bool) -> anyhow::Result<()> {
    if as_json {
        return json(s);
    }
    let mut out = std::io::stdout().lock();
    let c = s.records;
    writeln!(
        out,
        "validate {}: {} read, {} would be written, {} rejected, {} superseded",
        s.dataset, c.read, c.written, c.rejected, c.superseded
    )?;
    inputs_and_rejects(&mut out, s)?;
    Ok(())
}

pub(crate) fn import(s: &RunSummary, as_json: bool) -> anyhow::Result<()> {
    if as_json {
        return json(s);
    }
    let mut out = std::io::stdout().lock();
    let c = s.records;
    writeln!(
        out,
        "import {} into {} (run {}): {} read, {} written, {} rejected, {} superseded in {:.1}s",
        s.dataset,
        s.lake.as_deref().unwrap_or("-"),
        s.run_id,
        c.read,
        c.written,
        c.rejected,
        c.superseded,
        s.elapsed_ms as f64 / 1000.0
    )?;
    inputs_and_rejects(&mut out, s)?;
    for d in &s.days {
        let avail = d
            .availability_pct
            .map(|a| format!(" ({a:.2}%)"))
            .unwrap_or_default();
        let expected = d.expected_rows.map(|e| format!("/{e}")).unwrap_or_default();
        let note = if d.unchanged { " unchanged" } else { "" };
        let err = d
            .error
            .as_deref()
            .map(|e| format!(": {e}"))
            .unwrap_or_default();
        writeln!(
            out,
            "  day {} {:<10} {}{expected} rows{avail}{note}{err}",
            d.day,
            d.state.as_str(),
            d.rows
        )?;
    }
    if s.has_failures() {
        writeln!(
            out,
            "finished with failures: {} input(s) refused, {} day(s) failed (exit 3)",
            s.failed_inputs, s.failed_days
        )?;
    }
    Ok(())
}

/// `gridlake gaps`: one row per day (ARCHITECTURE §7 columns), JSON as an array of those rows.
pub(crate) fn gaps(
    dataset: &str,
    rows: &[gridlake_lake::DayStatus],
    days_in_range: usize,
    as_json: bool,
) -> anyhow::Result<()> {
    if as_json {
        return json(&rows);
    }
    let mut out = std::io::stdout().lock();
    let gaps = rows.iter().filter(|r| r.state.is_gap()).count();
    writeln!(
        out,
        "{dataset}: {gaps} gap day(s) in {days_in_range} day(s) checked"
    )?;
    if rows.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "{:<12} {:<11} {:>10} {:>10} {:>8} {:>8}  last error",
        "day", "state", "expected", "written", "avail%", "attempts"
    )?;
    for r in rows {
        writeln!(
            out,
            "{:<12} {:<11} {:>10} {:>10} {:>8} {:>8}  {}",
            r.day,
            r.state.as_str(),
            r.expected_rows.map(|e| e.to_string()).unwrap_or_default(),
            r.written_rows,
            r.availability_pct
                .map(|a| format!("{a:.2}"))
                .unwrap_or_default(),
            r.attempts,
            r.last_error.as_deref().unwrap_or("")
        )?;
    }
    Ok(())
}

/// `ingest` / `sync` / `backfill`: prints the summary (or its JSON) and returns the text for notifications.
pub(crate) fn fetch(
    summary: &crate::acquire::FetchSummary,
    as_json: bool,
) -> anyhow::Result<String> {
    use std::fmt::Write as _;
    let mut t = String::new();
    for d in &summary.datasets {
        let run = &d.run;
        let skipped: Vec<String> = d
            .plan
            .skipped
            .iter()
            .map(|(k, v)| {
                format!(
                    "{v} {}",
                    serde_json::to_value(k)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                )
            })
            .collect();
        let _ = writeln!(
            t,
            "{}: {} day(s) planned{}{}",
            run.dataset,
            d.plan.days.len(),
            if skipped.is_empty() {
                String::new()
            } else {
                format!(", skipped: {}", skipped.join(", "))
            },
            if d.plan.outside_window > 0 {
                format!(", {} outside the published window", d.plan.outside_window)
            } else {
                String::new()
            }
        );
        if summary.dry_run {
            for r in &d.requests {
                let _ = writeln!(t, "  would GET {}  ({})", r.url, r.days.join(", "));
            }
            continue;
        }
        let mut by_state: std::collections::BTreeMap<&str, usize> = Default::default();
        for day in &run.days {
            *by_state.entry(day.state.as_str()).or_default() += 1;
        }
        let states: Vec<String> = by_state.iter().map(|(k, v)| format!("{v} {k}")).collect();
        let _ = writeln!(
            t,
            "  {} request(s), {} HTTP attempt(s); days: {}; records read {}, written {}, rejected {}, superseded {}",
            d.requests.len(),
            d.http_requests,
            if states.is_empty() {
                "none".to_string()
            } else {
                states.join(", ")
            },
            run.records.read,
            run.records.written,
            run.records.rejected,
            run.records.superseded
        );
        for day in run.days.iter().filter(|x| x.error.is_some()) {
            let _ = writeln!(
                t,
                "  {} {}: {}",
                day.day,
                day.state.as_str(),
                day.error.as_deref().unwrap_or("")
            );
        }
        for i in run.inputs.iter().filter(|i| i.records.rejected > 0) {
            let _ = writeln!(
                t,
                "  {}: {} record(s) rejected (see the rejects table)",
                i.name, i.records.rejected
            );
        }
    }
    if summary.failed_days > 0 {
        let _ = writeln!(
            t,
            "{} day(s) failed: they are recorded in the ledger and fetched again by the next run (or `gridlake backfill`)",
            summary.failed_days
        );
    }
    if as_json {
        json(summary)?;
    } else {
        print!("{t}");
    }
    Ok(t)
}

/// `gridlake verify`: every violation, or a one-line all-clear.
/// `gridlake ledger compact`.
pub(crate) fn compact(
    lake: &str,
    outcomes: &[gridlake_lake::CompactOutcome],
    as_json: bool,
) -> anyhow::Result<()> {
    if as_json {
        return json(&outcomes);
    }
    let mut out = std::io::stdout().lock();
    if outcomes.is_empty() {
        writeln!(out, "{lake}: the ledger holds no run records")?;
    }
    for o in outcomes {
        match &o.compacted {
            Some(file) => writeln!(
                out,
                "{}: {} record file(s) folded into {file} ({} run records)",
                o.dataset, o.files_folded, o.records
            )?,
            None if o.raced => writeln!(
                out,
                "{}: another compaction ran at the same time and folded the records",
                o.dataset
            )?,
            None => writeln!(out, "{}: already compact", o.dataset)?,
        }
    }
    Ok(())
}

pub(crate) fn verify(
    lake: &str,
    violations: &[gridlake_lake::Violation],
    as_json: bool,
) -> anyhow::Result<()> {
    if as_json {
        return json(&violations);
    }
    let mut out = std::io::stdout().lock();
    if violations.is_empty() {
        writeln!(out, "{lake}: every rule holds")?;
        return Ok(());
    }
    writeln!(out, "{lake}: {} violation(s)", violations.len())?;
    for v in violations {
        writeln!(out, "  [{}] {}: {}", v.rule, v.path, v.detail)?;
    }
    Ok(())
}
