//! A moto S3 server on loopback.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use object_store::aws::AmazonS3Builder;

/// The access key every test client uses (moto accepts any key unless started with auth).
pub const TEST_ACCESS_KEY: &str = "gridlake-test-key";
/// The secret key every test client uses; tests assert it never shows up in an error or a log.
pub const TEST_SECRET_KEY: &str = "gridlake-test-secret-6f1d0c2a9e";

/// How long a server gets to answer its first request (it imports a lot of Python on start).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running moto server; killed when dropped.
#[derive(Debug)]
pub struct S3Server {
    child: Child,
    port: u16,
    log: PathBuf,
    // Keeps the log file's folder alive as long as the server.
    _dir: tempfile::TempDir,
}

fn repo() -> PathBuf {
    // The workspace root, where scripts/python-env puts `.venv`: found from the package under test at run
    // time (cargo sets CARGO_MANIFEST_DIR for test processes), not from where this crate was compiled: a
    // build cache shared by clones at different paths keeps the first clone's compile-time path.
    let start = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    start
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .map(PathBuf::from)
        .unwrap_or(start)
}

fn free_port() -> u16 {
    // Bind port 0, read the port the kernel chose, let go: a tiny window in which another process could
    // take it, which the start loop below survives by trying again with a new port.
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("cannot bind a loopback port for the S3 test server")
}

/// One raw HTTP/1.1 request on loopback; the status code (0 when nothing came back).
fn http(port: u16, method: &str, target: &str) -> u16 {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return 0;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let req = format!(
        "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if s.write_all(req.as_bytes()).is_err() {
        return 0;
    }
    let mut head = [0u8; 12];
    if s.read_exact(&mut head).is_err() {
        return 0;
    }
    std::str::from_utf8(&head[9..12])
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

impl S3Server {
    /// Starts moto on 127.0.0.1 with a free port. Any key works.
    pub fn start() -> S3Server {
        S3Server::start_with(&[])
    }

    /// Starts moto with authentication on: only keys moto's IAM knows are accepted, so a wrong key gets
    /// the 403 a real S3 gives.
    pub fn start_with_auth() -> S3Server {
        S3Server::start_with(&[("INITIAL_NO_AUTH_ACTION_COUNT", "0")])
    }

    fn start_with(env: &[(&str, &str)]) -> S3Server {
        let bin = repo().join(".venv/bin/moto_server");
        assert!(
            bin.exists(),
            "{} is missing: run scripts/python-env (scripts/test does) to install the S3 test server (moto)",
            bin.display()
        );
        let mut last = String::new();
        for _ in 0..3 {
            let dir = tempfile::tempdir().expect("cannot create a temp dir for the S3 server log");
            let log = dir.path().join("moto.log");
            let out = std::fs::File::create(&log).expect("cannot create the S3 server log");
            let err = out.try_clone().expect("cannot share the S3 server log");
            let port = free_port();
            let mut cmd = Command::new(&bin);
            cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err);
            for (k, v) in env {
                cmd.env(k, v);
            }
            let child = cmd
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
            let mut server = S3Server {
                child,
                port,
                log,
                _dir: dir,
            };
            let started = Instant::now();
            loop {
                if let Ok(Some(status)) = server.child.try_wait() {
                    last = format!("exited with {status}: {}", server.log_text());
                    break;
                }
                // Any HTTP answer means it serves (with auth on, even the root listing says 403).
                if http(port, "GET", "/") != 0 {
                    return server;
                }
                if started.elapsed() > START_TIMEOUT {
                    last = format!("no answer within {START_TIMEOUT:?}: {}", server.log_text());
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        panic!("the S3 test server (moto) did not start: {last}");
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates a bucket with a unique name and returns the name.
    pub fn new_bucket(&self) -> String {
        let name = format!("gl-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        self.create_bucket(&name);
        name
    }

    /// Creates `name` (moto takes an unsigned CreateBucket).
    pub fn create_bucket(&self, name: &str) {
        let status = http(self.port, "PUT", &format!("/{name}"));
        assert_eq!(
            status,
            200,
            "creating bucket {name} on the S3 test server answered {status}: {}",
            self.log_text()
        );
    }

    /// An S3 client configured for this server with the test keys (explicit settings, not the process
    /// environment, which every test thread shares).
    pub fn builder(&self) -> AmazonS3Builder {
        AmazonS3Builder::new()
            .with_endpoint(self.endpoint())
            .with_allow_http(true)
            .with_region("us-east-1")
            .with_access_key_id(TEST_ACCESS_KEY)
            .with_secret_access_key(TEST_SECRET_KEY)
    }

    /// The `AWS_*` environment that points a `gridlake` process at this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", TEST_ACCESS_KEY.into()),
            ("AWS_SECRET_ACCESS_KEY", TEST_SECRET_KEY.into()),
        ]
    }

    /// The requests the server logged so far, as `METHOD /target` (for request budgets measured at the
    /// server rather than at the client).
    pub fn requests(&self) -> Vec<String> {
        self.log_text()
            .lines()
            .filter_map(|l| {
                let start = l.find('"')? + 1;
                let rest = strip_ansi(&l[start..]);
                let end = rest.find(" HTTP/")?;
                Some(rest[..end].to_string())
            })
            .collect()
    }

    /// The server's output (werkzeug's request log and any traceback).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Werkzeug colours some log lines (by status) even into a file.
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
