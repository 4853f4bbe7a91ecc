//! gridlake's one integration test binary: the CLI and the library crates driven end to end over real
//! files, with DuckDB and pyarrow (from the project's venv, `scripts/python-env`) reading the lake back.

#![allow(clippy::unwrap_used)]

mod acquire;
mod archives;
mod bad_input;
mod cli;
mod common;
mod crash;
mod dst;
mod interop;
mod lake;
mod ledger;
mod readme;
mod s3;
mod shell;
mod verify;
mod workers;
mod write_failures;
