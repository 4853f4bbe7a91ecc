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
