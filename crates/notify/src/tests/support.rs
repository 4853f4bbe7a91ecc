//! Test fixtures: a sample report, a test CA, the aiosmtpd relay and a capturing HTTP server.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::RunReport;

pub(super) const SMTP_USER: &str = "gridlake-bot";
pub(super) const SMTP_PASSWORD: &str = "s3cret-smtp-pa55word";
pub(super) const WEBHOOK_TOKEN: &str = "tok-0123456789abcdef";

/// A failed `sync` with two failed days of one dataset.
pub(super) fn failed_report() -> RunReport {
    RunReport {
        command: "sync".into(),
        lake: "/data/gridlake".into(),
        failed: true,
        failed_days: vec![(
            "caiso_lmp_dam".into(),
            vec!["2024-03-10".into(), "2024-03-11".into()],
        )],
        summary_json: serde_json::json!({
            "command": "sync",
            "datasets": [{
                "dataset": "caiso_lmp_dam",
                "days": [
                    {"day": "2024-03-10", "state": "failed", "error": "HTTP 503 after 5 attempts"},
                    {"day": "2024-03-11", "state": "failed", "error": "HTTP 503 after 5 attempts"},
                    {"day": "2024-03-12", "state": "complete"}
                ]
            }],
            "errors": []
        }),
        text: "caiso_lmp_dam: 1 complete, 2 failed (2024-03-10, 2024-03-11)\n".into(),
    }
}

/// The same run without failures.
pub(super) fn ok_report() -> RunReport {
    RunReport {
        failed: false,
        failed_days: Vec::new(),
        text: "caiso_lmp_dam: 3 complete\n".into(),
        ..failed_report()
    }
}

/// Looks a secret up in a fixed table instead of the process environment (setting env vars
/// in a multi-threaded test binary is unsound, and `unsafe` is forbidden here).
pub(super) fn env(name: &str) -> Option<String> {
    match name {
        "TEST_SMTP_PASSWORD" => Some(SMTP_PASSWORD.into()),
        "TEST_WEBHOOK_TOKEN" => Some(WEBHOOK_TOKEN.into()),
        "TEST_WRONG_PASSWORD" => Some("not-the-password-42".into()),
        _ => None,
    }
}

/// A root CA and a certificate for 127.0.0.1 and localhost signed by it, as PEM files in a
/// temp dir: the client trusts the root through `ca_file`, as it would a corporate CA.
pub(super) struct TestPki {
    pub(super) dir: tempfile::TempDir,
    pub(super) ca_pem: PathBuf,
    pub(super) cert_pem: PathBuf,
    pub(super) key_pem: PathBuf,
}

impl TestPki {
    pub(super) fn new() -> Self {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
        };
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "gridlake-notify test root");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);

        let leaf_key = KeyPair::generate().unwrap();
        let mut leaf_params =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
        leaf_params
            .distinguished_name
            .push(DnType::CommonName, "gridlake-test-relay");
        let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();

        let dir = tempfile::tempdir().unwrap();
        let ca_pem = dir.path().join("ca.pem");
        let cert_pem = dir.path().join("cert.pem");
        let key_pem = dir.path().join("key.pem");
        std::fs::write(&ca_pem, ca_cert.pem()).unwrap();
        std::fs::write(&cert_pem, leaf.pem()).unwrap();
        std::fs::write(&key_pem, leaf_key.serialize_pem()).unwrap();
        Self {
            dir,
            ca_pem,
            cert_pem,
            key_pem,
        }
    }
}

/// This crate's folder, as cargo says when it runs the tests rather than where the test binary was built:
/// a build cache shared by clones at different paths keeps the first clone's compile-time path.
fn crate_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}

/// The project venv's Python (or `$GRIDLAKE_PYTHON`), checked to have aiosmtpd. Missing either
/// FAILS the test: a notifier nobody tested against a real relay is not tested.
fn python() -> PathBuf {
    let python = std::env::var_os("GRIDLAKE_PYTHON")
        .map_or_else(|| crate_dir().join("../../.venv/bin/python"), PathBuf::from);
    let check = Command::new(&python)
        .args(["-c", "import aiosmtpd"])
        .output();
    match check {
        Ok(out) if out.status.success() => python,
        Ok(out) => panic!(
            "{} cannot import aiosmtpd ({}): run scripts/python-env to install \
             scripts/requirements.txt into .venv (or point GRIDLAKE_PYTHON at a Python that has it)",
            python.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => panic!(
            "cannot run {} ({e}): run scripts/python-env to create .venv (or set GRIDLAKE_PYTHON)",
            python.display()
        ),
    }
}

/// aiosmtpd on 127.0.0.1 with STARTTLS and AUTH required (tests-support/smtp_server.py).
pub(super) struct SmtpServer {
    pub(super) port: u16,
    pub(super) pki: TestPki,
    out_dir: PathBuf,
    /// Killed on drop; its stdin closing also stops it if this process dies first.
    child: Child,
}

impl SmtpServer {
    pub(super) fn start() -> Self {
        let pki = TestPki::new();
        let out_dir = pki.dir.path().join("messages");
        std::fs::create_dir(&out_dir).unwrap();
        let script = crate_dir().join("tests-support/smtp_server.py");
        let mut child = Command::new(python())
            .arg(&script)
            .arg(&pki.cert_pem)
            .arg(&pki.key_pem)
            .arg(SMTP_USER)
            .arg(&out_dir)
            .env("SMTP_TEST_PASSWORD", SMTP_PASSWORD)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        // The first stdout line is {"port": N} once the server accepts connections; EOF
        // instead means it died (its traceback went to our stderr).
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = serde_json::from_str::<serde_json::Value>(&line)
            .ok()
            .and_then(|v| v["port"].as_u64())
            .unwrap_or_else(|| {
                panic!("smtp_server.py did not report its port (printed {line:?}); see stderr")
            });
        Self {
            port: u16::try_from(port).unwrap(),
            pki,
            out_dir,
            child,
        }
    }

    /// Every message the relay accepted, in arrival order.
    pub(super) fn messages(&self) -> Vec<serde_json::Value> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.out_dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort_by_key(|p| {
            p.file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| s.parse::<u32>().ok())
        });
        files
            .iter()
            .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request the HTTP server received.
#[derive(Debug, Clone)]
pub(super) struct Captured {
    pub(super) method: String,
    pub(super) path: String,
    pub(super) authorization: Option<String>,
    pub(super) content_type: Option<String>,
    pub(super) body: Vec<u8>,
}

/// A real HTTP/1.1 server on 127.0.0.1:0 that records every request and answers `status`
/// (with a short text body).
pub(super) struct HttpServer {
    pub(super) addr: SocketAddr,
    pub(super) requests: Arc<Mutex<Vec<Captured>>>,
    task: tokio::task::JoinHandle<()>,
}

impl HttpServer {
    pub(super) async fn start(status: StatusCode) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&requests);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let sink = Arc::clone(&sink);
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                        let sink = Arc::clone(&sink);
                        async move {
                            let header = |name: &str| {
                                req.headers()
                                    .get(name)
                                    .map(|v| v.to_str().unwrap().to_owned())
                            };
                            let mut captured = Captured {
                                method: req.method().to_string(),
                                path: req.uri().path().to_owned(),
                                authorization: header("authorization"),
                                content_type: header("content-type"),
                                body: Vec::new(),
                            };
                            captured.body = req.into_body().collect().await?.to_bytes().to_vec();
                            // `/echo` answers with the Authorization header it got, like a
                            // careless receiver's error page, to prove errors are scrubbed.
                            let reply = if captured.path == "/echo" {
                                format!("bad credentials: {:?}", captured.authorization)
                            } else {
                                "receiver says no".to_owned()
                            };
                            sink.lock().unwrap().push(captured);
                            let mut response = Response::new(Full::new(Bytes::from(reply)));
                            *response.status_mut() = status;
                            if status.is_redirection() {
                                response.headers_mut().insert(
                                    hyper::header::LOCATION,
                                    hyper::header::HeaderValue::from_static("/elsewhere"),
                                );
                            }
                            Ok::<_, hyper::Error>(response)
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            addr,
            requests,
            task,
        }
    }

    pub(super) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub(super) fn requests(&self) -> Vec<Captured> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
