//! QR passes end to end: the server issues a pass over real HTTP, `dprofile verify` caches the
//! lists, the server goes away, and the binary checks passes offline with only the cache.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use chrono::{Duration, Utc};
use dprofile_api::person_auth::{CodeSender, PersonSessions, SignInLimits};
use dprofile_api::{ApiConfig, AppState};
use dprofile_pass::{PassClaims, PassSigner, PassView, StatusClaims};
use dprofile_pipeline::passes::{PassKeyring, PassService};
use dprofile_pipeline::{IngestOptions, Ingestor, Line, SystemClock};
use dprofile_store::Store;
use dprofile_store::testing::TestStore;
use serde_json::{Value, json};

#[derive(Clone, Default)]
struct CapturedCodes(Arc<Mutex<Vec<String>>>);

impl CodeSender for CapturedCodes {
    fn send(&self, _person: i64, code: &str) {
        self.0.lock().expect("the codes").push(code.to_owned());
    }
}

/// One run of the API on a free port, over `store`, with the pass keys in `key_file`.
struct Server {
    base_url: String,
    codes: CapturedCodes,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(store: Arc<dyn Store>, key_file: &Path) -> Server {
        let keyring = PassKeyring::load_or_create(key_file, Utc::now()).expect("pass keys");
        let codes = CapturedCodes::default();
        let server_codes = codes.clone();
        let (address_sender, address_receiver) = std::sync::mpsc::channel::<SocketAddr>();
        let (shutdown, shutdown_receiver) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a runtime");
            let log_key =
                dprofile_audit::LogKey::from_seed("dprofile/test-log", [7; 32]).expect("a log key");
            let ingestor = Ingestor::new(store.clone(), Arc::new(SystemClock));
            let state = AppState::new(store.clone(), ingestor, ApiConfig::default(), log_key)
                .with_person_sessions(PersonSessions::new(
                    SignInLimits::default(),
                    Box::new(server_codes),
                ))
                .with_passes(PassService::new(store, keyring));
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("a port");
                address_sender
                    .send(listener.local_addr().expect("an address"))
                    .expect("the test waits");
                dprofile_api::serve(listener, state, async move {
                    let _ = shutdown_receiver.await;
                })
                .await
                .expect("the server runs");
            });
        });
        let address = address_receiver.recv().expect("the server started");
        Server {
            base_url: format!("http://{address}"),
            codes,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            thread.join().expect("the server thread ends");
        }
    }
}

/// A client of the test server: blocking calls over a runtime of the test's own.
struct Client {
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
}

impl Client {
    fn new() -> Client {
        Client {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime"),
            http: reqwest::Client::new(),
        }
    }

    fn call(
        &self,
        method: &str,
        url: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Vec<u8>) {
        self.runtime.block_on(async {
            let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
            let mut request = self.http.request(method, url);
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            if let Some(body) = body {
                request = request.json(&body);
            }
            let response = request.send().await.expect("the server answers");
            let status = response.status().as_u16();
            (status, response.bytes().await.expect("a body").to_vec())
        })
    }

    fn json(&self, method: &str, url: &str, token: Option<&str>, body: Option<Value>) -> Value {
        let (status, bytes) = self.call(method, url, token, body);
        assert!(
            (200..300).contains(&status),
            "{method} {url}: {status} {}",
            String::from_utf8_lossy(&bytes)
        );
        serde_json::from_slice(&bytes).expect("JSON")
    }

    /// Signs in as the holder of FA1234567 with the code the server sent; the session token.
    fn sign_in(&self, server: &Server) -> String {
        let started = self.json(
            "POST",
            &format!("{}/v1/me/sign-in", server.base_url),
            None,
            Some(json!({"document_number": "FA1234567", "birth_date": "1991-07-14"})),
        );
        let code = server
            .codes
            .0
            .lock()
            .expect("codes")
            .last()
            .expect("a code was sent")
            .clone();
        let session = self.json(
            "POST",
            &format!("{}/v1/me/verify", server.base_url),
            None,
            Some(json!({"sign_in_id": started["sign_in_id"], "code": code})),
        );
        session["token"].as_str().expect("a token").to_owned()
    }

    fn issue(&self, server: &Server, token: &str, view: &str) -> Value {
        self.json(
            "POST",
            &format!("{}/v1/me/passes", server.base_url),
            Some(token),
            Some(json!({"view": view, "valid_days": 30})),
        )
    }
}

fn records(store: &Arc<dyn Store>) {
    let subject = json!({
        "names": [{"script": "Latn", "family": "ABDULLAYEV", "given": "RUSTAM"}],
        "birth_date": "1991-07-14", "citizenship": "UZB",
        "documents": [{"kind": "passport", "country": "UZB", "number": "FA1234567"}]
    });
    let lines = [
        json!({"source": "fns", "source_ref": "P-1", "category": "tax_debt",
               "observed_at": "2026-03-01T09:00:00Z", "subject": subject,
               "data": {"balance": 0.0, "as_of": "2026-03-01"}}),
        json!({"source": "mvd", "source_ref": "P-2", "category": "stay_document",
               "observed_at": "2026-03-01T09:00:00Z", "subject": subject,
               "data": {"kind": "residence_permit", "number": "82 0012345",
                        "issued_on": "2025-01-10", "expires_on": "2035-01-10"}}),
    ];
    let ingestor = Ingestor::new(store.clone(), Arc::new(SystemClock));
    let lines = lines
        .iter()
        .enumerate()
        .map(|(index, line)| Line {
            number: index as u64 + 1,
            bytes: line.to_string().into_bytes(),
        })
        .collect();
    ingestor
        .ingest_lines(lines, &IngestOptions::default())
        .expect("the records are stored");
}

fn dprofile(arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dprofile"))
        .args(arguments)
        .env_remove("DATABASE_URL")
        .env_remove("DPROFILE_VERIFIER_CACHE")
        .env("DPROFILE_LOG", "warn")
        .output()
        .expect("run dprofile")
}

/// Runs `dprofile verify` with only the cache; the verdict's reason (`None`: valid) and the
/// output.
fn verify_offline(cache: &Path, arguments: &[&str]) -> (Option<String>, String) {
    let mut all = vec!["verify", "--cache", cache.to_str().expect("a UTF-8 path")];
    all.extend_from_slice(arguments);
    let output = dprofile(&all);
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let reason = text
        .lines()
        .find_map(|line| line.strip_prefix("reason:"))
        .map(|reason| reason.trim().to_owned());
    match reason {
        None => assert!(
            output.status.success() && text.contains("verdict:       VALID"),
            "{text}\n{}",
            String::from_utf8_lossy(&output.stderr)
        ),
        Some(_) => assert_eq!(output.status.code(), Some(1), "a rejection exits 1: {text}"),
    }
    (reason, text)
}

/// The pass text with `from` replaced by `to` inside its signed payload (same length), the
/// signature left as it was.
fn tamper(text: &str, from: &[u8], to: &[u8]) -> String {
    use std::io::{Read as _, Write as _};
    let compressed = base45::decode(text.strip_prefix("DP1:").expect("a pass")).expect("Base45");
    let mut signed = Vec::new();
    flate2::read::ZlibDecoder::new(compressed.as_slice())
        .read_to_end(&mut signed)
        .expect("zlib");
    let at = signed
        .windows(from.len())
        .position(|window| window == from)
        .expect("the bytes to change");
    signed[at..at + from.len()].copy_from_slice(to);
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(&signed).expect("zlib");
    format!("DP1:{}", base45::encode(encoder.finish().expect("zlib")))
}

#[test]
fn a_pass_issued_over_http_verifies_offline_with_only_the_cached_lists() {
    let test_store = TestStore::sqlite();
    let work = tempfile::tempdir().expect("a directory");
    let key_file = work.path().join("pass-keys.json");
    let cache = work.path().join("verifier-cache");
    records(&test_store.store);
    let client = Client::new();

    // First server run: issue two passes, revoke one, fetch the QR, cache the lists.
    let server = Server::start(test_store.store.clone(), &key_file);
    let token = client.sign_in(&server);
    let kept = client.issue(&server, &token, "status_identity");
    let revoked = client.issue(&server, &token, "status_only");
    let kept_text = kept["text"].as_str().expect("text").to_owned();
    let revoked_text = revoked["text"].as_str().expect("text").to_owned();
    client.json(
        "POST",
        &format!("{}/v1/me/passes/{}/revoke", server.base_url, revoked["id"]),
        Some(&token),
        None,
    );
    let (status, png) = client.call(
        "GET",
        &format!("{}/v1/me/passes/{}.png", server.base_url, kept["id"]),
        Some(&token),
        None,
    );
    assert_eq!(status, 200);
    let png_file = work.path().join("pass.png");
    std::fs::write(&png_file, png).expect("the PNG is saved");
    let refreshed = dprofile(&[
        "verify",
        "--cache",
        cache.to_str().expect("UTF-8"),
        "--refresh",
        &server.base_url,
    ]);
    assert!(
        refreshed.status.success(),
        "{}",
        String::from_utf8_lossy(&refreshed.stderr)
    );
    let url = server.base_url.clone();
    server.stop();
    // Nothing answers there any more: what follows is offline.
    assert_ne!(
        dprofile(&["verify", "--cache", "/nonexistent", "--refresh", &url])
            .status
            .code(),
        Some(0)
    );

    let (reason, output) = verify_offline(&cache, &[&kept_text]);
    assert_eq!(reason, None);
    for expected in [
        "lawful stay:   yes (residence_permit), until 2035-01-10",
        "right to work: yes, until 2035-01-10",
        "name:          ABDULLAYEV RUSTAM",
        "document:      FA1234567",
    ] {
        assert!(
            output.contains(expected),
            "missing `{expected}` in\n{output}"
        );
    }
    let png_path = png_file.to_str().expect("UTF-8");
    assert_eq!(verify_offline(&cache, &["--image", png_path]).0, None);

    // Each rejection has its own reason, in the library's codes.
    let in_31_days = (Utc::now() + Duration::days(31)).to_rfc3339();
    let check = |arguments: &[&str], expected: &str| {
        let (reason, output) = verify_offline(&cache, arguments);
        assert_eq!(reason.as_deref(), Some(expected), "{output}");
    };
    check(&[&kept_text, "--at", &in_31_days], "expired");
    check(&[&revoked_text], "revoked");
    check(
        &[&tamper(&kept_text, b"ABDULLAYEV", b"ABDULLAEVA")],
        "tampered",
    );
    check(&["not a pass"], "malformed.prefix");
    check(&["DP1:!!!!"], "malformed.base45");
    let stranger = PassSigner::from_seed([99; 32]);
    let forged = dprofile_pass::issue(
        &PassClaims {
            issuer: "dprofile".to_owned(),
            pass_id: vec![1; 16],
            issued_at: Utc::now(),
            expires_at: Utc::now() + Duration::days(1),
            status_index: 1,
            status_list_uri: "urn:x".to_owned(),
            view: PassView::StatusOnly,
            status: StatusClaims {
                lawful_stay: true,
                stay_basis: Some("residence_permit".to_owned()),
                stay_until: None,
                right_to_work: true,
                work_until: None,
            },
            identity: None,
        },
        &stranger,
    );
    check(&[&forged], "unknown_key");
    let json_output = dprofile(&[
        "verify",
        "--cache",
        cache.to_str().expect("UTF-8"),
        "--json",
        &revoked_text,
    ]);
    let verdict: Value = serde_json::from_slice(&json_output.stdout).expect("JSON");
    assert_eq!(
        (verdict["valid"].clone(), verdict["reason"].clone()),
        (json!(false), json!("revoked"))
    );

    // Rotation: a new signing key; the old key's passes stay valid while it is listed.
    let rotated = dprofile(&[
        "passes",
        "rotate-key",
        "--pass-key-file",
        key_file.to_str().expect("UTF-8"),
    ]);
    assert!(
        rotated.status.success(),
        "{}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    let server = Server::start(test_store.store.clone(), &key_file);
    let token = client.sign_in(&server);
    let after_rotation = client.issue(&server, &token, "status_only");
    assert_ne!(
        after_rotation["key_id"], kept["key_id"],
        "signed by the new key"
    );
    let refreshed = dprofile(&[
        "verify",
        "--cache",
        cache.to_str().expect("UTF-8"),
        "--refresh",
        &server.base_url,
    ]);
    assert!(
        refreshed.status.success(),
        "{}",
        String::from_utf8_lossy(&refreshed.stderr)
    );
    server.stop();
    assert_eq!(
        verify_offline(&cache, &[&kept_text]).0,
        None,
        "the old key's pass"
    );
    let new_text = after_rotation["text"].as_str().expect("text");
    assert_eq!(
        verify_offline(&cache, &[new_text]).0,
        None,
        "the new key's pass"
    );
    check(&[&revoked_text], "revoked");
}
