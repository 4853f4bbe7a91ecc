//! `gridlake sql` and `gridlake status`: open the lake's SQL session (gridlake-shell) and choose between the
//! batch runner, stdin and the REPL.

use std::io::{IsTerminal, Read, Write};
use std::path::Path;

use anyhow::Context;
use gridlake_lake::Lake;
use gridlake_schema::Catalog;
use gridlake_shell::{LakeSession, OutputFormat, Shell, repl, status};

use crate::args::SqlArgs;

/// Runs `gridlake sql`. Exit 0 when every statement ran; an error (the first failing statement, with the
/// ones after it not run) goes back to `main`, which prints it and exits 1, as DuckDB's `-f` does.
pub(crate) async fn sql(lake: Lake, catalog: Catalog, args: SqlArgs) -> anyhow::Result<u8> {
    let session = LakeSession::open(lake, catalog).await?;
    let mut shell = Shell::new(session, args.format);
    let batch = !args.commands.is_empty() || !args.files.is_empty() || args.query.is_some();
    if !batch && args.output.is_none() && std::io::stdin().is_terminal() {
        anyhow::ensure!(
            args.format != OutputFormat::Parquet,
            "--format parquet needs --output FILE or a batch (-c, -f, --query)"
        );
        repl::run(&mut shell, repl::history_path()).await?;
        return Ok(0);
    }
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => {
            // Parquet bytes on a terminal help no one and can upset it.
            anyhow::ensure!(
                args.format != OutputFormat::Parquet || !std::io::stdout().is_terminal(),
                "--format parquet writes binary: give --output FILE or redirect stdout"
            );
            Box::new(std::io::stdout())
        }
    };
    if !batch {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read SQL from stdin")?;
        shell.run_sql(&text, &mut out).await?;
    }
    for sql in &args.commands {
        shell.run_sql(sql, &mut out).await?;
    }
    for file in &args.files {
        shell
            .run_file(&file.display().to_string(), &mut out)
            .await?;
    }
    if let Some(name) = &args.query {
        shell.run_query(name, &mut out).await?;
    }
    out.flush()?;
    Ok(0)
}

/// Runs `gridlake status`: the per-dataset summary on stdout, and the calendar to `--html` or `--svg`.
pub(crate) async fn status(
    lake: Lake,
    catalog: &Catalog,
    html: Option<&Path>,
    svg: Option<&Path>,
) -> anyhow::Result<u8> {
    let names: Vec<String> = catalog.iter().map(|d| d.name().to_string()).collect();
    let coverage = status::coverage(&lake, &names).await?;
    print!("{}", status::summary(&coverage));
    if let Some(path) = html {
        std::fs::write(path, status::html(&coverage, lake.location()))
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    if let Some(path) = svg {
        std::fs::write(path, status::svg(&coverage))
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(0)
}
