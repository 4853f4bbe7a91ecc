//! Test harnesses shared by gridlake's test suites. Dev-dependency only: nothing here ships.
//!
//! [`S3Server`] runs a real S3-compatible server (moto, from the project venv that `scripts/python-env`
//! installs) on 127.0.0.1 with a free port, for as long as the value lives. A missing server is a test
//! failure that says what to run, never a skip.

mod s3;

pub use s3::{S3Server, TEST_ACCESS_KEY, TEST_SECRET_KEY};
