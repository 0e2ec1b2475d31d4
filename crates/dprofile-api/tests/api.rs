//! The HTTP API as a client sees it: the real router on a real port, a fresh store per test,
//! and user-level verbs (post a record, post a batch, read a person, search, decide on a
//! review item, merge and split persons, read a person's history).
//!
//! Every test app holds an API key for each role of the default policy; its main client calls
//! as a migration officer reviewing identities (`X-Purpose: identity_review`), and
//! `anonymous` calls without a key.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use dprofile_api::person_auth::{CodeSender, PersonSessions, SignInLimits};
use dprofile_api::{ApiConfig, AppState};
use dprofile_pipeline::passes::{PassKeyring, PassService};
use dprofile_pipeline::{Clock as _, FixedClock};
use dprofile_policy::Policy;
use dprofile_store::Store;
use dprofile_store::testing::TestStore;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Where every test's clock starts: records are received at fixed, known instants.
fn start_instant() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T10:00:00Z")
        .map(|instant| instant.with_timezone(&Utc))
        .expect("a valid instant")
}

/// Stands for the SMS / e-mail gateway: keeps every code sent, for the test to read.
#[derive(Clone, Default)]
struct CapturedCodes(Arc<std::sync::Mutex<Vec<(i64, String)>>>);

impl CodeSender for CapturedCodes {
    fn send(&self, person: i64, code: &str) {
        self.0
            .lock()
            .expect("the codes")
            .push((person, code.to_owned()));
    }
}

impl CapturedCodes {
    fn all(&self) -> Vec<(i64, String)> {
        self.0.lock().expect("the codes").clone()
    }
}

#[derive(Clone, Copy, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

/// The API on 127.0.0.1 with its own store, served from a thread with its own runtime: the
/// PostgreSQL client blocks on a runtime of its own, which must not be nested in the test's.
struct TestApp {
    base_url: String,
    /// Calls with the migration officer's key, for identity review.
    client: reqwest::Client,
    /// Calls without any key.
    anonymous: reqwest::Client,
    /// A key per role of the default policy (for the role's first agency).
    keys: BTreeMap<String, String>,
    /// A key per agency that sends records (`[writes]`), in a role its agency holds: a record
    /// is posted with the key of its `source`.
    writer_keys: BTreeMap<String, String>,
    /// The server's store, to read the access log and revoke keys.
    store: Option<Arc<dyn Store>>,
    clock: Arc<FixedClock>,
    /// The one-time codes the server sent to persons, in order.
    codes: CapturedCodes,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server_thread: Option<std::thread::JoinHandle<()>>,
}

impl TestApp {
    async fn sqlite() -> TestApp {
        TestApp::start(Backend::Sqlite, ApiConfig::default())
            .await
            .expect("SQLite always starts")
    }

    async fn sqlite_with(config: ApiConfig) -> TestApp {
        TestApp::start(Backend::Sqlite, config)
            .await
            .expect("SQLite always starts")
    }

    /// `None` when no PostgreSQL server answers (and `CI` is not set).
    async fn postgres() -> Option<TestApp> {
        TestApp::start(Backend::Postgres, ApiConfig::default()).await
    }

    async fn on(backend: Backend) -> Option<TestApp> {
        TestApp::start(backend, ApiConfig::default()).await
    }

    async fn start(backend: Backend, config: ApiConfig) -> Option<TestApp> {
        let clock = Arc::new(FixedClock::new(start_instant()));
        type Started = (
            SocketAddr,
            BTreeMap<String, String>,
            BTreeMap<String, String>,
            Arc<dyn Store>,
        );
        let (address_sender, address_receiver) = tokio::sync::oneshot::channel::<Option<Started>>();
        let (shutdown_sender, shutdown_receiver) = tokio::sync::oneshot::channel::<()>();
        let server_clock = clock.clone();
        let codes = CapturedCodes::default();
        let server_codes = codes.clone();
        let server_thread = std::thread::spawn(move || {
            let test_store = match backend {
                Backend::Sqlite => TestStore::sqlite(),
                Backend::Postgres => match TestStore::postgres() {
                    Some(store) => store,
                    None => {
                        let _ = address_sender.send(None);
                        return;
                    }
                },
            };
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a server runtime");
            let log_key =
                dprofile_audit::LogKey::from_seed("dprofile/test-log", [7; 32]).expect("a log key");
            let policy = Policy::default_policy();
            let keys: BTreeMap<String, String> = policy
                .roles()
                .map(|role| {
                    let agency = policy.role_agencies(role).next().expect("an agency");
                    let issued = dprofile_pipeline::api_keys::issue(
                        test_store.store.as_ref(),
                        &policy,
                        &format!("test {role}"),
                        agency,
                        role,
                        start_instant(),
                    )
                    .expect("a key");
                    (role.to_owned(), issued.token)
                })
                .collect();
            let writer_keys: BTreeMap<String, String> = policy
                .writing_agencies()
                .map(|agency| {
                    // A reading role of the agency where it has one (its officers' systems
                    // send too), else its sending system's role.
                    let role = policy
                        .roles()
                        .filter(|role| !policy.is_write_only(role))
                        .chain(std::iter::once("source_system"))
                        .find(|role| policy.role_agencies(role).any(|held| held == agency))
                        .expect("a role for every writing agency");
                    let issued = dprofile_pipeline::api_keys::issue(
                        test_store.store.as_ref(),
                        &policy,
                        &format!("test {agency} sender"),
                        agency,
                        role,
                        start_instant(),
                    )
                    .expect("a key");
                    (agency.to_owned(), issued.token)
                })
                .collect();
            let state =
                AppState::with_clock(test_store.store.clone(), server_clock, config, log_key)
                    .with_person_sessions(PersonSessions::new(
                        SignInLimits::default(),
                        Box::new(server_codes),
                    ))
                    .with_passes(PassService::new(
                        test_store.store.clone(),
                        test_pass_keyring(),
                    ));
            let store = test_store.store.clone();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("a free port");
                let address = listener.local_addr().expect("a bound address");
                let _ = address_sender.send(Some((address, keys, writer_keys, store)));
                let shutdown = async move {
                    let _ = shutdown_receiver.await;
                };
                dprofile_api::serve(listener, state, shutdown)
                    .await
                    .expect("the server runs");
            });
            drop(runtime);
            drop(test_store);
        });
        let (address, keys, writer_keys, store) =
            address_receiver.await.expect("the server thread started")?;
        let client = TestApp::client_with(&[
            (
                "authorization",
                &format!("Bearer {}", keys["migration_officer"]),
            ),
            ("x-purpose", "identity_review"),
            ("x-case-ref", "case-2026-001"),
        ]);
        Some(TestApp {
            base_url: format!("http://{address}"),
            client,
            anonymous: TestApp::client_with(&[]),
            keys,
            writer_keys,
            store: Some(store),
            clock,
            codes,
            shutdown: Some(shutdown_sender),
            server_thread: Some(server_thread),
        })
    }

    /// A client sending `headers` with every request, following no redirects.
    fn client_with(headers: &[(&str, &str)]) -> reqwest::Client {
        let mut map = reqwest::header::HeaderMap::new();
        for (name, value) in headers {
            map.insert(
                reqwest::header::HeaderName::from_bytes(name.as_bytes()).expect("a header name"),
                reqwest::header::HeaderValue::from_str(value).expect("a header value"),
            );
        }
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(map)
            .build()
            .expect("an HTTP client")
    }

    /// A client calling with `role`'s key for `purpose` and a case.
    fn client_as(&self, role: &str, purpose: &str) -> reqwest::Client {
        TestApp::client_with(&[
            ("authorization", &format!("Bearer {}", self.keys[role])),
            ("x-purpose", purpose),
            ("x-case-ref", "case-2026-002"),
        ])
    }

    fn store(&self) -> &dyn Store {
        self.store.as_deref().expect("the store")
    }

    /// The access log's entries from `from` on.
    fn access_entries(&self, from: u64) -> Vec<dprofile_audit::AccessEntry> {
        let store = self.store();
        off_runtime(move || store.access_rows(from, 100_000))
            .expect("the access log")
            .into_iter()
            .map(|row| {
                let details = row.details.expect("details");
                dprofile_audit::AccessEntry::from_canonical(&details)
                    .expect("canonical bytes")
                    .1
            })
            .collect()
    }

    fn access_log_size(&self) -> u64 {
        let store = self.store();
        off_runtime(move || store.access_rows(0, 1_000_000))
            .expect("the access log")
            .len() as u64
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("the server answers")
    }

    async fn post_record(&self, record: &Value) -> reqwest::Response {
        self.post_record_bytes(record.to_string().into_bytes())
            .await
    }

    /// Posts with the key of the record's `source` agency (the migration officer's key when
    /// the body names no sending agency).
    async fn post_record_bytes(&self, body: Vec<u8>) -> reqwest::Response {
        let source = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|record| record["source"].as_str().map(str::to_owned));
        let token = source
            .and_then(|source| self.writer_keys.get(&source))
            .unwrap_or(&self.keys["migration_officer"]);
        self.post_record_with(token, body).await
    }

    async fn post_record_with(&self, token: &str, body: Vec<u8>) -> reqwest::Response {
        self.anonymous
            .post(self.url("/v1/records"))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("the server answers")
    }

    /// Posts an NDJSON batch with the tax service's key (every batch of these tests is
    /// theirs); the status and every answer line.
    async fn post_batch(&self, body: impl Into<reqwest::Body>) -> (StatusCode, Vec<Value>) {
        self.post_batch_with(&self.writer_keys["fns"].clone(), body)
            .await
    }

    async fn post_batch_with(
        &self,
        token: &str,
        body: impl Into<reqwest::Body>,
    ) -> (StatusCode, Vec<Value>) {
        let response = self
            .anonymous
            .post(self.url("/v1/records/batch"))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .await
            .expect("the server answers");
        let status = response.status();
        let text = response.text().await.expect("a body");
        if status != StatusCode::OK {
            return (
                status,
                vec![serde_json::from_str(&text).expect("a problem document")],
            );
        }
        let lines = text
            .lines()
            .map(|line| serde_json::from_str(line).expect("every answer line is JSON"))
            .collect();
        (status, lines)
    }

    async fn get_person(&self, person_id: i64, query: &str) -> reqwest::Response {
        self.get(&format!("/v1/persons/{person_id}{query}")).await
    }

    /// The person ids a search finds.
    async fn search(&self, query: &[(&str, &str)]) -> Vec<i64> {
        let response = self.search_response(query).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.expect("JSON");
        body["persons"]
            .as_array()
            .expect("a persons array")
            .iter()
            .map(|person| {
                assert_eq!(
                    person["url"],
                    format!("/v1/persons/{}", person["person_id"])
                );
                person["person_id"].as_i64().expect("an id")
            })
            .collect()
    }

    async fn search_response(&self, query: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .get(self.url("/v1/persons"))
            .query(query)
            .send()
            .await
            .expect("the server answers")
    }

    async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("the server answers")
    }

    /// An officer's verdict on a review item.
    async fn decide(&self, item_id: i64, decision: &str, reason: &str) -> reqwest::Response {
        self.post_json(
            &format!("/v1/review/{item_id}/decision"),
            &json!({"decision": decision, "actor": "officer:ivanova", "reason": reason}),
        )
        .await
    }

    async fn merge(&self, into: i64, from: i64, reason: &str) -> reqwest::Response {
        self.post_json(
            &format!("/v1/persons/{into}/merge"),
            &json!({"from": from, "actor": "officer:petrov", "reason": reason}),
        )
        .await
    }

    async fn split(
        &self,
        person_id: i64,
        merge_decision_id: i64,
        reason: &str,
    ) -> reqwest::Response {
        self.post_json(
            &format!("/v1/persons/{person_id}/split"),
            &json!({"merge_decision_id": merge_decision_id, "actor": "officer:petrov", "reason": reason}),
        )
        .await
    }

    /// A person's decisions, oldest first.
    async fn history(&self, person_id: i64) -> Vec<Value> {
        let response = self.get(&format!("/v1/persons/{person_id}/history")).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body = json_of(response).await;
        body["decisions"]
            .as_array()
            .expect("a decisions array")
            .clone()
    }

    /// The open review items.
    async fn open_review_items(&self) -> Vec<Value> {
        let body = json_of(self.get("/v1/review").await).await;
        body["items"].as_array().expect("an items array").clone()
    }

    /// Posts a record and returns the person it went to.
    async fn post_for_person(&self, record: &Value) -> i64 {
        let result = json_of(self.post_record(record).await).await;
        result["person_id"].as_i64().expect("a person")
    }

    async fn replay(&self, quarantine_id: i64, body: Vec<u8>) -> reqwest::Response {
        self.client
            .post(self.url(&format!("/v1/quarantine/{quarantine_id}/replay")))
            .body(body)
            .send()
            .await
            .expect("the server answers")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // The PostgreSQL client must not be dropped on an async worker, and the test store
        // drops its database only once every connection is gone.
        if let Some(store) = self.store.take() {
            let _ = std::thread::spawn(move || drop(store)).join();
        }
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.server_thread.take() {
            let _ = thread.join();
        }
    }
}

fn abdullayev(source_ref: &str) -> Value {
    json!({
        "source": "fns", "source_ref": source_ref, "revision": 1, "action": "upsert",
        "category": "tax_debt", "observed_at": "2026-03-01T09:00:00Z",
        "valid_from": "2026-03-01", "valid_to": null,
        "subject": {
            "names": [{"script": "Cyrl", "family": "Абдуллаев", "given": "Рустам", "patronymic": "Шухратович"},
                      {"script": "Latn", "family": "ABDULLAYEV", "given": "RUSTAM"}],
            "birth_date": "1991-07-14", "sex": "M", "citizenship": "UZB",
            "documents": [{"kind": "passport", "country": "UZB", "number": "FA1234567"}],
            "identifiers": {"snils": "123-456-789 64"}},
        "data": {"balance": -1250.00, "as_of": "2026-03-01"}
    })
}

async fn json_of(response: reqwest::Response) -> Value {
    response.json().await.expect("a JSON body")
}

async fn assert_problem(response: reqwest::Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json",
        "a problem document"
    );
    let problem = json_of(response).await;
    assert_eq!(problem["code"], code, "{problem}");
    assert_eq!(problem["status"], status.as_u16());
    assert_eq!(
        problem["type"],
        format!("https://dprofile.example/problems/{code}")
    );
    assert!(
        problem["title"].is_string() && problem["detail"].is_string(),
        "{problem}"
    );
    problem
}

async fn check_record_found_by_document_snils_and_name(app: &TestApp) {
    let response = app.post_record(&abdullayev("fns-1")).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"]
        .to_str()
        .expect("text")
        .to_owned();
    let result = json_of(response).await;
    assert_eq!(result["outcome"], "accepted");
    assert_eq!(result["line"], 1);
    let person_id = result["person_id"].as_i64().expect("a person");
    assert_eq!(location, format!("/v1/persons/{person_id}"));

    assert_eq!(
        app.search(&[("document", "fa 123-4567")]).await,
        [person_id]
    );
    assert_eq!(
        app.search(&[("identifier", "snils:123-456-789 64")]).await,
        [person_id]
    );
    assert_eq!(
        app.search(&[("identifier", "12345678964")]).await,
        [person_id]
    );
    assert_eq!(
        app.search(&[("name", "Abdullaev Rustam"), ("birth_date", "1991")])
            .await,
        [person_id]
    );
    assert_eq!(
        app.search(&[("name", "АБДУЛЛАЕВ"), ("birth_date", "1991-07-14")])
            .await,
        [person_id]
    );
    assert!(
        app.search(&[("name", "Abdullaev"), ("birth_date", "1991-08")])
            .await
            .is_empty()
    );
    assert!(app.search(&[("document", "ZZ0000000")]).await.is_empty());

    let profile = json_of(app.get_person(person_id, "").await).await;
    assert_eq!(profile["person_id"], person_id);
    assert_eq!(profile["facts"]["tax_debt"][0]["data"]["balance"], -1250.0);
    assert_eq!(
        profile["facts"]["tax_debt"][0]["cited"]["source_ref"],
        "fns-1"
    );

    // The same record again changes nothing.
    let again = app.post_record(&abdullayev("fns-1")).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(json_of(again).await["outcome"], "duplicate");
}

#[tokio::test]
async fn a_posted_record_is_found_by_document_snils_and_name() {
    check_record_found_by_document_snils_and_name(&TestApp::sqlite().await).await;
}

#[tokio::test]
async fn a_posted_record_is_found_by_document_snils_and_name_on_postgres() {
    let Some(app) = TestApp::postgres().await else {
        return;
    };
    check_record_found_by_document_snils_and_name(&app).await;
}

#[tokio::test]
async fn a_name_search_without_birth_date_is_refused() {
    let app = TestApp::sqlite().await;
    let problem = assert_problem(
        app.search_response(&[("name", "Abdullaev")]).await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    )
    .await;
    assert_eq!(problem["errors"][0]["pointer"], "/birth_date");
    assert_eq!(problem["errors"][0]["rule"], "required");
    for query in [
        vec![],
        vec![("document", "FA1"), ("name", "X")],
        vec![("identifier", "snils:123")],
        vec![("identifier", "phone:123")],
        vec![("name", "Abdullaev"), ("birth_date", "July 1991")],
    ] {
        assert_problem(
            app.search_response(&query).await,
            StatusCode::BAD_REQUEST,
            "invalid_query",
        )
        .await;
    }
}

async fn check_batch(backend: Backend) {
    let Some(app) = TestApp::on(backend).await else {
        return;
    };
    let mut second = abdullayev("fns-2");
    second["subject"]["documents"][0]["number"] = json!("FB7654321");
    second["subject"]["identifiers"] = json!({});
    let batch = format!("{}\n{{not json\n\n{}\n", abdullayev("fns-1"), second);

    let (status, lines) = app.post_batch(batch.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert_eq!(lines[0]["line"], 1);
    assert_eq!(lines[0]["outcome"], "accepted");
    assert_eq!(lines[1]["line"], 2);
    assert_eq!(lines[1]["outcome"], "quarantined");
    assert_eq!(lines[1]["errors"][0]["rule"], "json_syntax");
    assert!(lines[1]["quarantine_id"].is_i64());
    // The blank line 3 is skipped but counted.
    assert_eq!(lines[2]["line"], 4);
    assert_eq!(lines[2]["outcome"], "accepted");
    assert_eq!(
        lines[3],
        json!({"summary": {"accepted": 2, "duplicate": 0, "superseded": 0, "retracted": 0, "stale": 0, "quarantined": 1}})
    );

    let (status, lines) = app.post_batch(batch).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        lines[3],
        json!({"summary": {"accepted": 0, "duplicate": 2, "superseded": 0, "retracted": 0, "stale": 0, "quarantined": 1}})
    );
    // The malformed line is not quarantined twice.
    let open = json_of(app.get("/v1/quarantine?status=open").await).await;
    assert_eq!(open["items"].as_array().map(Vec::len), Some(1), "{open}");
}

#[tokio::test]
async fn a_batch_answers_per_line_and_a_summary_and_again_all_duplicate() {
    check_batch(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_batch_answers_per_line_and_a_summary_and_again_all_duplicate_on_postgres() {
    check_batch(Backend::Postgres).await;
}

#[tokio::test]
async fn a_batch_larger_than_one_chunk_streams_every_line() {
    let app = TestApp::sqlite_with(ApiConfig {
        batch_chunk_lines: 7,
        ..ApiConfig::default()
    })
    .await;
    let batch: String = (1..=30)
        .map(|index| format!("{}\n", abdullayev(&format!("fns-{index}"))))
        .collect();
    // Sent in pieces, as a client streaming its export would.
    let pieces: Vec<Result<Vec<u8>, std::io::Error>> = batch
        .as_bytes()
        .chunks(333)
        .map(|piece| Ok(piece.to_vec()))
        .collect();
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(pieces));
    let (status, lines) = app.post_batch(body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(lines.len(), 31);
    let numbers: Vec<i64> = lines[..30]
        .iter()
        .map(|line| line["line"].as_i64().unwrap_or(0))
        .collect();
    assert_eq!(numbers, (1..=30).collect::<Vec<i64>>());
    assert_eq!(lines[30]["summary"]["accepted"], 30);
}

#[tokio::test]
async fn a_refused_record_answers_422_with_pointer_rule_and_quarantine_id() {
    let app = TestApp::sqlite().await;
    let mut record = abdullayev("fns-bad");
    record["subject"]["birth_date"] = json!("1991-02-30");
    let problem = assert_problem(
        app.post_record(&record).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "record_rejected",
    )
    .await;
    assert!(problem["quarantine_id"].is_i64(), "{problem}");
    assert_eq!(problem["errors"][0]["pointer"], "/subject/birth_date");
    assert_eq!(problem["errors"][0]["rule"], "date_impossible");
}

#[tokio::test]
async fn oversized_bodies_answer_413_and_an_oversized_batch_line_is_quarantined() {
    let app = TestApp::sqlite_with(ApiConfig {
        max_record_bytes: 4096,
        max_batch_bytes: 64 * 1024,
        ..ApiConfig::default()
    })
    .await;
    let mut huge = abdullayev("fns-huge");
    huge["data"]["tax_office"] = json!("x".repeat(8000));
    assert_problem(
        app.post_record(&huge).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    )
    .await;

    let batch = format!("{}\n{}\n", huge, abdullayev("fns-small"));
    let (status, lines) = app.post_batch(batch).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(lines[0]["outcome"], "quarantined");
    assert_eq!(lines[0]["errors"][0]["rule"], "too_large");
    assert_eq!(lines[1]["outcome"], "accepted");
    assert_eq!(lines[2]["summary"]["quarantined"], 1);

    let too_long: String = (0..200)
        .map(|index| format!("{}\n", abdullayev(&format!("r-{index}"))))
        .collect();
    assert!(too_long.len() > 64 * 1024);
    let (status, lines) = app.post_batch(too_long.clone()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(lines[0]["code"], "payload_too_large");

    // Without a declared length the limit is found while streaming: the answer has begun,
    // so it ends with an error line instead of the summary.
    let pieces: Vec<Result<Vec<u8>, std::io::Error>> = too_long
        .as_bytes()
        .chunks(8192)
        .map(|piece| Ok(piece.to_vec()))
        .collect();
    let (status, lines) = app
        .post_batch(reqwest::Body::wrap_stream(futures_util::stream::iter(
            pieces,
        )))
        .await;
    assert_eq!(status, StatusCode::OK);
    let last = lines.last().expect("an error line");
    assert_eq!(last["error"]["code"], "payload_too_large", "{last}");
    assert!(lines.iter().all(|line| line.get("summary").is_none()));
}

#[tokio::test]
async fn quarantine_is_listed_shown_and_replayed_with_a_corrected_body() {
    let app = TestApp::sqlite().await;
    let mut record = abdullayev("fns-7");
    record["observed_at"] = json!("yesterday");
    let problem = json_of(app.post_record(&record).await).await;
    let quarantine_id = problem["quarantine_id"].as_i64().expect("a quarantine id");

    let list = json_of(app.get("/v1/quarantine?status=open&limit=10").await).await;
    assert_eq!(list["items"][0]["id"], quarantine_id);
    assert_eq!(list["items"][0]["status"], "open");
    assert!(list["items"][0].get("raw").is_none());

    let item = json_of(app.get(&format!("/v1/quarantine/{quarantine_id}")).await).await;
    assert_eq!(item["violations"][0]["pointer"], "/observed_at");
    assert_eq!(item["raw"], record.to_string());

    // Replayed as it is, it is still refused.
    let still = app.replay(quarantine_id, Vec::new()).await;
    assert_problem(still, StatusCode::UNPROCESSABLE_ENTITY, "record_rejected").await;

    record["observed_at"] = json!("2026-03-01T09:00:00Z");
    let replayed = app
        .replay(quarantine_id, record.to_string().into_bytes())
        .await;
    assert_eq!(replayed.status(), StatusCode::OK);
    let result = json_of(replayed).await;
    assert_eq!(result["outcome"], "accepted");
    assert_eq!(result["quarantine_id"], quarantine_id);

    let item = json_of(app.get(&format!("/v1/quarantine/{quarantine_id}")).await).await;
    assert_eq!(item["status"], "replayed");
    assert_eq!(item["resolved_record_id"], result["record_id"]);
    assert_problem(
        app.replay(quarantine_id, Vec::new()).await,
        StatusCode::CONFLICT,
        "already_replayed",
    )
    .await;
    assert_problem(
        app.replay(999_999, Vec::new()).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_problem(
        app.get("/v1/quarantine/999999").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_problem(
        app.get("/v1/quarantine?status=closed").await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    )
    .await;
    let replayed_list = json_of(app.get("/v1/quarantine?status=replayed").await).await;
    assert_eq!(replayed_list["items"][0]["id"], quarantine_id);
}

#[tokio::test]
async fn the_profile_answers_as_of_a_time_and_valid_at_a_date() {
    let app = TestApp::sqlite().await;
    let mut first = abdullayev("fns-1");
    first["valid_to"] = json!("2026-06-30");
    let person_id = json_of(app.post_record(&first).await).await["person_id"]
        .as_i64()
        .expect("a person");

    app.clock.advance(Duration::hours(2));
    let mut second = abdullayev("fns-1");
    second["revision"] = json!(2);
    second["data"]["balance"] = json!(0);
    assert_eq!(
        json_of(app.post_record(&second).await).await["outcome"],
        "superseded"
    );

    let now = json_of(app.get_person(person_id, "").await).await;
    assert_eq!(now["facts"]["tax_debt"][0]["data"]["balance"], 0);
    assert_eq!(now["facts"]["tax_debt"][0]["cited"]["revision"], 2);

    let then = json_of(
        app.get_person(person_id, "?as_of=2026-03-01T11:00:00Z")
            .await,
    )
    .await;
    assert_eq!(then["facts"]["tax_debt"][0]["data"]["balance"], -1250.0);
    assert_eq!(then["as_of"], "2026-03-01T11:00:00Z");

    let before = app
        .get_person(person_id, "?as_of=2026-03-01T09:00:00Z")
        .await;
    assert_problem(before, StatusCode::NOT_FOUND, "not_found").await;

    // The first revision held until 30 June; the second has no end.
    let valid_then = json_of(
        app.get_person(person_id, "?as_of=2026-03-01T11:00:00Z&valid_at=2026-07-01")
            .await,
    )
    .await;
    assert!(
        valid_then["facts"]
            .as_object()
            .is_some_and(|facts| facts.is_empty()),
        "{valid_then}"
    );
    let valid_before = json_of(app.get_person(person_id, "?valid_at=2026-02-01").await).await;
    assert!(
        valid_before["facts"]
            .as_object()
            .is_some_and(|facts| facts.is_empty())
    );

    let problem = assert_problem(
        app.get_person(person_id, "?as_of=yesterday").await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    )
    .await;
    assert_eq!(problem["errors"][0]["pointer"], "/as_of");
    assert_problem(
        app.get_person(person_id, "?valid_at=2026-13-01").await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    )
    .await;
    assert_problem(
        app.get_person(404_404, "").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_problem(
        app.get("/v1/persons/not-a-number").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn a_merged_person_redirects_to_the_survivor() {
    let app = TestApp::sqlite().await;
    let mut by_passport = abdullayev("fns-1");
    by_passport["subject"]["identifiers"] = json!({});
    // Another record of the tax service (the social fund may not send tax debts).
    let mut by_snils = abdullayev("fns-snils-1");
    by_snils["subject"]["documents"] = json!([]);
    let first = json_of(app.post_record(&by_passport).await).await["person_id"].as_i64();
    let second = json_of(app.post_record(&by_snils).await).await["person_id"].as_i64();
    assert_ne!(first, second);
    // A record carrying both identifiers shows they are one person.
    let both = json_of(app.post_record(&abdullayev("mvd-1")).await).await;
    let survivor = both["person_id"].as_i64().expect("a person");
    let merged = [first, second]
        .into_iter()
        .flatten()
        .find(|person| *person != survivor)
        .expect("one of the two was merged");

    let response = app.get_person(merged, "?valid_at=2026-03-01").await;
    assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(
        response.headers()["location"],
        format!("/v1/persons/{survivor}?valid_at=2026-03-01").as_str()
    );
    assert_eq!(json_of(response).await["merged_into"], survivor);
    let profile = json_of(app.get_person(survivor, "").await).await;
    assert_eq!(
        profile["facts"]["tax_debt"].as_array().map(Vec::len),
        Some(3),
        "{profile}"
    );
}

#[tokio::test]
async fn review_lists_identifier_conflicts() {
    let app = TestApp::sqlite().await;
    assert_eq!(
        json_of(app.get("/v1/review").await).await,
        json!({"items": []})
    );
    app.post_record(&abdullayev("fns-1")).await;
    // The same passport with another SNILS: two persons' identifiers in one record.
    let mut conflicting = abdullayev("fns-2");
    conflicting["subject"]["identifiers"] = json!({"snils": "112-233-445 95"});
    assert_eq!(
        app.post_record(&conflicting).await.status(),
        StatusCode::CREATED
    );
    let review = json_of(app.get("/v1/review").await).await;
    assert_eq!(
        review["items"][0]["kind"], "identifier_conflict",
        "{review}"
    );
    assert_eq!(review["items"][0]["status"], "open");
}

/// A tax record about a man with this family name, passport and SNILS.
fn tax_record(source_ref: &str, family: &str, passport: &str, snils: &str) -> Value {
    let mut record = abdullayev(source_ref);
    record["subject"]["names"] = json!([{"script": "Latn", "family": family, "given": "RUSTAM"}]);
    record["subject"]["documents"][0]["number"] = json!(passport);
    record["subject"]["identifiers"] = json!({"snils": snils});
    record
}

fn person_ids_of(people: &[Value]) -> Vec<i64> {
    let mut ids: Vec<i64> = people
        .iter()
        .filter_map(|person| person["person_id"].as_i64())
        .collect();
    ids.sort_unstable();
    ids
}

fn holds_identifier(person: &Value, identifier: &str) -> bool {
    person["identifiers"]
        .as_array()
        .is_some_and(|identifiers| identifiers.iter().any(|held| held == identifier))
}

/// Two persons, then a record carrying the first one's passport and the second one's SNILS:
/// the resolver links it to one of them and opens a review item. Returns the two persons and
/// the item.
async fn open_identifier_conflict(
    app: &TestApp,
    family: &str,
    passports: [&str; 2],
    snils: [&str; 2],
) -> (i64, i64, Value) {
    let first = app
        .post_for_person(&tax_record(
            &format!("fns-{family}-1"),
            family,
            passports[0],
            snils[0],
        ))
        .await;
    let second = app
        .post_for_person(&tax_record(
            &format!("fns-{family}-2"),
            family,
            passports[1],
            snils[1],
        ))
        .await;
    assert_ne!(first, second, "different passports and SNILS: two persons");
    let bridge = app
        .post_record(&tax_record(
            &format!("mvd-{family}-3"),
            family,
            passports[0],
            snils[1],
        ))
        .await;
    assert_eq!(bridge.status(), StatusCode::CREATED);
    let items = app.open_review_items().await;
    assert_eq!(items.len(), 1, "{items:?}");
    (first, second, items[0].clone())
}

async fn check_review_workflow(backend: Backend) {
    let Some(app) = TestApp::on(backend).await else {
        return;
    };
    let (first, second, item) = open_identifier_conflict(
        &app,
        "ABDULLAYEV",
        ["FA1234567", "FB7654321"],
        ["123-456-789 64", "112-233-445 95"],
    )
    .await;
    let item_id = item["id"].as_i64().expect("an item id");
    assert_eq!(item["kind"], "identifier_conflict");
    assert_eq!(item["status"], "open");
    assert!(
        item["evidence"]["conflicting_identifiers"].is_array(),
        "{item}"
    );

    // The officer reads the item with both persons side by side.
    let detail = json_of(app.get(&format!("/v1/review/{item_id}")).await).await;
    assert_eq!(detail["id"], item_id);
    assert_eq!(detail["evidence"], item["evidence"]);
    let persons = detail["persons"].as_array().expect("persons").clone();
    let mut expected = vec![first, second];
    expected.sort_unstable();
    assert_eq!(person_ids_of(&persons), expected, "{detail}");
    for person in &persons {
        assert_eq!(
            person["url"],
            format!("/v1/persons/{}", person["person_id"])
        );
        assert_eq!(person["listed_as"], json!([person["person_id"]]));
        assert_eq!(person["identity"][0]["names"][0]["family"], "ABDULLAYEV");
        assert_eq!(person["identity"][0]["birth_date"], "1991-07-14");
        assert_eq!(person["identity"][0]["citizenship"], "UZB");
    }
    let shown = |person_id: i64| {
        persons
            .iter()
            .find(|person| person["person_id"] == person_id)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert!(holds_identifier(&shown(first), "passport:UZB:FA1234567"));
    assert!(holds_identifier(&shown(second), "passport:UZB:FB7654321"));
    let tax_facts: u64 = persons
        .iter()
        .filter_map(|person| person["fact_counts"]["tax_debt"].as_u64())
        .sum();
    assert_eq!(tax_facts, 3, "every record of the two is counted once");

    // A decision that cannot be taken as written names its field.
    let decision_path = format!("/v1/review/{item_id}/decision");
    for (body, pointer, rule) in [
        (
            json!({"decision": "reject", "actor": "officer:ivanova", "reason": "  "}),
            "/reason",
            "required",
        ),
        (
            json!({"decision": "reject", "actor": "", "reason": "namesakes"}),
            "/actor",
            "required",
        ),
        (
            json!({"decision": "maybe", "actor": "officer:ivanova", "reason": "namesakes"}),
            "/decision",
            "enum",
        ),
        (
            json!({"actor": "officer:ivanova", "reason": "namesakes"}),
            "/decision",
            "required",
        ),
        (
            json!({"decision": "reject", "actor": 7, "reason": "namesakes"}),
            "/actor",
            "type",
        ),
        (json!(["reject"]), "", "not_an_object"),
    ] {
        let problem = assert_problem(
            app.post_json(&decision_path, &body).await,
            StatusCode::BAD_REQUEST,
            "invalid_decision",
        )
        .await;
        assert_eq!(problem["errors"][0]["pointer"], pointer, "{problem}");
        assert_eq!(problem["errors"][0]["rule"], rule, "{problem}");
    }
    let both_missing = assert_problem(
        app.post_json(&decision_path, &json!({"decision": "reject"}))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_decision",
    )
    .await;
    assert_eq!(
        both_missing["errors"].as_array().map(Vec::len),
        Some(2),
        "every mistake at once: {both_missing}"
    );
    let not_json = app
        .client
        .post(app.url(&decision_path))
        .body("reject")
        .send()
        .await
        .expect("an answer");
    let problem = assert_problem(not_json, StatusCode::BAD_REQUEST, "invalid_decision").await;
    assert_eq!(problem["errors"][0]["rule"], "json_syntax");
    assert_problem(
        app.decide(999_999, "reject", "namesakes").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_problem(
        app.get("/v1/review/999999").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_problem(
        app.get("/v1/review/not-a-number").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(
        app.open_review_items().await.len(),
        1,
        "refusals change nothing"
    );

    // Rejected: the item closes and both histories show who decided and why.
    app.clock.advance(Duration::hours(1));
    let response = app
        .decide(item_id, "reject", "different fathers' names")
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let verdict = json_of(response).await;
    assert_eq!(verdict["status"], "rejected");
    assert_eq!(verdict["decision_ids"].as_array().map(Vec::len), Some(1));
    let rejection_id = verdict["decision_ids"][0].as_i64().expect("a decision id");
    assert!(app.open_review_items().await.is_empty());
    let closed = json_of(app.get(&format!("/v1/review/{item_id}")).await).await;
    assert_eq!(closed["status"], "rejected");
    let problem = assert_problem(
        app.decide(item_id, "confirm", "changed my mind").await,
        StatusCode::CONFLICT,
        "decision_conflict",
    )
    .await;
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|detail| detail.contains("already rejected")),
        "{problem}"
    );
    for person in [first, second] {
        let history = app.history(person).await;
        let rejection = history
            .iter()
            .find(|decision| decision["id"] == rejection_id)
            .unwrap_or_else(|| {
                panic!("person {person}'s history lacks the rejection: {history:?}")
            });
        assert_eq!(rejection["kind"], "reject");
        assert_eq!(rejection["actor"], "officer:ivanova");
        assert_eq!(rejection["reason"], "different fathers' names");
        assert_eq!(rejection["decided_at"], "2026-03-01T11:00:00Z");
        assert_eq!(rejection["evidence"]["review_item"], item_id);
        assert_eq!(app.get_person(person, "").await.status(), StatusCode::OK);
    }

    // A second conflict, confirmed: the two persons become one.
    let (third, fourth, item) = open_identifier_conflict(
        &app,
        "KARIMOV",
        ["AB0000001", "AB0000002"],
        ["234-567-890 99", "345-678-901 23"],
    )
    .await;
    let item_id = item["id"].as_i64().expect("an item id");
    let response = app
        .decide(item_id, "confirm", "one SNILS was mistyped")
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let verdict = json_of(response).await;
    assert_eq!(verdict["status"], "confirmed");
    let merge_id = verdict["decision_ids"][0].as_i64().expect("a decision id");
    let (survivor, merged) = (third.min(fourth), third.max(fourth));
    let redirect = app.get_person(merged, "").await;
    assert_eq!(redirect.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(
        redirect.headers()["location"],
        format!("/v1/persons/{survivor}").as_str()
    );
    let profile = json_of(app.get_person(survivor, "").await).await;
    assert_eq!(
        profile["facts"]["tax_debt"].as_array().map(Vec::len),
        Some(3)
    );
    for person in [survivor, merged] {
        let history = app.history(person).await;
        let merge = history
            .iter()
            .find(|decision| decision["id"] == merge_id)
            .unwrap_or_else(|| panic!("person {person}'s history lacks the merge: {history:?}"));
        assert_eq!(merge["kind"], "merge");
        assert_eq!(merge["person_id"], survivor);
        assert_eq!(merge["other_person_id"], merged);
        assert_eq!(merge["actor"], "officer:ivanova");
        assert_eq!(merge["reason"], "one SNILS was mistyped");
    }
    // The closed item now shows the one person both of its ids lead to.
    let closed = json_of(app.get(&format!("/v1/review/{item_id}")).await).await;
    assert_eq!(closed["status"], "confirmed");
    assert_eq!(
        closed["persons"].as_array().map(Vec::len),
        Some(1),
        "{closed}"
    );
    assert_eq!(closed["persons"][0]["person_id"], survivor);
    let mut listed_as: Vec<i64> = closed["persons"][0]["listed_as"]
        .as_array()
        .map(|ids| ids.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default();
    listed_as.sort_unstable();
    assert_eq!(listed_as, [survivor, merged]);
}

#[tokio::test]
async fn a_review_item_is_shown_side_by_side_rejected_and_another_confirmed() {
    check_review_workflow(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_review_item_is_shown_side_by_side_rejected_and_another_confirmed_on_postgres() {
    check_review_workflow(Backend::Postgres).await;
}

#[tokio::test]
async fn an_officer_merge_then_split_through_the_api_restores_both_profiles() {
    let app = TestApp::sqlite().await;
    let first = app
        .post_for_person(&tax_record(
            "fns-a",
            "ABDULLAYEV",
            "FA1234567",
            "123-456-789 64",
        ))
        .await;
    let second = app
        .post_for_person(&tax_record(
            "fns-k",
            "KARIMOV",
            "AB7654321",
            "234-567-890 99",
        ))
        .await;
    let third = app
        .post_for_person(&tax_record(
            "fns-s",
            "SAIDOV",
            "AC1111111",
            "345-678-901 23",
        ))
        .await;
    let profile_body = |person_id: i64| {
        let app = &app;
        async move {
            let response = app.get_person(person_id, "").await;
            assert_eq!(response.status(), StatusCode::OK);
            response.text().await.expect("a body")
        }
    };
    let before = (profile_body(first).await, profile_body(second).await);

    app.clock.advance(Duration::hours(1));
    let response = app.merge(first, second, "same man, passport renewed").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let merge_id = json_of(response).await["decision_id"]
        .as_i64()
        .expect("a decision id");
    let redirect = app.get_person(second, "").await;
    assert_eq!(redirect.status(), StatusCode::PERMANENT_REDIRECT);
    let merged_profile = json_of(app.get_person(first, "").await).await;
    assert_eq!(
        merged_profile["facts"]["tax_debt"].as_array().map(Vec::len),
        Some(2)
    );
    assert!(holds_identifier(&merged_profile, "passport:UZB:AB7654321"));

    // A decision on the merged person names the person to decide on.
    let problem = assert_problem(
        app.merge(third, second, "same man").await,
        StatusCode::CONFLICT,
        "decision_conflict",
    )
    .await;
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|detail| detail.contains(&format!("decide on {first}"))),
        "{problem}"
    );

    app.clock.advance(Duration::hours(1));
    let response = app.split(second, merge_id, "two men after all").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let split_id = json_of(response).await["decision_id"]
        .as_i64()
        .expect("a decision id");
    let after = (profile_body(first).await, profile_body(second).await);
    assert_eq!(after, before, "a split restores both profiles exactly");

    assert_problem(
        app.split(first, merge_id, "again").await,
        StatusCode::CONFLICT,
        "decision_conflict",
    )
    .await;
    let history = app.history(second).await;
    let written: Vec<(&str, &str, &str, &str)> = history
        .iter()
        .map(|decision| {
            (
                decision["kind"].as_str().unwrap_or_default(),
                decision["actor"].as_str().unwrap_or_default(),
                decision["reason"].as_str().unwrap_or_default(),
                decision["decided_at"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        written,
        [
            (
                "merge",
                "officer:petrov",
                "same man, passport renewed",
                "2026-03-01T11:00:00Z"
            ),
            (
                "split",
                "officer:petrov",
                "two men after all",
                "2026-03-01T12:00:00Z"
            ),
        ]
    );
    assert_eq!(history[0]["id"], merge_id);
    assert_eq!(history[1]["id"], split_id);
    assert_eq!(history[1]["evidence"]["undoes"], merge_id);
    assert_eq!(app.history(first).await, history);
    assert!(app.history(third).await.is_empty());

    // Refusals.
    let problem = assert_problem(
        app.split(first, split_id, "undo the split").await,
        StatusCode::BAD_REQUEST,
        "invalid_decision",
    )
    .await;
    assert_eq!(problem["errors"][0]["pointer"], "/merge_decision_id");
    let problem = assert_problem(
        app.split(third, merge_id, "not this one's").await,
        StatusCode::BAD_REQUEST,
        "invalid_decision",
    )
    .await;
    assert_eq!(problem["errors"][0]["pointer"], "/merge_decision_id");
    assert_problem(
        app.split(first, 999_999, "no such merge").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_problem(
        app.split(999_999, merge_id, "no such person").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let problem = assert_problem(
        app.merge(first, first, "myself").await,
        StatusCode::BAD_REQUEST,
        "invalid_decision",
    )
    .await;
    assert_eq!(problem["errors"][0]["pointer"], "/from");
    assert_problem(
        app.merge(first, 999_999, "nobody").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let problem = assert_problem(
        app.merge(first, third, "").await,
        StatusCode::BAD_REQUEST,
        "invalid_decision",
    )
    .await;
    assert_eq!(problem["errors"][0]["pointer"], "/reason");
    let problem = assert_problem(
        app.post_json(
            &format!("/v1/persons/{first}/merge"),
            &json!({"from": "two", "actor": "officer:petrov", "reason": "same man"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_decision",
    )
    .await;
    assert_eq!(problem["errors"][0]["pointer"], "/from");
    assert_eq!(problem["errors"][0]["rule"], "type");
    let problem = assert_problem(
        app.merge(first, third, &"why ".repeat(1000)).await,
        StatusCode::BAD_REQUEST,
        "invalid_decision",
    )
    .await;
    assert_eq!(problem["errors"][0]["rule"], "length");
    assert_problem(
        app.get("/v1/persons/999999/history").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(
        app.get_person(third, "").await.status(),
        StatusCode::OK,
        "refused merges leave the person alone"
    );
}

#[tokio::test]
async fn a_merge_overtaken_by_a_later_one_is_split_latest_first() {
    let app = TestApp::sqlite().await;
    let first = app
        .post_for_person(&tax_record(
            "fns-a",
            "ABDULLAYEV",
            "FA1234567",
            "123-456-789 64",
        ))
        .await;
    let second = app
        .post_for_person(&tax_record(
            "fns-k",
            "KARIMOV",
            "AB7654321",
            "234-567-890 99",
        ))
        .await;
    let third = app
        .post_for_person(&tax_record(
            "fns-s",
            "SAIDOV",
            "AC1111111",
            "345-678-901 23",
        ))
        .await;
    let decision_id = |response: reqwest::Response| async move {
        assert_eq!(response.status(), StatusCode::CREATED);
        json_of(response).await["decision_id"]
            .as_i64()
            .expect("a decision id")
    };
    let earlier = decision_id(app.merge(first, second, "same man").await).await;
    let later = decision_id(app.merge(third, first, "same man again").await).await;
    let problem = assert_problem(
        app.split(second, earlier, "wrong").await,
        StatusCode::CONFLICT,
        "decision_conflict",
    )
    .await;
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|detail| detail.contains("split the later merge first")),
        "{problem}"
    );
    decision_id(app.split(first, later, "wrong").await).await;
    decision_id(app.split(second, earlier, "wrong").await).await;
    for person in [first, second, third] {
        assert_eq!(app.get_person(person, "").await.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn health_metrics_and_unknown_routes() {
    let app = TestApp::sqlite().await;
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(
        json_of(health).await,
        json!({"status": "ok", "backend": "sqlite"})
    );

    app.post_record(&abdullayev("fns-1")).await;
    app.post_record(&json!({"source": "fns"})).await;
    app.get_person(1, "").await;
    assert_problem(
        app.get("/v2/nothing").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let wrong_method = app
        .client
        .delete(app.url("/v1/records"))
        .send()
        .await
        .expect("an answer");
    assert_problem(
        wrong_method,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;

    let metrics = app.get("/metrics").await;
    assert_eq!(metrics.status(), StatusCode::OK);
    assert!(
        metrics.headers()["content-type"]
            .to_str()
            .is_ok_and(|value| value.starts_with("text/plain"))
    );
    let text = metrics.text().await.expect("text");
    for expected in [
        r#"dprofile_http_requests_total{method="POST",route="/v1/records",status="201"} 1"#,
        r#"dprofile_http_requests_total{method="POST",route="/v1/records",status="422"} 1"#,
        r#"dprofile_http_requests_total{method="GET",route="/v1/persons/{id}",status="200"} 1"#,
        r#"dprofile_http_requests_total{method="GET",route="unmatched",status="404"} 1"#,
        r#"dprofile_http_request_duration_seconds_bucket{method="POST",route="/v1/records",le="+Inf"} 2"#,
        r#"dprofile_http_request_duration_seconds_count{method="GET",route="/healthz"} 1"#,
        r#"dprofile_ingest_records_total{outcome="accepted"} 1"#,
        r#"dprofile_ingest_records_total{outcome="quarantined"} 1"#,
        "dprofile_store_up 1",
        "dprofile_persons 1",
        "dprofile_quarantine_open 1",
        "dprofile_access_log_failed_batches_total 0",
        // The read went through the access log's group commit: one transaction of one entry.
        r#"dprofile_access_log_batch_entries_bucket{le="1"} 1"#,
        "dprofile_access_log_batch_entries_count 1",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in\n{text}");
    }
}

#[tokio::test]
async fn the_openapi_document_lists_every_route() {
    let app = TestApp::sqlite().await;
    let response = app.get("/openapi.json").await;
    assert_eq!(response.status(), StatusCode::OK);
    let document = json_of(response).await;
    assert!(
        document["openapi"]
            .as_str()
            .is_some_and(|version| version.starts_with("3.1"))
    );
    let paths = document["paths"].as_object().expect("paths");
    let mut listed: Vec<&str> = paths.keys().map(String::as_str).collect();
    listed.sort_unstable();
    assert_eq!(
        listed,
        [
            "/docs",
            "/healthz",
            "/metrics",
            "/openapi.json",
            "/v1/access-log/key",
            "/v1/corrections",
            "/v1/corrections/{id}/answer",
            "/v1/feed",
            "/v1/me/access-log",
            "/v1/me/corrections",
            "/v1/me/passes",
            "/v1/me/passes/{file}",
            "/v1/me/passes/{id}/revoke",
            "/v1/me/profile",
            "/v1/me/share-codes",
            "/v1/me/share-codes/{id}",
            "/v1/me/sign-in",
            "/v1/me/sign-out",
            "/v1/me/status",
            "/v1/me/verify",
            "/v1/officer/sign-in",
            "/v1/officer/sign-out",
            "/v1/passes/root-key",
            "/v1/passes/status-list",
            "/v1/passes/trust-list",
            "/v1/persons",
            "/v1/persons/{id}",
            "/v1/persons/{id}/history",
            "/v1/persons/{id}/merge",
            "/v1/persons/{id}/split",
            "/v1/persons/{id}/status",
            "/v1/quarantine",
            "/v1/quarantine/{id}",
            "/v1/quarantine/{id}/replay",
            "/v1/records",
            "/v1/records/batch",
            "/v1/review",
            "/v1/review/{id}",
            "/v1/review/{id}/decision",
            "/v1/share-codes/check",
            "/v1/subscriptions",
            "/v1/subscriptions/{id}",
            "/v1/subscriptions/{id}/replay",
        ]
    );
    // Clients generated from the document name their methods after operation ids.
    let mut operation_ids: Vec<&str> = paths
        .values()
        .filter_map(Value::as_object)
        .flat_map(|operations| operations.values())
        .filter_map(|operation| operation["operationId"].as_str())
        .collect();
    let operation_count = operation_ids.len();
    operation_ids.sort_unstable();
    operation_ids.dedup();
    assert_eq!(
        operation_ids.len(),
        operation_count,
        "operation ids are unique"
    );
    let schemas = document["components"]["schemas"]
        .as_object()
        .expect("schemas");
    for schema in [
        "LineResultBody",
        "SummaryBody",
        "ProfileBody",
        "Problem",
        "BatchSummaryLine",
        "ReviewItemDetailBody",
        "ReviewPersonBody",
        "ReviewDecisionRequest",
        "ReviewDecisionBody",
        "MergeRequest",
        "SplitRequest",
        "DecisionCreatedBody",
        "HistoryBody",
        "LinkDecisionBody",
    ] {
        assert!(schemas.contains_key(schema), "schema {schema} missing");
    }
}

#[tokio::test]
async fn the_landing_page_links_to_the_docs() {
    let app = TestApp::sqlite().await;
    let page = app.get("/").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("text");
    assert!(html.contains("href=\"/docs\"") && html.contains("href=\"/openapi.json\""));
}

#[tokio::test]
async fn the_docs_page_and_its_vendored_assets_are_served() {
    let app = TestApp::sqlite().await;
    let page = app.get("/docs").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .is_ok_and(|value| value.starts_with("text/html"))
    );
    let html = page.text().await.expect("text");
    assert!(html.contains("/openapi.json") && html.contains("/docs/assets/swagger-ui-bundle.js"));
    assert!(
        !html.contains("//cdn") && !html.contains("https://"),
        "no outside assets"
    );
    for (asset, content_type) in [
        ("swagger-ui-bundle.js", "text/javascript"),
        ("swagger-ui.css", "text/css"),
        ("LICENSE", "text/plain"),
    ] {
        let response = app.get(&format!("/docs/assets/{asset}")).await;
        assert_eq!(response.status(), StatusCode::OK, "{asset}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .is_ok_and(|value| value.starts_with(content_type))
        );
        assert!(!response.bytes().await.expect("bytes").is_empty());
    }
    assert_problem(
        app.get("/docs/assets/nothing.js").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// Authentication, purpose-bound reads, and the access log.

/// Routes that serve no personal data and stay open.
/// Open by design: documentation and operations, the person's sign-in (it says nothing about
/// who exists) and the access log's published verifier key.
const OPEN_PATHS: [&str; 12] = [
    "/docs",
    "/healthz",
    "/metrics",
    "/openapi.json",
    "/v1/me/sign-in",
    "/v1/me/verify",
    "/v1/officer/sign-in",
    "/v1/access-log/key",
    "/v1/share-codes/check",
    "/v1/passes/trust-list",
    "/v1/passes/status-list",
    "/v1/passes/root-key",
];

async fn assert_unauthorised(response: reqwest::Response, code: &str, what: &str) {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{what}");
    let challenge = response
        .headers()
        .get("www-authenticate")
        .unwrap_or_else(|| panic!("{what}: a WWW-Authenticate header"))
        .to_str()
        .expect("ASCII")
        .to_owned();
    assert!(challenge.starts_with("Bearer"), "{what}: {challenge}");
    assert_problem(response, StatusCode::UNAUTHORIZED, code).await;
}

/// The method of a `"{method} {path}"` description.
fn method_again(what: &str) -> reqwest::Method {
    let method = what.split_once(' ').map_or(what, |(method, _)| method);
    reqwest::Method::from_bytes(method.as_bytes()).expect("an HTTP method")
}

#[tokio::test]
async fn every_route_with_personal_data_answers_401_without_a_key() {
    let app = TestApp::sqlite().await;
    // Something to find, so that an unguarded route would answer with data rather than 404.
    let person = app.post_for_person(&abdullayev("AUTH-1")).await;
    let document = json_of(app.get("/openapi.json").await).await;
    assert_eq!(
        document["components"]["securitySchemes"]["agency_api_key"]["scheme"],
        "bearer"
    );
    let mut called = 0;
    for (path, operations) in document["paths"].as_object().expect("paths") {
        for (method, operation) in operations.as_object().expect("operations") {
            let secured = operation["security"]
                .as_array()
                .is_some_and(|requirements| !requirements.is_empty());
            if OPEN_PATHS.contains(&path.as_str()) {
                assert!(!secured, "{method} {path} is open and says so");
                continue;
            }
            assert!(secured, "{method} {path} declares the bearer scheme");
            let url = app.url(&path.replace("{id}", &person.to_string()));
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes())
                .expect("an HTTP method");
            let what = format!("{method} {path}");
            let response = app
                .anonymous
                .request(method.clone(), &url)
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .expect("the server answers");
            assert_unauthorised(response, "auth.required", &what).await;
            // A key that is not one: the same refusal, with its own code.
            let response = app
                .anonymous
                .request(method, &url)
                .header("authorization", "Bearer dpk_0000")
                .send()
                .await
                .expect("the server answers");
            // The person's routes take a session, not an agency key.
            let invalid_code = if path.starts_with("/v1/me/") {
                "auth.invalid_session"
            } else {
                "auth.invalid_key"
            };
            assert_unauthorised(response, invalid_code, &what).await;
            // An officer session that is not one: refused before any handler too.
            let response = app
                .anonymous
                .request(method_again(&what), &url)
                .header("authorization", "Bearer dpo_0000")
                .send()
                .await
                .expect("the server answers");
            let invalid_code = if path.starts_with("/v1/me/") {
                "auth.invalid_session"
            } else {
                "auth.officer_session_ended"
            };
            assert_unauthorised(response, invalid_code, &what).await;
            called += 1;
        }
    }
    assert_eq!(called, 36, "every operation under /v1/ was called");
    // The open routes answer without a key.
    for path in ["/", "/healthz", "/metrics", "/openapi.json", "/docs"] {
        let response = app
            .anonymous
            .get(app.url(path))
            .send()
            .await
            .expect("an answer");
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn a_revoked_key_answers_401_and_other_schemes_are_refused() {
    let app = TestApp::sqlite().await;
    let person = app.post_for_person(&abdullayev("AUTH-2")).await;
    let tax = app.client_as("tax_inspector", "tax_administration");
    let url = app.url(&format!("/v1/persons/{person}"));
    let response = tax.get(&url).send().await.expect("an answer");
    assert_eq!(response.status(), StatusCode::OK);

    let key_id = app
        .store()
        .api_keys()
        .expect("the keys")
        .into_iter()
        .find(|key| key.role == "tax_inspector")
        .expect("the tax inspector's key")
        .id;
    let revoked =
        dprofile_pipeline::api_keys::revoke(app.store(), key_id, start_instant()).expect("revoked");
    assert!(revoked);
    assert_unauthorised(
        tax.get(&url).send().await.expect("an answer"),
        "auth.invalid_key",
        "revoked key",
    )
    .await;

    let token = &app.keys["migration_officer"];
    let basic = app
        .anonymous
        .get(&url)
        .header("authorization", format!("Basic {token}"))
        .send()
        .await
        .expect("an answer");
    assert_unauthorised(basic, "auth.invalid_key", "basic scheme").await;
}

#[tokio::test]
async fn a_read_without_purpose_or_case_or_outside_the_role_is_refused_and_logged() {
    let app = TestApp::sqlite().await;
    let person = app.post_for_person(&abdullayev("PURPOSE-1")).await;
    let url = app.url(&format!("/v1/persons/{person}"));
    let token = app.keys["tax_inspector"].clone();
    let before = app.access_log_size();

    let cases: [(&[(&str, &str)], &str); 3] = [
        (&[], "policy.purpose_required"),
        (
            &[("x-purpose", "tax_administration")],
            "policy.case_required",
        ),
        (
            &[("x-purpose", "law_enforcement"), ("x-case-ref", "T-1")],
            "policy.purpose_not_granted",
        ),
    ];
    for (headers, code) in cases {
        let mut request = app
            .anonymous
            .get(&url)
            .header("authorization", format!("Bearer {token}"));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("an answer");
        let problem = assert_problem(response, StatusCode::FORBIDDEN, code).await;
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|detail| !detail.is_empty())
        );
    }
    // A search outside the role is refused the same way.
    let response = app
        .client_as("tax_inspector", "border_control")
        .get(app.url("/v1/persons"))
        .query(&[("document", "FA1234567")])
        .send()
        .await
        .expect("an answer");
    assert_problem(
        response,
        StatusCode::FORBIDDEN,
        "policy.purpose_not_granted",
    )
    .await;

    let entries = app.access_entries(before);
    assert_eq!(entries.len(), 4, "{entries:?}");
    for (entry, code) in entries.iter().zip([
        "policy.purpose_required",
        "policy.case_required",
        "policy.purpose_not_granted",
        "policy.purpose_not_granted",
    ]) {
        assert_eq!(entry.role, "tax_inspector");
        assert_eq!(entry.agency, "fns");
        assert!(entry.actor.starts_with("apikey:"), "{}", entry.actor);
        assert_eq!(
            entry.outcome,
            dprofile_audit::AccessOutcome::Refused {
                rule: code.to_owned()
            }
        );
        assert!(entry.categories.is_empty());
    }
    assert_eq!(entries[0].person, Some(person));
    assert_eq!(entries[3].action, dprofile_audit::AccessAction::Search);
    assert_eq!(entries[3].person, None);

    // An allowed search logs each person found.
    let before = app.access_log_size();
    let found = app.search(&[("document", "FA1234567")]).await;
    assert_eq!(found, vec![person]);
    let entries = app.access_entries(before);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].person, Some(person));
    assert_eq!(entries[0].outcome, dprofile_audit::AccessOutcome::Allowed);
}

/// One upsert of every category, all about one person: the first record of each category the
/// synthetic generator writes, with its subject replaced by one fixed subject.
fn one_record_of_every_category() -> Vec<Value> {
    let subject = abdullayev("unused")["subject"].clone();
    let mut by_category: BTreeMap<String, Value> = BTreeMap::new();
    dprofile_synth::generate(&dprofile_synth::SynthConfig::new(3000, 7), |record| {
        let Ok(mut line) = serde_json::from_str::<Value>(&record.line) else {
            return;
        };
        let Some(category) = line["category"].as_str().map(str::to_owned) else {
            return;
        };
        if line["action"] != "upsert" || by_category.contains_key(&category) {
            return;
        }
        line["subject"] = subject.clone();
        line["revision"] = json!(1);
        line["source_ref"] = json!(format!("MATRIX-{category}"));
        by_category.insert(category, line);
    });
    by_category.into_values().collect()
}

#[tokio::test]
async fn the_policy_matrix_shows_exactly_the_allowed_categories_and_logs_every_read() {
    let app = TestApp::sqlite().await;
    let mut person = None;
    for record in one_record_of_every_category() {
        let response = app.post_record(&record).await;
        let body = json_of(response).await;
        let id = body["person_id"]
            .as_i64()
            .unwrap_or_else(|| panic!("{body}"));
        assert!(person.is_none_or(|known| known == id), "one person: {body}");
        person = Some(id);
    }
    let person = person.expect("a person");
    let all_codes: BTreeSet<String> = dprofile_domain::Category::ALL
        .iter()
        .map(|category| category.code().to_owned())
        .collect();

    let policy = Policy::default_policy();
    let mut purposes: BTreeSet<&str> = policy.purposes();
    purposes.insert("no_such_purpose");
    let mut reads = 0;
    let mut allowed_reads = 0;
    for role in policy.roles() {
        let agency = policy.role_agencies(role).next().expect("an agency");
        for purpose in &purposes {
            let before = app.access_log_size();
            let response = app
                .client_as(role, purpose)
                .get(app.url(&format!("/v1/persons/{person}")))
                .send()
                .await
                .expect("an answer");
            reads += 1;
            let request = dprofile_policy::AccessRequest {
                role,
                agency,
                purpose,
                case_ref: Some("case-2026-002"),
                action: dprofile_policy::Action::Read,
            };
            let entries = app.access_entries(before);
            assert_eq!(entries.len(), 1, "{role} × {purpose}: one log entry");
            let entry = &entries[0];
            assert_eq!(
                (
                    entry.role.as_str(),
                    entry.agency.as_str(),
                    entry.purpose.as_str()
                ),
                (role, agency, *purpose)
            );
            assert_eq!(entry.person, Some(person));
            assert_eq!(entry.case_ref.as_deref(), Some("case-2026-002"));
            match policy.decide(&request) {
                Ok(allowance) => {
                    allowed_reads += 1;
                    assert_eq!(response.status(), StatusCode::OK, "{role} × {purpose}");
                    let profile = json_of(response).await;
                    let facts = profile["facts"].as_object().expect("facts");
                    let shown: BTreeSet<String> = facts.keys().cloned().collect();
                    let expected: BTreeSet<String> = allowance
                        .categories
                        .iter()
                        .map(|category| category.code().to_owned())
                        .collect();
                    assert_eq!(shown, expected, "{role} × {purpose}: exactly the allowed");
                    for (category, fields) in &allowance.fields {
                        for fact in facts[category.code()].as_array().expect("facts") {
                            for name in fact["data"].as_object().expect("data").keys() {
                                assert!(
                                    fields.contains(name),
                                    "{role} × {purpose}: {}.{name} is not granted",
                                    category.code()
                                );
                            }
                        }
                    }
                    assert_eq!(entry.outcome, dprofile_audit::AccessOutcome::Allowed);
                    let logged: BTreeSet<String> = entry.categories.iter().cloned().collect();
                    assert_eq!(
                        logged, shown,
                        "{role} × {purpose}: the log names what was shown"
                    );
                }
                Err(refusal) => {
                    let problem =
                        assert_problem(response, StatusCode::FORBIDDEN, refusal.code).await;
                    assert!(problem.get("facts").is_none());
                    assert_eq!(
                        entry.outcome,
                        dprofile_audit::AccessOutcome::Refused {
                            rule: refusal.code.to_owned()
                        },
                        "{role} × {purpose}"
                    );
                    assert!(entry.categories.is_empty());
                }
            }
        }
    }
    // The person holds every category, so "exactly the allowed" was checked for each one.
    let everything = json_of(app.get_person(person, "").await).await;
    let held: BTreeSet<String> = everything["facts"]
        .as_object()
        .expect("facts")
        .keys()
        .cloned()
        .collect();
    assert_eq!(held, all_codes, "the person has a record of every category");
    assert!(
        allowed_reads >= policy.roles().count() - 1,
        "{allowed_reads} allowed"
    );
    assert!(reads > allowed_reads, "some reads were refused");
}

#[tokio::test]
async fn the_review_desk_needs_a_role_that_reviews_and_refusals_are_logged() {
    let app = TestApp::sqlite().await;
    let first = app.post_for_person(&abdullayev("DESK-1")).await;
    let second = app
        .post_for_person(&tax_record(
            "DESK-2",
            "KARIMOV",
            "FB7654321",
            "112-233-445 95",
        ))
        .await;
    let tax = app.client_as("tax_inspector", "tax_administration");
    let before = app.access_log_size();
    for (method, path, body) in [
        ("GET", "/v1/review".to_owned(), None),
        ("GET", "/v1/quarantine".to_owned(), None),
        ("GET", format!("/v1/persons/{first}/history"), None),
        (
            "POST",
            format!("/v1/persons/{first}/merge"),
            Some(json!({"from": second, "actor": "officer:x", "reason": "same"})),
        ),
    ] {
        let mut request = tax.request(
            reqwest::Method::from_bytes(method.as_bytes()).expect("a method"),
            app.url(&path),
        );
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.expect("an answer");
        assert_problem(response, StatusCode::FORBIDDEN, "policy.action_not_granted").await;
    }
    let entries = app.access_entries(before);
    assert_eq!(entries.len(), 4);
    assert!(entries.iter().all(|entry| entry.role == "tax_inspector"
        && entry.action == dprofile_audit::AccessAction::Review
        && matches!(entry.outcome, dprofile_audit::AccessOutcome::Refused { .. })));
    // Nothing was merged.
    assert_eq!(app.get_person(second, "").await.status(), StatusCode::OK);
    // The migration officer reviews, and that is logged too.
    let before = app.access_log_size();
    assert_eq!(app.get("/v1/review").await.status(), StatusCode::OK);
    let entries = app.access_entries(before);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].outcome, dprofile_audit::AccessOutcome::Allowed);
    assert_eq!(entries[0].action, dprofile_audit::AccessAction::Review);
}

// --- The person's own rights: sign-in, own profile, own access log -------------------------

impl TestApp {
    async fn sign_in(&self, document_number: &str, birth_date: &str) -> reqwest::Response {
        self.anonymous
            .post(self.url("/v1/me/sign-in"))
            .json(&json!({"document_number": document_number, "birth_date": birth_date}))
            .send()
            .await
            .expect("the server answers")
    }

    async fn verify_code(&self, sign_in_id: &str, code: &str) -> reqwest::Response {
        self.anonymous
            .post(self.url("/v1/me/verify"))
            .json(&json!({"sign_in_id": sign_in_id, "code": code}))
            .send()
            .await
            .expect("the server answers")
    }

    /// Signs in as the holder of the document and returns a client with the session token.
    async fn person_session(&self, document_number: &str, birth_date: &str) -> reqwest::Client {
        let sent_before = self.codes.all().len();
        let started = self.sign_in(document_number, birth_date).await;
        assert_eq!(started.status(), StatusCode::ACCEPTED);
        let sign_in_id = json_of(started).await["sign_in_id"]
            .as_str()
            .expect("a sign-in id")
            .to_owned();
        let codes = self.codes.all();
        assert_eq!(codes.len(), sent_before + 1, "one code was sent");
        let (_, code) = codes.last().expect("a code").clone();
        let verified = self.verify_code(&sign_in_id, &code).await;
        assert_eq!(verified.status(), StatusCode::OK);
        let token = json_of(verified).await["token"]
            .as_str()
            .expect("a token")
            .to_owned();
        TestApp::client_with(&[("authorization", &format!("Bearer {token}"))])
    }

    /// The person's access log, each entry's proof checked offline against only the published
    /// verifier key.
    async fn my_verified_access_log(&self, session: &reqwest::Client) -> Vec<Value> {
        let key = json_of(
            self.anonymous
                .get(self.url("/v1/access-log/key"))
                .send()
                .await
                .expect("an answer"),
        )
        .await;
        let origin = key["origin"].as_str().expect("an origin");
        let trusted =
            dprofile_audit::TrustedLogKeys::new([key["verifier_key"].as_str().expect("a key")])
                .expect("a verifier key");
        let response = session
            .get(self.url("/v1/me/access-log"))
            .send()
            .await
            .expect("an answer");
        assert_eq!(response.status(), StatusCode::OK);
        let entries = json_of(response).await["entries"]
            .as_array()
            .expect("entries")
            .clone();
        for entry in &entries {
            let proven: dprofile_audit::ProvenEntry =
                serde_json::from_value(entry["proof"].clone()).expect("a proven entry");
            let (checked, _) = proven
                .verify(origin, &trusted)
                .unwrap_or_else(|error| panic!("the proof of {entry} verifies: {error}"));
            assert_eq!(
                checked.purpose,
                entry["purpose"].as_str().expect("a purpose")
            );
            assert_eq!(checked.role, entry["role"].as_str().expect("a role"));
        }
        entries
    }
}

fn namesake(source_ref: &str) -> Value {
    let mut record = abdullayev(source_ref);
    record["subject"]["documents"][0]["number"] = json!("FB7654321");
    record["subject"]["identifiers"] = json!({});
    record["subject"]["birth_date"] = json!("1985-02-03");
    record
}

#[tokio::test]
async fn a_person_signs_in_with_a_code_and_reads_their_whole_profile() {
    let app = TestApp::sqlite().await;
    let person = app.post_for_person(&abdullayev("ME-1")).await;
    let other = app.post_for_person(&namesake("ME-2")).await;
    assert_ne!(person, other);

    // A document and birth date that match nobody: the same answer, and no code sent.
    let unknown = app.sign_in("ZZ9999999", "1991-07-14").await;
    assert_eq!(unknown.status(), StatusCode::ACCEPTED);
    let wrong_birth = app.sign_in("FA1234567", "1991-07-15").await;
    assert_eq!(wrong_birth.status(), StatusCode::ACCEPTED);
    let unknown_body = json_of(unknown).await;
    assert!(unknown_body["sign_in_id"].is_string());
    assert!(app.codes.all().is_empty(), "no code for nobody");

    let session = app.person_session("FA 123-4567", "1991-07-14").await;
    assert_eq!(app.codes.all()[0].0, person, "the code went to the holder");
    let before = app.access_log_size();
    let response = session
        .get(app.url("/v1/me/profile"))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), StatusCode::OK);
    let profile = json_of(response).await;
    assert_eq!(profile["person_id"], person);
    assert!(profile["facts"]["tax_debt"].is_array(), "{profile}");
    // The person's own read is logged as theirs.
    let logged = app.access_entries(before);
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0].actor, format!("person:{person}"));
    assert_eq!(logged[0].role, "person");
    assert_eq!(logged[0].purpose, "own_data");
    assert_eq!(logged[0].person, Some(person));

    // The session is no agency key: the agency routes refuse it.
    for path in [
        format!("/v1/persons/{other}"),
        format!("/v1/persons/{person}"),
    ] {
        let response = session.get(app.url(&path)).send().await.expect("an answer");
        assert_problem(response, StatusCode::UNAUTHORIZED, "auth.invalid_key").await;
    }
    // Another person's reads are not in this person's log.
    app.get_person(other, "").await;
    let entries = app.my_verified_access_log(&session).await;
    assert!(!entries.is_empty());
    for entry in &entries {
        let (_, checked) = dprofile_audit::AccessEntry::from_canonical(
            entry["proof"]["canonical"]
                .as_str()
                .expect("canonical")
                .as_bytes(),
        )
        .expect("an entry");
        assert_eq!(checked.person, Some(person), "{entry}");
    }
    // A session ends after its lifetime.
    app.clock.advance(Duration::minutes(31));
    let response = session
        .get(app.url("/v1/me/profile"))
        .send()
        .await
        .expect("an answer");
    assert_problem(response, StatusCode::UNAUTHORIZED, "auth.invalid_session").await;
}

#[tokio::test]
async fn signing_out_ends_that_session_and_no_other() {
    let app = TestApp::sqlite().await;
    app.post_for_person(&abdullayev("ME-OUT")).await;
    let session = app.person_session("FA1234567", "1991-07-14").await;
    let other_device = app.person_session("FA1234567", "1991-07-14").await;
    let read = |client: &reqwest::Client| client.get(app.url("/v1/me/profile")).send();
    assert_eq!(
        read(&session).await.expect("an answer").status(),
        StatusCode::OK
    );

    let signed_out = session
        .post(app.url("/v1/me/sign-out"))
        .send()
        .await
        .expect("an answer");
    assert_eq!(signed_out.status(), StatusCode::NO_CONTENT);
    // The token no longer opens anything, though its lifetime has not run out.
    let response = read(&session).await.expect("an answer");
    assert_problem(response, StatusCode::UNAUTHORIZED, "auth.invalid_session").await;
    let again = session
        .post(app.url("/v1/me/sign-out"))
        .send()
        .await
        .expect("an answer");
    assert_problem(again, StatusCode::UNAUTHORIZED, "auth.invalid_session").await;
    // Only that session: the person's session on another device stays open.
    assert_eq!(
        read(&other_device).await.expect("an answer").status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn five_wrong_codes_lock_the_sign_in() {
    let app = TestApp::sqlite().await;
    app.post_for_person(&abdullayev("ME-3")).await;
    let started = json_of(app.sign_in("FA1234567", "1991-07-14").await).await;
    let sign_in_id = started["sign_in_id"].as_str().expect("an id");
    let (_, code) = app.codes.all()[0].clone();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for attempts_left in (1..=4).rev() {
        let problem = assert_problem(
            app.verify_code(sign_in_id, wrong).await,
            StatusCode::UNAUTHORIZED,
            "sign_in.wrong_code",
        )
        .await;
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|detail| detail.contains(&format!("{attempts_left} attempts left"))),
            "{problem}"
        );
    }
    assert_problem(
        app.verify_code(sign_in_id, wrong).await,
        StatusCode::FORBIDDEN,
        "sign_in.locked",
    )
    .await;
    // Locked: even the right code does not open it now.
    assert_problem(
        app.verify_code(sign_in_id, &code).await,
        StatusCode::FORBIDDEN,
        "sign_in.locked",
    )
    .await;
    // A code expires after five minutes.
    let started = json_of(app.sign_in("FA1234567", "1991-07-14").await).await;
    let (_, code) = app.codes.all()[1].clone();
    app.clock.advance(Duration::minutes(6));
    assert_problem(
        app.verify_code(started["sign_in_id"].as_str().expect("an id"), &code)
            .await,
        StatusCode::UNAUTHORIZED,
        "sign_in.expired",
    )
    .await;
    // A malformed request names the field.
    let problem = assert_problem(
        app.sign_in("FA1234567", "14.07.1991").await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    )
    .await;
    assert_eq!(problem["errors"][0]["pointer"], "/birth_date", "{problem}");
}

#[tokio::test]
async fn sign_in_is_rate_limited_per_document_and_per_address() {
    let app = TestApp::sqlite().await;
    for _ in 0..5 {
        assert_eq!(
            app.sign_in("FA1234567", "1991-07-14").await.status(),
            StatusCode::ACCEPTED
        );
    }
    let response = app.sign_in("FA1234567", "1991-07-14").await;
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("ASCII")
        .parse()
        .expect("seconds");
    assert!(retry_after > 0 && retry_after <= 15 * 60, "{retry_after}");
    assert_problem(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // Other documents from the same address: 20 sign-in requests per window in all, the
    // refused one included.
    for number in 0..14 {
        assert_eq!(
            app.sign_in(&format!("FC{:07}", 1_000_000 + number), "1990-01-01")
                .await
                .status(),
            StatusCode::ACCEPTED
        );
    }
    let response = app.sign_in("FD1234567", "1990-01-01").await;
    assert!(response.headers().contains_key("retry-after"));
    assert_problem(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // Verification has its own limit per address.
    for _ in 0..20 {
        assert_eq!(
            app.verify_code("nothing", "123456").await.status(),
            StatusCode::NOT_FOUND
        );
    }
    assert_problem(
        app.verify_code("nothing", "123456").await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    )
    .await;
    // Code checks per document, over all its sign-ins: a fresh sign-in does not reset them.
    app.clock.advance(Duration::minutes(16));
    app.post_for_person(&abdullayev("ME-5")).await;
    for round in 0..3 {
        let started = json_of(app.sign_in("FA1234567", "1991-07-14").await).await;
        let sign_in_id = started["sign_in_id"].as_str().expect("an id").to_owned();
        let (_, code) = app.codes.all().last().expect("a code").clone();
        let wrong = if code == "000000" { "111111" } else { "000000" };
        for attempt in 0..4 {
            let response = app.verify_code(&sign_in_id, wrong).await;
            if round * 4 + attempt < 10 {
                assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
            } else {
                assert_problem(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
            }
        }
    }
    // The window passes.
    app.clock.advance(Duration::minutes(16));
    assert_eq!(
        app.sign_in("FA1234567", "1991-07-14").await.status(),
        StatusCode::ACCEPTED
    );
}

#[tokio::test]
async fn the_person_sees_every_access_with_proofs_and_law_enforcement_reads_after_the_delay() {
    the_person_sees_every_access(&TestApp::sqlite().await).await;
}

#[tokio::test]
async fn the_person_sees_every_access_with_proofs_on_postgres() {
    let Some(app) = TestApp::postgres().await else {
        return;
    };
    the_person_sees_every_access(&app).await;
}

async fn the_person_sees_every_access(app: &TestApp) {
    let person = app.post_for_person(&abdullayev("ME-4")).await;
    // A migration officer's read, and a police law-enforcement read (delayed by 90 days).
    assert_eq!(app.get_person(person, "").await.status(), StatusCode::OK);
    let police = app.client_as("police_officer", "law_enforcement");
    let response = police
        .get(app.url(&format!("/v1/persons/{person}")))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), StatusCode::OK);

    let session = app.person_session("FA1234567", "1991-07-14").await;
    let entries = app.my_verified_access_log(&session).await;
    let roles: Vec<&str> = entries
        .iter()
        .map(|entry| entry["role"].as_str().expect("a role"))
        .collect();
    assert!(roles.contains(&"migration_officer"), "{roles:?}");
    assert!(!roles.contains(&"police_officer"), "not yet: {roles:?}");
    let officer = entries
        .iter()
        .find(|entry| entry["role"] == "migration_officer")
        .expect("the officer's read");
    assert_eq!(officer["purpose"], "identity_review");
    assert_eq!(officer["outcome"], "allowed");
    assert_eq!(officer["action"], "read");

    // A day before the delay ends: still hidden; after it: shown, and its proof verifies.
    app.clock.advance(Duration::days(89));
    let session = app.person_session("FA1234567", "1991-07-14").await;
    let entries = app.my_verified_access_log(&session).await;
    assert!(
        entries
            .iter()
            .all(|entry| entry["role"] != "police_officer")
    );
    app.clock.advance(Duration::days(1));
    let session = app.person_session("FA1234567", "1991-07-14").await;
    let entries = app.my_verified_access_log(&session).await;
    let police_read = entries
        .iter()
        .find(|entry| entry["role"] == "police_officer")
        .expect("the police read, after its delay");
    assert_eq!(police_read["purpose"], "law_enforcement");
    assert_eq!(police_read["agency"], "mvd-offences");
}

// --- Officers: accounts, sign-in, lock-out, sessions; durable person sessions ---------------

/// The right password of every test officer.
const OFFICER_PASSWORD: &str = "correct horse battery staple";

/// Another API process (or the same one restarted) on the test app's store: a fresh router
/// and fresh in-memory state, the same store, clock and log key.
struct SecondProcess {
    base_url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SecondProcess {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

impl Drop for SecondProcess {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Runs blocking store work on a thread of its own: the PostgreSQL client blocks on a runtime
/// of its own, which must not be nested in the test's.
fn off_runtime<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| scope.spawn(work).join().expect("the store work ends"))
}

impl TestApp {
    /// Creates an officer of `role` (for the role's first agency) with [`OFFICER_PASSWORD`].
    fn create_officer(&self, login: &str, role: &str) -> dprofile_store::OfficerRow {
        let policy = Policy::default_policy();
        let agency = policy.role_agencies(role).next().expect("an agency");
        off_runtime(|| {
            dprofile_pipeline::officers::create(
                self.store(),
                &policy,
                &dprofile_pipeline::officers::NewOfficerAccount {
                    login,
                    display_name: "Irina Petrova",
                    agency,
                    role,
                    password: OFFICER_PASSWORD,
                },
                start_instant(),
            )
        })
        .expect("an officer")
    }

    async fn officer_sign_in(&self, login: &str, password: &str) -> reqwest::Response {
        self.anonymous
            .post(self.url("/v1/officer/sign-in"))
            .json(&json!({"login": login, "password": password}))
            .send()
            .await
            .expect("the server answers")
    }

    /// Signs the officer in and returns the token.
    async fn officer_token(&self, login: &str) -> String {
        let response = self.officer_sign_in(login, OFFICER_PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body = json_of(response).await;
        assert_eq!(body["officer"]["login"], login);
        body["token"].as_str().expect("a token").to_owned()
    }

    fn second_process(&self) -> SecondProcess {
        let store = self.store.clone().expect("the store");
        let clock = self.clock.clone();
        let (address_sender, address_receiver) = std::sync::mpsc::channel();
        let (shutdown_sender, shutdown_receiver) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a server runtime");
            let log_key =
                dprofile_audit::LogKey::from_seed("dprofile/test-log", [7; 32]).expect("a log key");
            let state = AppState::with_clock(store, clock, ApiConfig::default(), log_key);
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("a free port");
                let _ = address_sender.send(listener.local_addr().expect("an address"));
                let shutdown = async move {
                    let _ = shutdown_receiver.await;
                };
                dprofile_api::serve(listener, state, shutdown)
                    .await
                    .expect("the second server runs");
            });
        });
        let address = address_receiver.recv().expect("the second server started");
        SecondProcess {
            base_url: format!("http://{address}"),
            shutdown: Some(shutdown_sender),
            thread: Some(thread),
        }
    }
}

fn officer_client(token: &str, purpose: &str) -> reqwest::Client {
    TestApp::client_with(&[
        ("authorization", &format!("Bearer {token}")),
        ("x-purpose", purpose),
        ("x-case-ref", "case-2026-077"),
    ])
}

#[tokio::test]
async fn an_officer_signs_in_reads_a_profile_and_the_person_sees_which_officer_looked() {
    an_officer_reads_and_the_person_sees_which_officer(&TestApp::sqlite().await).await;
}

#[tokio::test]
async fn an_officer_signs_in_reads_a_profile_and_the_person_sees_which_officer_looked_on_postgres()
{
    let Some(app) = TestApp::postgres().await else {
        return;
    };
    an_officer_reads_and_the_person_sees_which_officer(&app).await;
}

async fn an_officer_reads_and_the_person_sees_which_officer(app: &TestApp) {
    let person = app.post_for_person(&abdullayev("OFF-1")).await;
    app.create_officer("i.petrova", "migration_officer");
    let token = app.officer_token("i.petrova").await;
    assert!(token.starts_with("dpo_"), "{token}");

    // The session acts like the agency key of the officer's agency and role.
    let officer = officer_client(&token, "stay_control");
    let before = app.access_log_size();
    let response = officer
        .get(app.url(&format!("/v1/persons/{person}")))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(json_of(response).await["facts"]["tax_debt"].is_array());
    let logged = app.access_entries(before);
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0].actor, "officer:i.petrova");
    assert_eq!(logged[0].role, "migration_officer");
    assert_eq!(logged[0].agency, "mvd-migration");
    assert_eq!(logged[0].purpose, "stay_control");
    assert_eq!(logged[0].case_ref.as_deref(), Some("case-2026-077"));
    assert_eq!(logged[0].person, Some(person));
    // The policy decides for the officer's role as for a key: no purpose, no data.
    let no_purpose = TestApp::client_with(&[("authorization", &format!("Bearer {token}"))]);
    let response = no_purpose
        .get(app.url(&format!("/v1/persons/{person}")))
        .send()
        .await
        .expect("an answer");
    assert_problem(response, StatusCode::FORBIDDEN, "policy.purpose_required").await;

    // The person sees which officer looked, with a proof.
    let session = app.person_session("FA1234567", "1991-07-14").await;
    let entries = app.my_verified_access_log(&session).await;
    let read = entries
        .iter()
        .find(|entry| entry["actor"] == "officer:i.petrova" && entry["outcome"] == "allowed")
        .expect("the officer's read");
    assert_eq!(read["purpose"], "stay_control");
    assert_eq!(read["role"], "migration_officer");

    // Sign-out ends the session; an agency key cannot sign out.
    let response = app
        .client
        .post(app.url("/v1/officer/sign-out"))
        .send()
        .await
        .expect("an answer");
    assert_problem(
        response,
        StatusCode::BAD_REQUEST,
        "auth.not_an_officer_session",
    )
    .await;
    let response = officer
        .post(app.url("/v1/officer/sign-out"))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = officer
        .get(app.url(&format!("/v1/persons/{person}")))
        .send()
        .await
        .expect("an answer");
    assert!(response.headers().contains_key("www-authenticate"));
    assert_problem(
        response,
        StatusCode::UNAUTHORIZED,
        "auth.officer_session_ended",
    )
    .await;
    // An officer's token is no person session.
    let token = app.officer_token("i.petrova").await;
    let response = officer_client(&token, "stay_control")
        .get(app.url("/v1/me/profile"))
        .send()
        .await
        .expect("an answer");
    assert_problem(response, StatusCode::UNAUTHORIZED, "auth.invalid_session").await;
}

#[tokio::test]
async fn a_wrong_password_answers_like_an_unknown_login_and_failures_lock_the_account() {
    failures_lock_the_officer_account(&TestApp::sqlite().await).await;
}

#[tokio::test]
async fn a_wrong_password_answers_like_an_unknown_login_and_failures_lock_the_account_on_postgres()
{
    let Some(app) = TestApp::postgres().await else {
        return;
    };
    failures_lock_the_officer_account(&app).await;
}

async fn failures_lock_the_officer_account(app: &TestApp) {
    app.create_officer("i.petrova", "migration_officer");
    let unknown = assert_problem(
        app.officer_sign_in("nobody.here", OFFICER_PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        "officer.sign_in_failed",
    )
    .await;
    let wrong = assert_problem(
        app.officer_sign_in("i.petrova", "not the right password")
            .await,
        StatusCode::UNAUTHORIZED,
        "officer.sign_in_failed",
    )
    .await;
    assert_eq!(unknown, wrong, "nobody learns which logins exist");
    // A missing field is named.
    let problem = assert_problem(
        app.officer_sign_in("i.petrova", "").await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    )
    .await;
    assert_eq!(problem["errors"][0]["pointer"], "/password", "{problem}");

    // Four more failures (five in all) lock the account: even the right password is refused,
    // with the same answer, on this process and on another one.
    for _ in 0..4 {
        let refused = json_of(
            app.officer_sign_in("i.petrova", "still not it at all")
                .await,
        )
        .await;
        assert_eq!(refused, wrong);
    }
    let locked = app.officer_sign_in("i.petrova", OFFICER_PASSWORD).await;
    assert_eq!(json_of(locked).await, wrong);
    let restarted = app.second_process();
    let response = app
        .anonymous
        .post(restarted.url("/v1/officer/sign-in"))
        .json(&json!({"login": "i.petrova", "password": OFFICER_PASSWORD}))
        .send()
        .await
        .expect("an answer");
    assert_eq!(json_of(response).await, wrong, "the lock-out is stored");
    let stored = off_runtime(|| app.store().officer_by_login("i.petrova"))
        .expect("the store")
        .expect("the officer");
    assert_eq!(
        stored.locked_until,
        Some(start_instant() + Duration::minutes(15))
    );

    // Still locked a minute before the cool-down ends; released after it.
    app.clock.advance(Duration::minutes(14));
    let refused = app.officer_sign_in("i.petrova", OFFICER_PASSWORD).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    app.clock.advance(Duration::minutes(1));
    app.officer_token("i.petrova").await;
    // A success resets the count: four failures do not lock again.
    for _ in 0..4 {
        app.officer_sign_in("i.petrova", "wrong once more").await;
    }
    app.officer_token("i.petrova").await;

    // A disabled officer cannot sign in, and open sessions end.
    let token = app.officer_token("i.petrova").await;
    off_runtime(|| dprofile_pipeline::officers::disable(app.store(), "i.petrova", app.clock.now()))
        .expect("disabled");
    let disabled = app.officer_sign_in("i.petrova", OFFICER_PASSWORD).await;
    assert_eq!(json_of(disabled).await, wrong);
    let response = officer_client(&token, "stay_control")
        .get(app.url("/v1/persons?document=FA1234567"))
        .send()
        .await
        .expect("an answer");
    assert_problem(
        response,
        StatusCode::UNAUTHORIZED,
        "auth.officer_session_ended",
    )
    .await;
}

#[tokio::test]
async fn officer_sign_in_is_rate_limited_per_address() {
    let app = TestApp::sqlite().await;
    for attempt in 0..30 {
        let response = app
            .officer_sign_in(&format!("someone.{attempt}"), OFFICER_PASSWORD)
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = app.officer_sign_in("someone.else", OFFICER_PASSWORD).await;
    assert!(response.headers().contains_key("retry-after"));
    assert_problem(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

#[tokio::test]
async fn officer_sessions_end_when_idle_and_at_their_absolute_expiry() {
    let app = TestApp::sqlite().await;
    let person = app.post_for_person(&abdullayev("OFF-2")).await;
    app.create_officer("i.petrova", "migration_officer");
    let read = |token: String| {
        let url = app.url(&format!("/v1/persons/{person}"));
        async move {
            officer_client(&token, "stay_control")
                .get(url)
                .send()
                .await
                .expect("an answer")
        }
    };
    // Activity keeps a session open past the idle timeout...
    let token = app.officer_token("i.petrova").await;
    for _ in 0..3 {
        app.clock.advance(Duration::minutes(29));
        assert_eq!(read(token.clone()).await.status(), StatusCode::OK);
    }
    // ...and 30 minutes without a request end it.
    app.clock.advance(Duration::minutes(31));
    assert_problem(
        read(token).await,
        StatusCode::UNAUTHORIZED,
        "auth.officer_session_ended",
    )
    .await;

    // However active, a session ends 8 hours after sign-in.
    let token = app.officer_token("i.petrova").await;
    for _ in 0..19 {
        app.clock.advance(Duration::minutes(25));
        assert_eq!(read(token.clone()).await.status(), StatusCode::OK);
    }
    app.clock.advance(Duration::minutes(5));
    assert_problem(
        read(token).await,
        StatusCode::UNAUTHORIZED,
        "auth.officer_session_ended",
    )
    .await;
}

#[tokio::test]
async fn sessions_and_pending_sign_ins_survive_a_restart_of_the_api() {
    sessions_survive_a_restart(&TestApp::sqlite().await).await;
}

#[tokio::test]
async fn sessions_and_pending_sign_ins_survive_a_restart_of_the_api_on_postgres() {
    let Some(app) = TestApp::postgres().await else {
        return;
    };
    sessions_survive_a_restart(&app).await;
}

async fn sessions_survive_a_restart(app: &TestApp) {
    let person = app.post_for_person(&abdullayev("OFF-3")).await;
    let session = app.person_session("FA1234567", "1991-07-14").await;
    // A sign-in started before the restart is finished after it.
    let started = json_of(app.sign_in("FA1234567", "1991-07-14").await).await;
    let (_, code) = app.codes.all().last().expect("a code").clone();
    app.create_officer("i.petrova", "migration_officer");
    let officer_token = app.officer_token("i.petrova").await;

    let restarted = app.second_process();
    let response = session
        .get(restarted.url("/v1/me/profile"))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json_of(response).await["person_id"], person);
    let verified = app
        .anonymous
        .post(restarted.url("/v1/me/verify"))
        .json(&json!({"sign_in_id": started["sign_in_id"], "code": code}))
        .send()
        .await
        .expect("an answer");
    assert_eq!(verified.status(), StatusCode::OK);
    // The code was used: it opens no second session, on either process.
    let again = app.verify_code(started["sign_in_id"].as_str().expect("an id"), &code);
    assert_problem(again.await, StatusCode::NOT_FOUND, "sign_in.unknown").await;
    let response = officer_client(&officer_token, "stay_control")
        .get(restarted.url(&format!("/v1/persons/{person}")))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), StatusCode::OK);
    // The person's session still ends after its lifetime.
    app.clock.advance(Duration::minutes(31));
    let response = session
        .get(restarted.url("/v1/me/profile"))
        .send()
        .await
        .expect("an answer");
    assert_problem(response, StatusCode::UNAUTHORIZED, "auth.invalid_session").await;
}

/// After retention erased a record, the person's own profile no longer shows it, and their
/// access log shows the erasure (with a proof, like every entry).
#[tokio::test]
async fn the_person_sees_what_retention_left_and_the_erasure() {
    let app = TestApp::sqlite().await;
    let person = app.post_for_person(&abdullayev("RET-1")).await;
    let mut phone = abdullayev("RET-2");
    phone["source"] = json!("rossvyaz");
    phone["category"] = json!("phone_number");
    phone["valid_from"] = json!("2020-01-01");
    // Three years after this, the phone record's period ran out before the clock's now.
    phone["valid_to"] = json!("2022-12-31");
    phone["data"] = json!({"number": "+79161234567", "registered_on": "2020-01-01"});
    assert_eq!(app.post_for_person(&phone).await, person);

    let store = app.store.clone().expect("the store");
    let log = dprofile_pipeline::access_log::AccessLog::new(
        store.clone(),
        dprofile_audit::LogKey::from_seed("dprofile/test-log", [7; 32]).expect("a log key"),
    );
    let report = dprofile_pipeline::retention::run(
        &store,
        &log,
        &dprofile_pipeline::retention::Schedule::default_schedule(),
        start_instant(),
        false,
    )
    .expect("retention runs");
    assert_eq!(report.keys_erased(), 1);

    let session = app.person_session("FA1234567", "1991-07-14").await;
    let response = session
        .get(app.url("/v1/me/profile"))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), StatusCode::OK);
    let profile = json_of(response).await;
    let categories: Vec<&String> = profile["facts"]
        .as_object()
        .expect("facts")
        .keys()
        .collect();
    assert_eq!(categories, vec!["tax_debt"], "{profile}");
    let entries = app.my_verified_access_log(&session).await;
    let erasure = entries
        .iter()
        .find(|entry| entry["action"] == json!("erase"))
        .unwrap_or_else(|| panic!("an erasure among {entries:?}"));
    assert_eq!(erasure["categories"], json!(["phone_number"]));
}

// --- The person's right to correction: request, the source agency's queue, the answer ------

impl TestApp {
    /// A client of `agency`'s own system (role `source_system`) handling its correction queue.
    fn correction_handler(&self, agency: &str) -> reqwest::Client {
        let store = self.store();
        let token = std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    dprofile_pipeline::api_keys::issue(
                        store,
                        &Policy::default_policy(),
                        &format!("{agency} corrections"),
                        agency,
                        "source_system",
                        start_instant(),
                    )
                    .expect("a key")
                    .token
                })
                .join()
                .expect("the key thread")
        });
        TestApp::client_with(&[
            ("authorization", &format!("Bearer {token}")),
            ("x-purpose", "correction_handling"),
        ])
    }

    /// The access log's entries from `from` on, read off the async workers (PostgreSQL).
    fn access_entries_blocking(&self, from: u64) -> Vec<dprofile_audit::AccessEntry> {
        std::thread::scope(|scope| {
            scope
                .spawn(|| self.access_entries(from))
                .join()
                .expect("the log thread")
        })
    }

    fn access_log_size_blocking(&self) -> u64 {
        std::thread::scope(|scope| {
            scope
                .spawn(|| self.access_log_size())
                .join()
                .expect("the log thread")
        })
    }
}

async fn send_json(request: reqwest::RequestBuilder, body: &Value) -> reqwest::Response {
    request
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("the server answers")
}

/// The tax-debt fact of a profile body.
fn tax_fact(profile: &Value) -> Value {
    profile["facts"]["tax_debt"][0].clone()
}

async fn my_profile(app: &TestApp, session: &reqwest::Client) -> Value {
    let response = session
        .get(app.url("/v1/me/profile"))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), StatusCode::OK);
    json_of(response).await
}

async fn my_corrections(app: &TestApp, session: &reqwest::Client) -> Vec<Value> {
    let response = session
        .get(app.url("/v1/me/corrections"))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), StatusCode::OK);
    json_of(response).await["corrections"]
        .as_array()
        .expect("corrections")
        .clone()
}

async fn queue_of(app: &TestApp, handler: &reqwest::Client, query: &str) -> Vec<Value> {
    let response = handler
        .get(app.url(&format!("/v1/corrections{query}")))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), StatusCode::OK);
    json_of(response).await["corrections"]
        .as_array()
        .expect("corrections")
        .clone()
}

/// The tax inspector's view of the person's tax-debt fact (another agency's officer).
async fn tax_inspector_sees(app: &TestApp, person: i64) -> Value {
    let response = app
        .client_as("tax_inspector", "tax_administration")
        .get(app.url(&format!("/v1/persons/{person}")))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), StatusCode::OK);
    tax_fact(&json_of(response).await)
}

/// Files a request about the balance of the person's tax debt; returns it.
async fn file_balance_dispute(app: &TestApp, session: &reqwest::Client, record_id: i64) -> Value {
    let response = send_json(
        session.post(app.url("/v1/me/corrections")),
        &json!({"record_id": record_id, "fields": ["/data/balance"],
                "explanation": "I paid the debt on 2026-02-20; the balance is 0"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    json_of(response).await
}

async fn check_correction_rejected(app: &TestApp) {
    let person = app.post_for_person(&abdullayev("CORR-1")).await;
    let session = app.person_session("FA1234567", "1991-07-14").await;
    let fact = tax_fact(&my_profile(app, &session).await);
    assert!(fact.get("disputed").is_none(), "{fact}");
    let record_id = fact["cited"]["record_id"].as_i64().expect("a record id");

    let filed = file_balance_dispute(app, &session, record_id).await;
    let request_id = filed["id"].as_i64().expect("an id");
    assert_eq!(filed["status"], "open");
    assert_eq!(filed["source"], "fns");
    assert_eq!(filed["record_id"], record_id);
    assert_eq!(filed["disputed"], true);
    let due =
        (start_instant() + Duration::days(30)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(filed["due_at"], due);

    // The source agency's queue has it, with its deadline; the reading is logged per person.
    let fns = app.correction_handler("fns");
    let before = app.access_log_size_blocking();
    let queue = queue_of(app, &fns, "").await;
    assert_eq!(queue.len(), 1, "{queue:?}");
    assert_eq!(queue[0]["id"], request_id);
    assert_eq!(queue[0]["person_id"], person);
    assert_eq!(queue[0]["due_at"], due);
    assert_eq!(queue[0]["fields"], json!(["/data/balance"]));
    let entries = app.access_entries_blocking(before);
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].person, Some(person));
    assert_eq!(entries[0].agency, "fns");
    assert_eq!(entries[0].purpose, "correction_handling");
    assert_eq!(entries[0].categories, vec!["tax_debt".to_owned()]);

    // Another agency neither sees nor answers it.
    let gibdd = app.correction_handler("gibdd");
    assert!(queue_of(app, &gibdd, "").await.is_empty());
    let response = send_json(
        gibdd.post(app.url(&format!("/v1/corrections/{request_id}/answer"))),
        &json!({"verdict": "reject", "answer": "not ours"}),
    )
    .await;
    assert_problem(response, StatusCode::NOT_FOUND, "correction.not_found").await;

    // Everyone who sees the fact sees the marker: another agency's officer, and the person.
    for fact in [
        tax_inspector_sees(app, person).await,
        tax_fact(&my_profile(app, &session).await),
    ] {
        let markers = fact["disputed"].as_array().expect("a dispute marker");
        assert_eq!(markers.len(), 1, "{fact}");
        assert_eq!(markers[0]["request_id"], request_id);
        assert_eq!(markers[0]["fields"], json!(["/data/balance"]));
        assert_eq!(markers[0]["status"], "open");
        assert_eq!(markers[0]["since"], filed["filed_at"]);
    }

    // The agency rejects with a reason: the marker goes, the person reads the answer.
    let before = app.access_log_size_blocking();
    let response = send_json(
        fns.post(app.url(&format!("/v1/corrections/{request_id}/answer"))),
        &json!({"verdict": "reject", "answer": "no payment reached the treasury account"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let answered = json_of(response).await;
    assert_eq!(answered["status"], "rejected");
    assert_eq!(answered["disputed"], false);
    let entries = app.access_entries_blocking(before);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].action, dprofile_audit::AccessAction::Write);
    assert_eq!(entries[0].role, "source_system");
    assert_eq!(entries[0].person, Some(person));
    assert_eq!(
        entries[0].case_ref,
        Some(format!("correction:{request_id}"))
    );

    assert!(
        tax_inspector_sees(app, person)
            .await
            .get("disputed")
            .is_none()
    );
    assert!(
        tax_fact(&my_profile(app, &session).await)
            .get("disputed")
            .is_none()
    );
    let mine = my_corrections(app, &session).await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["status"], "rejected");
    assert_eq!(mine[0]["answer"], "no payment reached the treasury account");

    // An answer is final.
    let response = send_json(
        fns.post(app.url(&format!("/v1/corrections/{request_id}/answer"))),
        &json!({"verdict": "accept", "answer": "on second thought"}),
    )
    .await;
    assert_problem(
        response,
        StatusCode::CONFLICT,
        "correction.already_answered",
    )
    .await;

    // The person's filing is in their own access log, as their own write.
    let log = app.my_verified_access_log(&session).await;
    let filing = log
        .iter()
        .find(|entry| entry["action"] == "write" && entry["role"] == "person")
        .expect("the filing");
    assert_eq!(filing["case_ref"], format!("correction:{request_id}"));
    assert_eq!(filing["purpose"], "correction_request");
    assert!(
        log.iter()
            .any(|entry| entry["action"] == "write" && entry["agency"] == "fns"),
        "the answer is in the person's log: {log:?}"
    );
}

#[tokio::test]
async fn a_correction_goes_to_the_source_agency_is_marked_disputed_and_rejected() {
    check_correction_rejected(&TestApp::sqlite().await).await;
}

#[tokio::test]
async fn a_correction_goes_to_the_source_agency_and_back_on_postgres() {
    let Some(app) = TestApp::postgres().await else {
        return;
    };
    check_correction_rejected(&app).await;
}

#[tokio::test]
async fn an_accepted_correction_is_marked_until_the_corrected_revision_arrives() {
    let app = TestApp::sqlite().await;
    let person = app.post_for_person(&abdullayev("CORR-2")).await;
    let session = app.person_session("FA1234567", "1991-07-14").await;
    let fact = tax_fact(&my_profile(&app, &session).await);
    let record_id = fact["cited"]["record_id"].as_i64().expect("a record id");
    // Cited by source key this time.
    let response = send_json(
        session.post(app.url("/v1/me/corrections")),
        &json!({"source": "fns", "source_ref": "CORR-2", "fields": ["/data/balance", "/valid_from"],
                "explanation": "paid in full"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let request_id = json_of(response).await["id"].as_i64().expect("an id");

    let fns = app.correction_handler("fns");
    let response = send_json(
        fns.post(app.url(&format!("/v1/corrections/{request_id}/answer"))),
        &json!({"verdict": "accept", "answer": "the payment is confirmed; a corrected record follows"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    // Accepted, but the wrong balance is still in force: the marker stays, as `accepted`.
    let marked = tax_inspector_sees(&app, person).await;
    assert_eq!(marked["disputed"][0]["status"], "accepted", "{marked}");
    assert_eq!(marked["data"]["balance"], json!(-1250.0));

    // The agency sends the corrected revision through ingest: the marker goes with the old one.
    app.clock.advance(Duration::minutes(1));
    let mut corrected = abdullayev("CORR-2");
    corrected["revision"] = json!(2);
    corrected["data"]["balance"] = json!(0.0);
    assert_eq!(
        app.post_record(&corrected).await.status(),
        StatusCode::CREATED
    );
    let fact = tax_inspector_sees(&app, person).await;
    assert!(fact.get("disputed").is_none(), "{fact}");
    assert_eq!(fact["data"]["balance"], json!(0.0));
    assert!(
        tax_fact(&my_profile(&app, &session).await)
            .get("disputed")
            .is_none()
    );

    let mine = my_corrections(&app, &session).await;
    assert_eq!(mine[0]["status"], "accepted");
    assert_eq!(mine[0]["disputed"], false);
    assert_eq!(mine[0]["record_id"], record_id);
    assert_eq!(mine[0]["superseded_by"]["revision"], 2);
    assert_eq!(
        mine[0]["answer"],
        "the payment is confirmed; a corrected record follows"
    );
    // The corrected version can be disputed afresh: the old claim does not hold it.
    let new_record = tax_fact(&my_profile(&app, &session).await)["cited"]["record_id"]
        .as_i64()
        .expect("a record id");
    assert_ne!(new_record, record_id);
    file_balance_dispute(&app, &session, new_record).await;
}

#[tokio::test]
async fn bad_correction_requests_answer_problems_naming_the_field() {
    let app = TestApp::sqlite().await;
    app.post_for_person(&abdullayev("CORR-3")).await;
    app.post_for_person(&namesake("CORR-4")).await;
    let session = app.person_session("FA1234567", "1991-07-14").await;
    let other = app.person_session("FB7654321", "1985-02-03").await;
    let mine = tax_fact(&my_profile(&app, &session).await)["cited"]["record_id"]
        .as_i64()
        .expect("a record id");
    let theirs = tax_fact(&my_profile(&app, &other).await)["cited"]["record_id"]
        .as_i64()
        .expect("a record id");
    let cases: Vec<(Value, StatusCode, &str, &str)> = vec![
        (
            json!({"record_id": 999_999, "fields": ["/data/balance"], "explanation": "wrong"}),
            StatusCode::NOT_FOUND,
            "correction.record_not_found",
            "/record_id",
        ),
        // Someone else's record is "not found" too: nothing leaks about other persons.
        (
            json!({"record_id": theirs, "fields": ["/data/balance"], "explanation": "wrong"}),
            StatusCode::NOT_FOUND,
            "correction.record_not_found",
            "/record_id",
        ),
        (
            json!({"source": "fns", "source_ref": "CORR-4", "fields": ["/data/balance"], "explanation": "wrong"}),
            StatusCode::NOT_FOUND,
            "correction.record_not_found",
            "/source_ref",
        ),
        (
            json!({"record_id": mine, "fields": ["/data/balance"], "explanation": "   "}),
            StatusCode::BAD_REQUEST,
            "invalid_body",
            "/explanation",
        ),
        (
            json!({"record_id": mine, "fields": ["/data/balance"], "explanation": "x".repeat(4001)}),
            StatusCode::BAD_REQUEST,
            "invalid_body",
            "/explanation",
        ),
        (
            json!({"record_id": mine, "fields": [], "explanation": "wrong"}),
            StatusCode::BAD_REQUEST,
            "invalid_body",
            "/fields",
        ),
        (
            json!({"record_id": mine, "fields": ["/data/balance", "/data/colour"], "explanation": "wrong"}),
            StatusCode::BAD_REQUEST,
            "invalid_body",
            "/fields/1",
        ),
        (
            json!({"record_id": mine, "fields": ["balance"], "explanation": "wrong"}),
            StatusCode::BAD_REQUEST,
            "invalid_body",
            "/fields/0",
        ),
        (
            json!({"fields": ["/data/balance"], "explanation": "wrong"}),
            StatusCode::BAD_REQUEST,
            "invalid_body",
            "/record_id",
        ),
    ];
    for (body, status, code, pointer) in cases {
        let response = send_json(session.post(app.url("/v1/me/corrections")), &body).await;
        let problem = assert_problem(response, status, code).await;
        assert_eq!(
            problem["errors"][0]["pointer"], pointer,
            "{body}: {problem}"
        );
        assert!(
            problem["errors"][0]["message"]
                .as_str()
                .is_some_and(|message| !message.is_empty())
        );
    }
    // Nothing was filed by any of them.
    assert!(my_corrections(&app, &session).await.is_empty());

    // One standing request per record and field.
    let first = file_balance_dispute(&app, &session, mine).await;
    let response = send_json(
        session.post(app.url("/v1/me/corrections")),
        &json!({"record_id": mine, "fields": ["/subject/birth_date", "/data/balance"], "explanation": "again"}),
    )
    .await;
    let problem = assert_problem(
        response,
        StatusCode::CONFLICT,
        "correction.already_disputed",
    )
    .await;
    assert_eq!(problem["errors"][0]["pointer"], "/fields");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|detail| detail.contains(&format!("request {}", first["id"]))),
        "{problem}"
    );
    // Another field of the same record is free.
    let response = send_json(
        session.post(app.url("/v1/me/corrections")),
        &json!({"record_id": mine, "fields": ["/subject/birth_date"], "explanation": "I was born in 1991-07-15"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);

    // A role without the `correct` action is refused the queue and the answer, and logged.
    let tax = app.client_as("tax_inspector", "correction_handling");
    let before = app.access_log_size();
    let response = tax
        .get(app.url("/v1/corrections"))
        .send()
        .await
        .expect("an answer");
    assert_problem(
        response,
        StatusCode::FORBIDDEN,
        "policy.purpose_not_granted",
    )
    .await;
    let response = send_json(
        tax.post(app.url(&format!("/v1/corrections/{}/answer", first["id"]))),
        &json!({"verdict": "accept", "answer": "yes"}),
    )
    .await;
    assert_problem(
        response,
        StatusCode::FORBIDDEN,
        "policy.purpose_not_granted",
    )
    .await;
    assert_eq!(app.access_log_size(), before + 2);
    // An empty answer or an unknown verdict names its field.
    let fns = app.correction_handler("fns");
    for (body, pointer) in [
        (json!({"verdict": "reject", "answer": ""}), "/answer"),
        (json!({"verdict": "maybe", "answer": "hm"}), "/verdict"),
    ] {
        let response = send_json(
            fns.post(app.url(&format!("/v1/corrections/{}/answer", first["id"]))),
            &body,
        )
        .await;
        let problem = assert_problem(response, StatusCode::BAD_REQUEST, "invalid_body").await;
        assert_eq!(problem["errors"][0]["pointer"], pointer);
    }
}

#[tokio::test]
async fn an_unanswered_correction_is_overdue_after_the_deadline() {
    let app = TestApp::sqlite().await;
    app.post_for_person(&abdullayev("CORR-5")).await;
    let session = app.person_session("FA1234567", "1991-07-14").await;
    let record_id = tax_fact(&my_profile(&app, &session).await)["cited"]["record_id"]
        .as_i64()
        .expect("a record id");
    let filed = file_balance_dispute(&app, &session, record_id).await;
    let fns = app.correction_handler("fns");
    assert!(queue_of(&app, &fns, "?status=overdue").await.is_empty());

    // On the deadline itself it is still open; a moment after, overdue for both sides.
    app.clock.advance(Duration::days(30));
    let session = app.person_session("FA1234567", "1991-07-14").await;
    assert_eq!(my_corrections(&app, &session).await[0]["status"], "open");
    assert!(queue_of(&app, &fns, "?status=overdue").await.is_empty());
    app.clock.advance(Duration::seconds(1));
    assert_eq!(my_corrections(&app, &session).await[0]["status"], "overdue");
    let overdue = queue_of(&app, &fns, "?status=overdue").await;
    assert_eq!(overdue.len(), 1);
    assert_eq!(overdue[0]["id"], filed["id"]);
    assert_eq!(overdue[0]["status"], "overdue");
    // Still disputed: an overdue request keeps its marker until answered.
    assert_eq!(
        tax_fact(&my_profile(&app, &session).await)["disputed"][0]["request_id"],
        filed["id"]
    );
    let response = fns
        .get(app.url("/v1/corrections?status=late"))
        .send()
        .await
        .expect("an answer");
    let problem = assert_problem(response, StatusCode::BAD_REQUEST, "invalid_query").await;
    assert_eq!(problem["errors"][0]["pointer"], "/status");
}

#[tokio::test]
async fn a_dispute_marker_names_only_the_fields_the_reader_may_see() {
    let app = TestApp::sqlite().await;
    let stay = one_record_of_every_category()
        .into_iter()
        .find(|record| record["category"] == "stay_document")
        .expect("a stay document");
    let person = app.post_for_person(&stay).await;
    let session = app.person_session("FA1234567", "1991-07-14").await;
    let fact = my_profile(&app, &session).await["facts"]["stay_document"][0].clone();
    let visible = [
        "kind",
        "number",
        "issued_on",
        "expires_on",
        "region",
        "patent_paid_until",
    ];
    let data = fact["data"].as_object().expect("data");
    let shown = data
        .keys()
        .find(|name| visible.contains(&name.as_str()))
        .expect("a field the tax inspector sees");
    let hidden = data
        .keys()
        .find(|name| !visible.contains(&name.as_str()))
        .expect("a field the tax inspector does not see");
    let response = send_json(
        session.post(app.url("/v1/me/corrections")),
        &json!({"record_id": fact["cited"]["record_id"],
                "fields": [format!("/data/{hidden}"), format!("/data/{shown}"), "/valid_to"],
                "explanation": "both are wrong"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    // The person sees every field named; the tax inspector (stay documents narrowed to a few
    // fields) sees the fact marked, without the hidden field's name.
    let mine =
        my_profile(&app, &session).await["facts"]["stay_document"][0]["disputed"][0]["fields"]
            .clone();
    assert_eq!(
        mine,
        json!([
            format!("/data/{hidden}"),
            format!("/data/{shown}"),
            "/valid_to"
        ])
    );
    let response = app
        .client_as("tax_inspector", "tax_administration")
        .get(app.url(&format!("/v1/persons/{person}")))
        .send()
        .await
        .expect("an answer");
    let profile = json_of(response).await;
    assert_eq!(
        profile["facts"]["stay_document"][0]["disputed"][0]["fields"],
        json!([format!("/data/{shown}"), "/valid_to"]),
        "{profile}"
    );
}

// Issue 5: statuses and share codes.

/// A record about the holder of passport FA1234567 (born 1991-07-14) in `category`.
fn holder_record(source: &str, source_ref: &str, category: &str, data: Value) -> Value {
    let mut record = abdullayev(source_ref);
    record["source"] = json!(source);
    record["category"] = json!(category);
    record["data"] = data;
    record
}

/// Records of a patent worker in Moscow who entered visa-free on 10 January 2026 (the test
/// clock says 1 March 2026): a patent paid until 14 April, a tax debt, and an old entry ban.
async fn post_patent_worker(app: &TestApp) -> i64 {
    let person = app.post_for_person(&abdullayev("SC-TAX")).await;
    for record in [
        holder_record(
            "fsb-border",
            "SC-IN",
            "border_crossing",
            json!({"direction": "entry", "crossed_at": "2026-01-10T09:00:00Z",
                   "checkpoint": "Domodedovo", "transport": "air"}),
        ),
        holder_record(
            "mvd-migration",
            "SC-PATENT",
            "stay_document",
            json!({"kind": "patent", "number": "77 2600123456", "issued_on": "2026-01-15",
                   "expires_on": "2027-01-14", "region": "77", "profession": "bricklayer",
                   "patent_paid_until": "2026-04-14"}),
        ),
        holder_record(
            "mvd-migration",
            "SC-BAN",
            "entry_ban",
            json!({"basis": "115-FZ art. 27", "authority": "MVD", "decided_on": "2019-01-10",
                   "banned_from": "2019-01-10", "banned_until": "2022-01-10"}),
        ),
    ] {
        assert_eq!(app.post_for_person(&record).await, person);
    }
    person
}

impl TestApp {
    async fn create_share_code(&self, session: &reqwest::Client, purpose: &str) -> Value {
        let response = session
            .post(self.url("/v1/me/share-codes"))
            .json(&json!({"purpose": purpose}))
            .send()
            .await
            .expect("an answer");
        assert_eq!(response.status(), StatusCode::CREATED);
        json_of(response).await
    }

    async fn check_share_code(&self, code: &str, birth_date: &str) -> reqwest::Response {
        self.anonymous
            .post(self.url("/v1/share-codes/check"))
            .json(&json!({"code": code, "birth_date": birth_date, "checker": "OOO Stroy"}))
            .send()
            .await
            .expect("an answer")
    }
}

fn keys_of(value: &Value) -> BTreeSet<String> {
    value
        .as_object()
        .expect("an object")
        .keys()
        .cloned()
        .collect()
}

/// Checks a fresh code of `purpose` and returns what the checker saw; asserts that the body
/// holds exactly `fields` in its status, nothing of debts, offences or bans, and that the check
/// is in the person's access log.
async fn check_purpose(app: &TestApp, purpose: &str, fields: &[&str]) -> Value {
    let person = post_patent_worker(app).await;
    let session = app.person_session("FA1234567", "1991-07-14").await;
    let created = app.create_share_code(&session, purpose).await;
    let code = created["code"].as_str().expect("a code").to_owned();
    assert_eq!(code.len(), 11, "ABC-DEF-GHJ: {code}");
    assert!(
        code.chars()
            .all(|character| character == '-'
                || "ABCDEFGHJKLMNPQRSTUVWXYZ23456789".contains(character)),
        "{code}"
    );
    assert_eq!(created["purpose"], purpose);
    assert_eq!(created["expires_at"], "2026-05-30T10:00:00Z", "90 days");

    // Case, spaces and dashes do not matter.
    let typed = code.to_lowercase().replace('-', " ");
    let response = app.check_share_code(&typed, "1991-07-14").await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.expect("a body");
    let seen: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(
        keys_of(&seen),
        ["checked_on", "notice", "purpose", "status"]
            .map(str::to_owned)
            .into(),
        "{seen}"
    );
    assert_eq!(seen["purpose"], purpose);
    assert_eq!(seen["checked_on"], "2026-03-01");
    assert_eq!(
        keys_of(&seen["status"]),
        fields.iter().map(|field| (*field).to_owned()).collect(),
        "{seen}"
    );
    for never in ["1250", "tax", "debt", "ban", "offence", "MVD", "Domodedovo"] {
        assert!(!text.contains(never), "`{never}` leaked: {text}");
    }

    let entries = app.my_verified_access_log(&session).await;
    let check = entries
        .iter()
        .find(|entry| entry["role"] == "share_code_checker")
        .unwrap_or_else(|| panic!("the check is in the person's log: {entries:?}"));
    assert_eq!(check["agency"], "OOO Stroy");
    assert_eq!(check["purpose"], purpose);
    assert_eq!(check["outcome"], "allowed");
    let (_, logged) = dprofile_audit::AccessEntry::from_canonical(
        check["proof"]["canonical"]
            .as_str()
            .expect("canonical")
            .as_bytes(),
    )
    .expect("an entry");
    assert_eq!(logged.person, Some(person));
    assert!(logged.actor.starts_with("share_code:"), "{}", logged.actor);
    let categories = check["categories"].as_array().expect("categories");
    assert!(
        categories.iter().all(|category| [
            "stay_document",
            "visa",
            "migration_registration",
            "border_crossing"
        ]
        .contains(&category.as_str().expect("a code"))),
        "only the purpose's categories: {categories:?}"
    );
    seen
}

#[tokio::test]
async fn a_work_share_code_shows_right_to_work_conditions_until_name_and_photo_only() {
    let app = TestApp::sqlite().await;
    let seen = check_purpose(
        &app,
        "work",
        &[
            "conditions",
            "name",
            "photo_reference",
            "right_to_work",
            "valid_until",
        ],
    )
    .await;
    let status = &seen["status"];
    assert_eq!(status["right_to_work"], true);
    assert_eq!(
        status["valid_until"], "2026-04-14",
        "the patent's paid period"
    );
    assert_eq!(status["name"], "ABDULLAYEV RUSTAM");
    let conditions = status["conditions"].as_array().expect("conditions");
    assert!(
        conditions.contains(&json!("only in region 77")),
        "{conditions:?}"
    );
    assert!(
        conditions.contains(&json!("profession: bricklayer")),
        "{conditions:?}"
    );
}

#[tokio::test]
async fn a_work_share_code_on_postgres() {
    let Some(app) = TestApp::postgres().await else {
        return;
    };
    let seen = check_purpose(
        &app,
        "work",
        &[
            "conditions",
            "name",
            "photo_reference",
            "right_to_work",
            "valid_until",
        ],
    )
    .await;
    assert_eq!(seen["status"]["right_to_work"], true);
}

#[tokio::test]
async fn a_rent_share_code_shows_right_to_rent_and_until_only() {
    let app = TestApp::sqlite().await;
    let seen = check_purpose(&app, "rent", &["lawful_stay_until", "right_to_rent"]).await;
    assert_eq!(seen["status"]["right_to_rent"], true);
    assert_eq!(seen["status"]["lawful_stay_until"], "2026-04-14");
}

#[tokio::test]
async fn an_other_share_code_shows_lawful_stay_only() {
    let app = TestApp::sqlite().await;
    let seen = check_purpose(&app, "other", &["lawful_stay"]).await;
    assert_eq!(seen["status"]["lawful_stay"], true);
}

#[tokio::test]
async fn expired_revoked_and_wrong_birth_date_codes_show_nothing_and_say_why() {
    let app = TestApp::sqlite().await;
    post_patent_worker(&app).await;
    let session = app.person_session("FA1234567", "1991-07-14").await;
    let revoked = app.create_share_code(&session, "work").await;
    let expiring = app.create_share_code(&session, "rent").await;
    let locking = app.create_share_code(&session, "other").await;

    // Revoked by the person.
    let response = session
        .delete(app.url(&format!("/v1/me/share-codes/{}", revoked["id"])))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let code = revoked["code"].as_str().expect("a code");
    let problem = assert_problem(
        app.check_share_code(code, "1991-07-14").await,
        StatusCode::GONE,
        "share_code.revoked",
    )
    .await;
    assert!(problem.get("purpose").is_none(), "nothing shown: {problem}");
    // Another person's code id is not theirs to revoke.
    let response = session
        .delete(app.url("/v1/me/share-codes/999999"))
        .send()
        .await
        .expect("an answer");
    assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;

    // A wrong birth date answers exactly like a code that does not exist.
    let locking_code = locking["code"].as_str().expect("a code");
    let wrong = assert_problem(
        app.check_share_code(locking_code, "1991-07-15").await,
        StatusCode::NOT_FOUND,
        "share_code.no_match",
    )
    .await;
    let unknown = assert_problem(
        app.check_share_code("ZZZ-ZZZ-ZZZ", "1991-07-14").await,
        StatusCode::NOT_FOUND,
        "share_code.no_match",
    )
    .await;
    assert_eq!(
        wrong, unknown,
        "nothing tells a wrong birth date from an unknown code"
    );
    // A code with a 0, O, 1 or I is malformed, not unknown.
    assert_problem(
        app.check_share_code("ABC-DEF-GH0", "1991-07-14").await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    )
    .await;
    // Four more wrong birth dates lock the code: then even the right one shows nothing.
    for day in 16..20 {
        assert_problem(
            app.check_share_code(locking_code, &format!("1991-07-{day}"))
                .await,
            StatusCode::NOT_FOUND,
            "share_code.no_match",
        )
        .await;
    }
    assert_problem(
        app.check_share_code(locking_code, "1991-07-14").await,
        StatusCode::LOCKED,
        "share_code.locked",
    )
    .await;

    // Expired: the clock moves past 90 days.
    let expiring_code = expiring["code"].as_str().expect("a code");
    assert_eq!(
        app.check_share_code(expiring_code, "1991-07-14")
            .await
            .status(),
        StatusCode::OK
    );
    app.clock.advance(Duration::days(91));
    assert_problem(
        app.check_share_code(expiring_code, "1991-07-14").await,
        StatusCode::GONE,
        "share_code.expired",
    )
    .await;

    // The person sees each code's state, and every refused check in their access log.
    let session = app.person_session("FA1234567", "1991-07-14").await;
    let listed = json_of(
        session
            .get(app.url("/v1/me/share-codes"))
            .send()
            .await
            .expect("an answer"),
    )
    .await;
    let states: Vec<(String, String)> = listed["codes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|code| {
            (
                code["purpose"].as_str().expect("a purpose").to_owned(),
                code["state"].as_str().expect("a state").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        states,
        vec![
            ("other".to_owned(), "locked".to_owned()),
            ("rent".to_owned(), "expired".to_owned()),
            ("work".to_owned(), "revoked".to_owned()),
        ]
    );
    assert!(
        listed.to_string().find("\"code\"").is_none(),
        "codes are never listed"
    );
    let outcomes: Vec<String> = app
        .my_verified_access_log(&session)
        .await
        .iter()
        .filter(|entry| entry["role"] == "share_code_checker")
        .map(|entry| entry["outcome"].as_str().expect("an outcome").to_owned())
        .collect();
    assert_eq!(
        outcomes,
        vec![
            "refused:share_code.revoked",
            "refused:share_code.no_match",
            "refused:share_code.no_match",
            "refused:share_code.no_match",
            "refused:share_code.no_match",
            "refused:share_code.no_match",
            "refused:share_code.locked",
            "allowed",
            "refused:share_code.expired",
        ]
    );
}

#[tokio::test]
async fn share_codes_need_a_session_and_a_known_purpose() {
    let app = TestApp::sqlite().await;
    post_patent_worker(&app).await;
    let response = app
        .anonymous
        .post(app.url("/v1/me/share-codes"))
        .json(&json!({"purpose": "work"}))
        .send()
        .await
        .expect("an answer");
    assert_problem(response, StatusCode::UNAUTHORIZED, "auth.required").await;
    let session = app.person_session("FA1234567", "1991-07-14").await;
    let response = session
        .post(app.url("/v1/me/share-codes"))
        .json(&json!({"purpose": "everything"}))
        .send()
        .await
        .expect("an answer");
    let problem = assert_problem(response, StatusCode::BAD_REQUEST, "invalid_body").await;
    assert_eq!(problem["errors"][0]["pointer"], "/purpose");
    let response = session
        .post(app.url("/v1/me/share-codes"))
        .json(&json!({"purpose": "work", "valid_days": 91}))
        .send()
        .await
        .expect("an answer");
    let problem = assert_problem(response, StatusCode::BAD_REQUEST, "invalid_body").await;
    assert_eq!(problem["errors"][0]["pointer"], "/valid_days");
}

#[tokio::test]
async fn agency_statuses_come_only_from_categories_the_role_may_read_and_are_logged() {
    let app = TestApp::sqlite().await;
    let person = post_patent_worker(&app).await;

    let police = app.client_as("police_officer", "street_check");
    let before = app.access_log_size();
    let response = police
        .get(app.url(&format!("/v1/persons/{person}/status")))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), StatusCode::OK);
    let report = json_of(response).await;
    assert!(
        report["notice"]
            .as_str()
            .expect("a notice")
            .contains("human")
    );
    let kinds: Vec<&str> = report["statuses"]
        .as_array()
        .expect("statuses")
        .iter()
        .map(|status| status["kind"].as_str().expect("a kind"))
        .collect();
    // No border crossings and no tax data for a street check.
    assert_eq!(
        kinds,
        vec![
            "lawful_stay",
            "right_to_work",
            "entry_ban",
            "registration_expiring"
        ]
    );
    let lawful = &report["statuses"][0];
    assert_eq!(lawful["answer"], "yes");
    assert_eq!(lawful["basis"], "patent");
    assert_eq!(lawful["rule"]["id"], "stay.lawful_basis");
    assert_eq!(lawful["relied_on"][0]["source_ref"], "SC-PATENT");
    let logged = app.access_entries(before);
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0].purpose, "street_check");
    assert_eq!(logged[0].person, Some(person));
    assert!(!logged[0].categories.contains(&"tax_debt".to_owned()));

    // A border guard sees the 90/180 count: days under the patent are not counted.
    let border = app.client_as("border_guard", "border_control");
    let report = json_of(
        border
            .get(app.url(&format!("/v1/persons/{person}/status")))
            .send()
            .await
            .expect("an answer"),
    )
    .await;
    let visa_free = report["statuses"]
        .as_array()
        .expect("statuses")
        .iter()
        .find(|status| status["kind"] == "visa_free_stay")
        .expect("the 90/180 count")
        .clone();
    assert_eq!(visa_free["rule"]["id"], "stay.visa_free_90_180");
    assert_eq!(
        visa_free["figures"][0],
        json!({"name": "days_used", "value": 5})
    );

    // A purpose the role does not have: 403, logged.
    let before = app.access_log_size();
    let response = app
        .client_as("tax_inspector", "street_check")
        .get(app.url(&format!("/v1/persons/{person}/status")))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.access_entries(before).len(), 1);
}

#[tokio::test]
async fn the_person_reads_every_status_of_their_own() {
    let app = TestApp::sqlite().await;
    let person = post_patent_worker(&app).await;
    let session = app.person_session("FA1234567", "1991-07-14").await;
    let response = session
        .get(app.url("/v1/me/status"))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), StatusCode::OK);
    let report = json_of(response).await;
    assert_eq!(report["person_id"], person);
    let answers: BTreeMap<String, String> = report["statuses"]
        .as_array()
        .expect("statuses")
        .iter()
        .map(|status| {
            (
                status["kind"].as_str().expect("a kind").to_owned(),
                status["answer"].as_str().expect("an answer").to_owned(),
            )
        })
        .collect();
    assert_eq!(answers["tax_debt"], "yes");
    assert_eq!(answers["entry_ban"], "no");
    assert_eq!(answers["right_to_work"], "yes");
    assert_eq!(answers["visa_free_stay"], "yes");
    assert_eq!(answers.len(), 6);
}

#[tokio::test]
async fn share_code_checks_are_rate_limited_per_client_address() {
    let app = TestApp::sqlite().await;
    // 30 checks per 15 minutes from one address (the default), whatever they answer.
    for attempt in 0..30 {
        let response = app.check_share_code("ABC-DEF-GHJ", "1991-07-14").await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "check {attempt}");
    }
    let response = app.check_share_code("ABC-DEF-GHJ", "1991-07-14").await;
    assert!(response.headers().contains_key("retry-after"));
    assert_problem(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // The window ends.
    app.clock.advance(Duration::minutes(16));
    let response = app.check_share_code("ABC-DEF-GHJ", "1991-07-14").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

/// Writes are authorised per agency: a key of another agency than the record's `source`, or a
/// category outside the agency's `[writes]`, is refused with a code naming the field, stored
/// nowhere (not even in quarantine), and logged as a refused write — one by one and in a batch.
async fn check_refused_writes(backend: Backend) {
    let Some(app) = TestApp::on(backend).await else {
        return;
    };
    let before = app.access_log_size();
    let problem = assert_problem(
        app.post_record_with(
            &app.keys["migration_officer"],
            abdullayev("W-1").to_string().into_bytes(),
        )
        .await,
        StatusCode::FORBIDDEN,
        "write.source_not_caller",
    )
    .await;
    assert_eq!(problem["errors"][0]["pointer"], "/source", "{problem}");
    assert_eq!(problem["errors"][0]["rule"], "write.source_not_caller");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|detail| detail.contains("mvd-migration")),
        "{problem}"
    );

    let mut ban = abdullayev("W-2");
    ban["category"] = json!("entry_ban");
    let problem = assert_problem(
        app.post_record(&ban).await,
        StatusCode::FORBIDDEN,
        "policy.write_not_granted",
    )
    .await;
    assert_eq!(problem["errors"][0]["pointer"], "/category", "{problem}");

    let mut other_source = abdullayev("W-4");
    other_source["source"] = json!("sfr");
    let batch = format!("{}\n{}\n{}\n", abdullayev("W-3"), other_source, ban);
    let (status, lines) = app.post_batch(batch).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert_eq!(lines[0]["outcome"], "accepted");
    assert_eq!(lines[1]["outcome"], "refused");
    assert_eq!(lines[1]["line"], 2);
    assert_eq!(lines[1]["source_ref"], "W-4");
    assert_eq!(lines[1]["errors"][0]["pointer"], "/source");
    assert_eq!(lines[1]["errors"][0]["rule"], "write.source_not_caller");
    assert_eq!(lines[2]["outcome"], "refused");
    assert_eq!(lines[2]["errors"][0]["pointer"], "/category");
    assert_eq!(lines[2]["errors"][0]["rule"], "policy.write_not_granted");
    assert_eq!(lines[3]["summary"]["accepted"], 1);
    assert_eq!(lines[3]["summary"]["refused"], 2);
    assert_eq!(lines[3]["summary"]["quarantined"], 0);
    let person = lines[0]["person_id"].as_i64().expect("a person");

    // Refused lines are stored nowhere.
    let quarantine = json_of(app.get("/v1/quarantine").await).await;
    assert_eq!(
        quarantine["items"].as_array().map(Vec::len),
        Some(0),
        "{quarantine}"
    );
    assert!(app.search(&[("identifier", "snils:123-456-789 64")]).await == vec![person]);

    let writes: Vec<_> = app
        .access_entries(before)
        .into_iter()
        .filter(|entry| entry.action == dprofile_audit::AccessAction::Write)
        .collect();
    let refused: Vec<(String, String, Vec<String>)> = writes
        .iter()
        .filter_map(|entry| match &entry.outcome {
            dprofile_audit::AccessOutcome::Refused { rule } => {
                Some((entry.agency.clone(), rule.clone(), entry.categories.clone()))
            }
            dprofile_audit::AccessOutcome::Allowed => None,
        })
        .collect();
    let tax = vec!["tax_debt".to_owned()];
    let ban_category = vec!["entry_ban".to_owned()];
    assert_eq!(
        refused,
        vec![
            (
                "mvd-migration".to_owned(),
                "write.source_not_caller".to_owned(),
                tax.clone()
            ),
            (
                "fns".to_owned(),
                "policy.write_not_granted".to_owned(),
                ban_category.clone()
            ),
            (
                "fns".to_owned(),
                "write.source_not_caller".to_owned(),
                tax.clone()
            ),
            (
                "fns".to_owned(),
                "policy.write_not_granted".to_owned(),
                ban_category
            ),
        ]
    );
    assert!(writes.iter().all(|entry| entry.actor.starts_with("apikey:")
        && entry.purpose == dprofile_api::write_log::WRITE_PURPOSE));
    let allowed: Vec<_> = writes
        .iter()
        .filter(|entry| entry.outcome == dprofile_audit::AccessOutcome::Allowed)
        .collect();
    assert_eq!(allowed.len(), 1);
    assert_eq!(allowed[0].person, Some(person));
    assert_eq!(allowed[0].categories, tax);
}

#[tokio::test]
async fn a_write_by_another_agency_or_outside_its_writes_is_refused_and_logged() {
    check_refused_writes(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_write_by_another_agency_or_outside_its_writes_is_refused_and_logged_on_postgres() {
    check_refused_writes(Backend::Postgres).await;
}

/// An accepted write is an entry of the person's own access log (who, which agency, which
/// categories); a duplicate stores nothing and adds none. A write-only key reads nothing.
async fn check_write_in_persons_log(backend: Backend) {
    let Some(app) = TestApp::on(backend).await else {
        return;
    };
    let person = app.post_for_person(&abdullayev("LOG-1")).await;
    let far_future = start_instant() + Duration::days(3650);
    let visible = |app: &TestApp| -> Vec<dprofile_audit::AccessEntry> {
        off_runtime(|| app.store().person_access(person, far_future))
            .expect("the person's log")
            .iter()
            .filter_map(dprofile_store::AccessRow::entry)
            .collect()
    };
    let entries = visible(&app);
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].action, dprofile_audit::AccessAction::Write);
    assert_eq!(entries[0].agency, "fns");
    assert_eq!(entries[0].role, "tax_inspector");
    assert_eq!(entries[0].categories, vec!["tax_debt".to_owned()]);
    assert_eq!(entries[0].outcome, dprofile_audit::AccessOutcome::Allowed);
    assert_eq!(entries[0].at, start_instant());

    assert_eq!(
        app.post_record(&abdullayev("LOG-1")).await.status(),
        StatusCode::OK
    );
    assert_eq!(visible(&app).len(), 1, "a duplicate writes nothing");
    let mut revised = abdullayev("LOG-1");
    revised["revision"] = json!(2);
    revised["data"]["balance"] = json!(-10.0);
    assert_eq!(
        app.post_record(&revised).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(visible(&app).len(), 2, "a revision is a write");

    // The person sees the writes in their own access log.
    let session = app.person_session("FA 123-4567", "1991-07-14").await;
    let log = json_of(
        session
            .get(app.url("/v1/me/access-log"))
            .send()
            .await
            .expect("an answer"),
    )
    .await;
    assert!(log.to_string().contains("record_submission"), "{log}");

    // A sending system's key (`source_system`: rosreestr) may not read, and may not send another agency's
    // category.
    let reader = TestApp::client_with(&[
        (
            "authorization",
            &format!("Bearer {}", app.writer_keys["rosreestr"]),
        ),
        ("x-purpose", "stay_control"),
        ("x-case-ref", "case-1"),
    ]);
    let response = reader
        .get(app.url(&format!("/v1/persons/{person}")))
        .send()
        .await
        .expect("an answer");
    assert_problem(
        response,
        StatusCode::FORBIDDEN,
        "policy.purpose_not_granted",
    )
    .await;
    let mut tax_from_rosreestr = abdullayev("R-1");
    tax_from_rosreestr["source"] = json!("rosreestr");
    assert_problem(
        app.post_record(&tax_from_rosreestr).await,
        StatusCode::FORBIDDEN,
        "policy.write_not_granted",
    )
    .await;
}

#[tokio::test]
async fn an_accepted_write_appears_in_the_persons_access_log() {
    check_write_in_persons_log(Backend::Sqlite).await;
}

#[tokio::test]
async fn an_accepted_write_appears_in_the_persons_access_log_on_postgres() {
    check_write_in_persons_log(Backend::Postgres).await;
}

/// Many reads at once: each is logged at its own position (group commit gathers them into
/// shared transactions) and the whole log verifies.
async fn check_concurrent_reads_are_logged(backend: Backend) {
    let Some(app) = TestApp::on(backend).await else {
        return;
    };
    let person = app.post_for_person(&abdullayev("C-1")).await;
    let before = app.access_log_size();
    let reads = (0..64).map(|_| app.get_person(person, ""));
    let statuses: Vec<StatusCode> = futures_util::future::join_all(reads)
        .await
        .iter()
        .map(reqwest::Response::status)
        .collect();
    assert!(
        statuses.iter().all(|status| *status == StatusCode::OK),
        "{statuses:?}"
    );
    let rows = off_runtime(|| app.store().access_rows(before, 1000)).expect("the log");
    assert_eq!(rows.len(), 64);
    let positions: BTreeSet<u64> = rows.iter().map(|row| row.position).collect();
    assert_eq!(positions, (before..before + 64).collect());
    let key = dprofile_audit::LogKey::from_seed("dprofile/test-log", [7; 32]).expect("a log key");
    let verifier = key.verifier_key().to_owned();
    let report = off_runtime(|| {
        dprofile_pipeline::access_log::AccessLog::new(app.store.clone().expect("the store"), key)
            .checkpoint(start_instant())
            .expect("a checkpoint");
        dprofile_pipeline::access_log::verify_store(app.store(), &[verifier])
    })
    .expect("verify runs");
    assert!(report.is_intact(), "{report:?}");
}

#[tokio::test]
async fn concurrent_reads_are_each_logged_and_the_log_verifies() {
    check_concurrent_reads_are_logged(Backend::Sqlite).await;
}

#[tokio::test]
async fn concurrent_reads_are_each_logged_and_the_log_verifies_on_postgres() {
    check_concurrent_reads_are_logged(Backend::Postgres).await;
}

// --- QR passes: issue, show, list, revoke; the lists verifiers cache ---------------------

/// The test server's pass keys: fixed seeds, in use since before the clock starts.
fn test_pass_keyring() -> PassKeyring {
    PassKeyring::from_seeds([11; 32], [12; 32], start_instant() - Duration::days(1))
}

/// A residence permit allowing work until 2030, for Abdullayev.
fn residence_permit(source_ref: &str) -> Value {
    let mut record = abdullayev(source_ref);
    record["source"] = json!("mvd-migration");
    record["category"] = json!("stay_document");
    record["data"] = json!({
        "kind": "residence_permit", "number": "82 0012345", "issued_on": "2025-01-10",
        "expires_on": "2030-01-10", "work_allowed": true
    });
    record
}

impl TestApp {
    async fn issue_pass(&self, session: &reqwest::Client, body: &Value) -> reqwest::Response {
        session
            .post(self.url("/v1/me/passes"))
            .json(body)
            .send()
            .await
            .expect("the server answers")
    }

    async fn bytes(&self, client: &reqwest::Client, path: &str) -> (StatusCode, String, Vec<u8>) {
        let response = client
            .get(self.url(path))
            .send()
            .await
            .expect("the server answers");
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|value| value.to_str().unwrap_or_default().to_owned())
            .unwrap_or_default();
        (
            status,
            content_type,
            response.bytes().await.expect("a body").to_vec(),
        )
    }

    /// The published lists as a verifier caches them, checked against the pinned root.
    async fn verifier_lists(&self) -> (dprofile_pass::TrustList, dprofile_pass::StatusListToken) {
        let root = test_pass_keyring().root().verifying_key();
        let (status, content_type, trust) =
            self.bytes(&self.anonymous, "/v1/passes/trust-list").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            content_type.starts_with("application/cose"),
            "{content_type}"
        );
        let trust = dprofile_pass::TrustList::from_signed(&trust, &root).expect("a trust list");
        let (status, content_type, list) =
            self.bytes(&self.anonymous, "/v1/passes/status-list").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(content_type, "application/statuslist+cwt");
        let list =
            dprofile_pass::StatusListToken::from_signed(&list, &trust).expect("a status list");
        (trust, list)
    }
}

#[tokio::test]
async fn a_person_issues_a_pass_that_verifies_offline_and_revokes_it() {
    let app = TestApp::sqlite().await;
    let person = app.post_for_person(&abdullayev("PASS-1")).await;
    assert_eq!(
        app.post_for_person(&residence_permit("PASS-2")).await,
        person
    );
    let session = app.person_session("FA1234567", "1991-07-14").await;

    let before = app.access_log_size();
    let issued = app
        .issue_pass(
            &session,
            &json!({"view": "status_identity", "valid_days": 30}),
        )
        .await;
    assert_eq!(issued.status(), StatusCode::CREATED);
    let issued = json_of(issued).await;
    let text = issued["text"].as_str().expect("the pass text").to_owned();
    assert!(text.starts_with("DP1:"), "{text}");
    let id = issued["id"].as_i64().expect("an id");
    let logged = app.access_entries(before);
    assert_eq!(logged.len(), 1, "issuing is in the person's access log");
    assert_eq!(logged[0].person, Some(person));
    assert_eq!(logged[0].categories, ["pass"]);

    // The QR code, as PNG and SVG, holds exactly the text.
    let (status, content_type, png) = app
        .bytes(&session, &format!("/v1/me/passes/{id}.png"))
        .await;
    assert_eq!(
        (status, content_type.as_str()),
        (StatusCode::OK, "image/png")
    );
    assert_eq!(dprofile_pass::decode_png(&png).expect("a QR code"), text);
    let (status, content_type, svg) = app
        .bytes(&session, &format!("/v1/me/passes/{id}.svg"))
        .await;
    assert_eq!(
        (status, content_type.as_str()),
        (StatusCode::OK, "image/svg+xml")
    );
    assert!(String::from_utf8(svg).expect("text").contains("<svg"));

    // A verifier with only the published lists accepts it and reads the status.
    let (trust, list) = app.verifier_lists().await;
    let now = start_instant() + Duration::hours(1);
    let verdict = dprofile_pass::verify(&text, &trust, &list, now);
    let claims = verdict.claims().expect("claims").clone();
    assert!(verdict.is_valid(), "{verdict:?}");
    assert!(claims.status.lawful_stay && claims.status.right_to_work);
    assert_eq!(
        claims.status.stay_basis.as_deref(),
        Some("residence_permit")
    );
    assert_eq!(
        claims.status.stay_until,
        chrono::NaiveDate::from_ymd_opt(2030, 1, 10)
    );
    let identity = claims.identity.expect("the identity view");
    assert_eq!(identity.name, "ABDULLAYEV RUSTAM");
    assert_eq!(identity.birth_date, "1991-07-14");
    assert_eq!(identity.document_number, "FA1234567");
    assert_eq!(claims.status_index, u64::try_from(id).expect("positive"));

    // The status-only view carries no identity.
    let status_only = json_of(
        app.issue_pass(&session, &json!({"view": "status_only"}))
            .await,
    )
    .await;
    let verdict = dprofile_pass::verify(
        status_only["text"].as_str().expect("text"),
        &trust,
        &app.verifier_lists().await.1,
        now,
    );
    assert!(verdict.is_valid(), "{verdict:?}");
    assert_eq!(verdict.claims().expect("claims").identity, None);

    // Listed newest first; revoked, the next status list rejects it.
    let listed = json_of(
        session
            .get(app.url("/v1/me/passes"))
            .send()
            .await
            .expect("an answer"),
    )
    .await;
    let ids: Vec<i64> = listed["passes"]
        .as_array()
        .expect("passes")
        .iter()
        .map(|pass| pass["id"].as_i64().expect("an id"))
        .collect();
    assert_eq!(ids, [status_only["id"].as_i64().expect("an id"), id]);
    let revoked = session
        .post(app.url(&format!("/v1/me/passes/{id}/revoke")))
        .send()
        .await
        .expect("an answer");
    assert_eq!(revoked.status(), StatusCode::OK);
    assert!(json_of(revoked).await["revoked_at"].is_string());
    let (trust, list) = app.verifier_lists().await;
    assert_eq!(
        dprofile_pass::verify(&text, &trust, &list, now).reason(),
        Some(dprofile_pass::RejectReason::Revoked)
    );
    // Past its 30 days the pass is expired, whatever its status.
    let status_only_text = status_only["text"].as_str().expect("text");
    assert_eq!(
        dprofile_pass::verify(status_only_text, &trust, &list, now + Duration::days(31)).reason(),
        Some(dprofile_pass::RejectReason::Expired)
    );
}

#[tokio::test]
async fn pass_requests_are_checked_and_others_passes_stay_hidden() {
    let app = TestApp::sqlite().await;
    app.post_for_person(&abdullayev("PASS-3")).await;
    let other = app.post_for_person(&namesake("PASS-4")).await;
    let session = app.person_session("FA1234567", "1991-07-14").await;
    assert_problem(
        app.issue_pass(&session, &json!({"view": "everything"}))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    )
    .await;
    let too_long = assert_problem(
        app.issue_pass(&session, &json!({"view": "status_only", "valid_days": 365}))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    )
    .await;
    assert_eq!(
        too_long["errors"][0]["pointer"], "/valid_days",
        "{too_long}"
    );
    // Without a stay document the pass says so: no lawful stay, no right to work.
    let issued = json_of(
        app.issue_pass(&session, &json!({"view": "status_only"}))
            .await,
    )
    .await;
    let (trust, list) = app.verifier_lists().await;
    let verdict = dprofile_pass::verify(
        issued["text"].as_str().expect("text"),
        &trust,
        &list,
        start_instant(),
    );
    let claims = verdict.claims().expect("claims");
    assert!(
        !claims.status.lawful_stay && !claims.status.right_to_work,
        "{claims:?}"
    );
    // Someone else's pass: not found, not revocable.
    let theirs = app.store().write(&mut |tx| {
        tx.insert_pass(&dprofile_store::NewPass {
            person_id: other,
            pass_id: &[9; 16],
            key_id: "k",
            view: "status_only",
            issued_at: start_instant(),
            expires_at: start_instant() + Duration::days(1),
        })
        .map(|_| ())
    });
    theirs.expect("a pass of the other person");
    let their_id = app.store().person_passes(other).expect("passes")[0].id;
    assert_problem(
        session
            .get(app.url(&format!("/v1/me/passes/{their_id}.png")))
            .send()
            .await
            .expect("an answer"),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_problem(
        session
            .post(app.url(&format!("/v1/me/passes/{their_id}/revoke")))
            .send()
            .await
            .expect("an answer"),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(
        app.store()
            .pass(their_id)
            .expect("a pass")
            .expect("the pass")
            .revoked_at,
        None
    );
    // No session, no passes; the lists are public.
    assert_unauthorised(
        app.anonymous
            .get(app.url("/v1/me/passes"))
            .send()
            .await
            .expect("an answer"),
        "auth.required",
        "/v1/me/passes",
    )
    .await;
    let (status, _, _) = app.bytes(&app.anonymous, "/v1/passes/root-key").await;
    assert_eq!(status, StatusCode::OK);
}

// ---- the officers' console (issue 6): the pages' sessions, forms and logging ----------------

/// `application/x-www-form-urlencoded` of `pairs`, as a browser posts a form.
fn form_encoded(pairs: &[(&str, &str)]) -> String {
    let encode = |text: &str| -> String {
        text.bytes()
            .map(|byte| match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (byte as char).to_string()
                }
                b' ' => "+".to_owned(),
                _ => format!("%{byte:02X}"),
            })
            .collect()
    };
    pairs
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The `name=value` of cookie `name` in a response's `Set-Cookie` headers.
fn set_cookie_of(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| value.split(';').next())
        .find(|pair| pair.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

impl TestApp {
    /// Posts a console form with `cookies`, as the console's own page would (same origin).
    async fn post_page_form(
        &self,
        path: &str,
        cookies: &str,
        pairs: &[(&str, &str)],
    ) -> reqwest::Response {
        self.anonymous
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", cookies)
            .header("origin", &self.base_url)
            .header("sec-fetch-site", "same-origin")
            .body(form_encoded(pairs))
            .send()
            .await
            .expect("the server answers")
    }

    async fn get_page(&self, path: &str, cookies: &str) -> reqwest::Response {
        self.anonymous
            .get(self.url(path))
            .header("cookie", cookies)
            .send()
            .await
            .expect("the server answers")
    }

    /// Signs `login` in through the console's form; returns the session cookie.
    async fn console_sign_in(&self, login: &str) -> String {
        let response = self
            .post_page_form(
                "/officer/sign-in",
                "",
                &[
                    ("login", login),
                    ("password", OFFICER_PASSWORD),
                    ("next", "/officer"),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()["location"], "/officer");
        set_cookie_of(&response, "dp_officer").expect("the session cookie")
    }
}

#[tokio::test]
async fn console_pages_without_a_session_send_the_browser_to_sign_in() {
    let app = TestApp::sqlite().await;
    for path in [
        "/officer",
        "/officer/persons/1",
        "/officer/persons/1/history",
        "/officer/review",
        "/officer/review/1",
        "/officer/corrections",
        "/officer/case",
    ] {
        let response = app.get_page(path, "").await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        let location = response.headers()["location"].to_str().expect("a location");
        assert!(
            location.starts_with("/officer/sign-in?next=%2Fofficer"),
            "{path}: {location}"
        );
    }
    // A session cookie that is no open session is the same as none.
    let response = app
        .get_page("/officer/persons/1", "dp_officer=dpo_0000")
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    // The sign-in page itself is open.
    let response = app.get_page("/officer/sign-in?next=%2Fofficer", "").await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.expect("a page");
    // The page comes back to `next` (minijinja escapes `/` as `&#x2f;`, which browsers read
    // back as `/`).
    assert!(
        page.contains(r#"name="next" value="&#x2f;officer""#),
        "{page}"
    );
}

#[tokio::test]
async fn console_forms_posted_from_another_origin_are_refused() {
    let app = TestApp::sqlite().await;
    app.create_officer("i.petrova", "migration_officer");
    for (header, value) in [
        ("origin", "http://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let response = app
            .anonymous
            .post(app.url("/officer/sign-in"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header(header, value)
            .body(form_encoded(&[
                ("login", "i.petrova"),
                ("password", OFFICER_PASSWORD),
            ]))
            .send()
            .await
            .expect("the server answers");
        assert_eq!(
            response.status(),
            StatusCode::FORBIDDEN,
            "{header}: {value}"
        );
        assert!(set_cookie_of(&response, "dp_officer").is_none());
    }
}

#[tokio::test]
async fn a_wrong_console_password_answers_like_an_unknown_login() {
    let app = TestApp::sqlite().await;
    app.create_officer("i.petrova", "migration_officer");
    let mut failures = Vec::new();
    for login in ["i.petrova", "nobody.here"] {
        let response = app
            .post_page_form(
                "/officer/sign-in",
                "",
                &[("login", login), ("password", "not the password at all")],
            )
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(set_cookie_of(&response, "dp_officer").is_none());
        let page = response.text().await.expect("a page");
        let failure = page
            .split(r#"id="sign-in-failure""#)
            .nth(1)
            .and_then(|rest| rest.split("</div>").next())
            .expect("the failure notice")
            .to_owned();
        assert!(!failure.contains(login), "{failure}");
        failures.push(failure);
    }
    assert_eq!(failures[0], failures[1], "the same words for both");
    // An empty field is named, next to it.
    let response = app
        .post_page_form("/officer/sign-in", "", &[("login", "i.petrova")])
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let page = response.text().await.expect("a page");
    assert!(page.contains(r#"id="password-error""#), "{page}");
    assert!(page.contains("Password is required"), "{page}");
}

#[tokio::test]
async fn a_console_profile_view_is_logged_with_the_stated_purpose_and_case() {
    let app = TestApp::sqlite().await;
    let person = app.post_for_person(&abdullayev("CONSOLE-1")).await;
    app.create_officer("i.petrova", "migration_officer");
    let session = app.console_sign_in("i.petrova").await;

    // No purpose and case yet: the page asks for them and shows (and logs) nothing.
    let before = app.access_log_size();
    let response = app
        .get_page(&format!("/officer/persons/{person}"), &session)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.expect("a page");
    assert!(page.contains("State the purpose and the case"), "{page}");
    assert!(
        !page.contains("ABDULLAYEV"),
        "no data before the case: {page}"
    );
    assert_eq!(app.access_log_size(), before);

    // A purpose the role does not hold is refused next to the field.
    let response = app
        .post_page_form(
            "/officer/case",
            &session,
            &[("purpose", "tax_administration"), ("case_ref", "MV-1")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response
            .text()
            .await
            .expect("a page")
            .contains(r#"id="purpose-error""#)
    );

    let response = app
        .post_page_form(
            "/officer/case",
            &session,
            &[
                ("purpose", "stay_control"),
                ("case_ref", "MV-2026-0412"),
                ("next", &format!("/officer/persons/{person}")),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()["location"],
        format!("/officer/persons/{person}").as_str()
    );
    let case = set_cookie_of(&response, "dp_case").expect("the case cookie");
    let cookies = format!("{session}; {case}");

    let response = app
        .get_page(&format!("/officer/persons/{person}"), &cookies)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.expect("a page");
    assert!(page.contains("ABDULLAYEV"), "{page}");
    assert!(
        page.contains("Purpose: <strong>stay_control</strong>"),
        "{page}"
    );
    let logged = app.access_entries(before);
    assert_eq!(logged.len(), 1, "one entry for one page view: {logged:?}");
    assert_eq!(logged[0].actor, "officer:i.petrova");
    assert_eq!(logged[0].purpose, "stay_control");
    assert_eq!(logged[0].case_ref.as_deref(), Some("MV-2026-0412"));
    assert_eq!(logged[0].person, Some(person));
    assert!(logged[0].categories.contains(&"tax_debt".to_owned()));
    assert_eq!(logged[0].outcome, dprofile_audit::AccessOutcome::Allowed);
}

#[tokio::test]
async fn a_console_review_decision_names_the_signed_in_officer() {
    let app = TestApp::sqlite().await;
    let (first, second, item) = open_identifier_conflict(
        &app,
        "ABDULLAYEV",
        ["FA1234567", "FB7654321"],
        ["123-456-789 64", "112-233-445 95"],
    )
    .await;
    app.create_officer("i.petrova", "migration_officer");
    let session = app.console_sign_in("i.petrova").await;
    let case = app
        .post_page_form(
            "/officer/case",
            &session,
            &[("purpose", "identity_review"), ("case_ref", "REV-1")],
        )
        .await;
    let cookies = format!(
        "{session}; {}",
        set_cookie_of(&case, "dp_case").expect("the case cookie")
    );
    let item_id = item["id"].as_i64().expect("an item id");
    let page = app
        .get_page(&format!("/officer/review/{item_id}"), &cookies)
        .await
        .text()
        .await
        .expect("a page");
    assert!(page.contains(&format!("Person {first}")), "{page}");
    assert!(page.contains(&format!("Person {second}")), "{page}");

    // Without a reason, the form says so next to the field.
    let response = app
        .post_page_form(
            &format!("/officer/review/{item_id}"),
            &cookies,
            &[("decision", "reject"), ("reason", " ")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response
            .text()
            .await
            .expect("a page")
            .contains(r#"id="reason-error""#)
    );

    // An `actor` field is not read: the actor is the session's officer.
    let response = app
        .post_page_form(
            &format!("/officer/review/{item_id}"),
            &cookies,
            &[
                ("decision", "reject"),
                ("reason", "different fathers' names"),
                ("actor", "officer:someone.else"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let store = app.store();
    let decisions = off_runtime(move || store.person_decisions(first)).expect("the history");
    let rejection = decisions
        .iter()
        .find(|decision| decision.kind == "reject")
        .expect("the rejection");
    assert_eq!(rejection.actor, "officer:i.petrova");
    assert_eq!(rejection.reason, "different fathers' names");
}

impl TestApp {
    /// States the purpose and case on the console; returns the cookies of the session and case.
    async fn console_case(&self, session: &str, purpose: &str, case_ref: &str) -> String {
        let response = self
            .post_page_form(
                "/officer/case",
                session,
                &[("purpose", purpose), ("case_ref", case_ref)],
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let case = set_cookie_of(&response, "dp_case").expect("the case cookie");
        format!("{session}; {case}")
    }
}

#[tokio::test]
async fn the_console_marks_a_disputed_fact_and_the_source_agency_answers_the_request() {
    let app = TestApp::sqlite().await;
    let person = app.post_for_person(&abdullayev("CONSOLE-CORR-1")).await;
    let session = app.person_session("FA1234567", "1991-07-14").await;
    let record_id = tax_fact(&my_profile(&app, &session).await)["cited"]["record_id"]
        .as_i64()
        .expect("a record id");
    let request_id = file_balance_dispute(&app, &session, record_id).await["id"]
        .as_i64()
        .expect("an id");

    // A migration officer sees the fact marked disputed, with the field.
    app.create_officer("i.petrova", "migration_officer");
    let officer = app.console_sign_in("i.petrova").await;
    let cookies = app.console_case(&officer, "stay_control", "MV-7").await;
    let page = app
        .get_page(&format!("/officer/persons/{person}"), &cookies)
        .await
        .text()
        .await
        .expect("a page");
    assert!(page.contains("Disputed"), "{page}");
    assert!(page.contains("&#x2f;data&#x2f;balance"), "{page}");
    // Answering needs the purpose `correction_handling`: the page says so.
    let response = app.get_page("/officer/corrections", &cookies).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(
        response
            .text()
            .await
            .expect("a page")
            .contains("correction_handling")
    );

    // An officer of the record's own agency answers it.
    let policy = Policy::default_policy();
    off_runtime(|| {
        dprofile_pipeline::officers::create(
            app.store(),
            &policy,
            &dprofile_pipeline::officers::NewOfficerAccount {
                login: "fns.desk",
                display_name: "FNS correction desk",
                agency: "fns",
                role: "source_system",
                password: OFFICER_PASSWORD,
            },
            start_instant(),
        )
    })
    .expect("an fns officer");
    let desk = app.console_sign_in("fns.desk").await;
    let cookies = app
        .console_case(&desk, "correction_handling", "FNS-2026-1")
        .await;
    let response = app.get_page("/officer/corrections", &cookies).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.expect("a page");
    assert!(page.contains("I paid the debt on 2026-02-20"), "{page}");
    let answer_path = format!("/officer/corrections/{request_id}/answer");
    // No verdict: named next to the choice.
    let response = app
        .post_page_form(&answer_path, &cookies, &[("answer", "no")])
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let page = response.text().await.expect("a page");
    assert!(
        page.contains(&format!(r#"id="verdict-{request_id}-error""#)),
        "{page}"
    );
    let response = app
        .post_page_form(
            &answer_path,
            &cookies,
            &[
                ("verdict", "reject"),
                ("answer", "the payment reached us after the record was sent"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let mine = my_corrections(&app, &session).await;
    assert_eq!(mine[0]["status"], "rejected", "{mine:?}");
    assert_eq!(
        mine[0]["answer"],
        "the payment reached us after the record was sent"
    );
}

#[tokio::test]
async fn an_officer_merging_through_the_api_decides_as_themself() {
    let app = TestApp::sqlite().await;
    let first = app
        .post_for_person(&tax_record(
            "fns-api-merge-1",
            "ABDULLAYEV",
            "FA1234567",
            "123-456-789 64",
        ))
        .await;
    let second = app
        .post_for_person(&tax_record(
            "fns-api-merge-2",
            "ABDULLAYEV",
            "FB7654321",
            "112-233-445 95",
        ))
        .await;
    assert_ne!(first, second);
    app.create_officer("i.petrova", "migration_officer");
    let token = app.officer_token("i.petrova").await;
    let officer = officer_client(&token, "identity_review");
    let merge_url = app.url(&format!("/v1/persons/{first}/merge"));

    // Naming someone else is refused, next to the field.
    let response = officer
        .post(&merge_url)
        .json(&json!({"from": second, "actor": "officer:someone.else", "reason": "same man"}))
        .send()
        .await
        .expect("an answer");
    let problem = assert_problem(response, StatusCode::BAD_REQUEST, "invalid_decision").await;
    assert_eq!(problem["errors"][0]["pointer"], "/actor", "{problem}");

    // Left out, the actor is the signed-in officer.
    let response = officer
        .post(&merge_url)
        .json(&json!({"from": second, "reason": "same man, passport renewed"}))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), StatusCode::CREATED);
    let store = app.store();
    let decisions = off_runtime(move || store.person_decisions(first)).expect("the history");
    let merge = decisions
        .iter()
        .find(|decision| decision.kind == "merge")
        .expect("the merge");
    assert_eq!(merge.actor, "officer:i.petrova");
    assert_eq!(merge.reason, "same man, passport renewed");
}

#[tokio::test]
async fn the_console_merges_two_persons_and_splits_them_again_by_the_signed_in_officer() {
    let app = TestApp::sqlite().await;
    let first = app
        .post_for_person(&tax_record(
            "fns-merge-1",
            "ABDULLAYEV",
            "FA1234567",
            "123-456-789 64",
        ))
        .await;
    let second = app
        .post_for_person(&tax_record(
            "fns-merge-2",
            "ABDULLAYEV",
            "FB7654321",
            "112-233-445 95",
        ))
        .await;
    assert_ne!(first, second);
    app.create_officer("i.petrova", "migration_officer");
    let session = app.console_sign_in("i.petrova").await;
    let cookies = app
        .console_case(&session, "identity_review", "REV-2026-9")
        .await;
    let history = format!("/officer/persons/{first}/history");

    // A person id that is not a number is named next to its field.
    let response = app
        .post_page_form(
            &format!("/officer/persons/{first}/merge"),
            &cookies,
            &[("from", "second one"), ("reason", "same man")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response
            .text()
            .await
            .expect("a page")
            .contains(r#"id="from-error""#)
    );

    let response = app
        .post_page_form(
            &format!("/officer/persons/{first}/merge"),
            &cookies,
            &[
                ("from", &second.to_string()),
                ("reason", "same man, passport renewed"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], history.as_str());
    // The merged person's profile page goes to the survivor.
    let response = app
        .get_page(&format!("/officer/persons/{second}"), &cookies)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()["location"],
        format!("/officer/persons/{first}").as_str()
    );
    let store = app.store();
    let merge = off_runtime(move || store.person_decisions(first))
        .expect("the history")
        .into_iter()
        .find(|decision| decision.kind == "merge")
        .expect("the merge");
    assert_eq!(merge.actor, "officer:i.petrova");
    let page = app
        .get_page(&history, &cookies)
        .await
        .text()
        .await
        .expect("a page");
    assert!(page.contains("same man, passport renewed"), "{page}");
    assert!(page.contains("officer:i.petrova"), "{page}");

    let response = app
        .post_page_form(
            &format!("/officer/persons/{first}/split"),
            &cookies,
            &[
                ("merge_decision_id", &merge.id.to_string()),
                ("reason", "two men after all"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let store = app.store();
    let decisions = off_runtime(move || store.person_decisions(first)).expect("the history");
    let split = decisions
        .iter()
        .find(|decision| decision.kind == "split")
        .expect("the split");
    assert_eq!(split.actor, "officer:i.petrova");
    let response = app
        .get_page(&format!("/officer/persons/{second}"), &cookies)
        .await;
    assert_eq!(response.status(), StatusCode::OK, "the person is back");
}

#[tokio::test]
async fn an_agency_subscribes_and_long_polls_the_feed_which_is_logged() {
    let app = TestApp::sqlite().await;
    let tax = app.client_as("tax_inspector", "tax_administration");
    // A category the role may not read is refused, naming it.
    let response = tax
        .post(app.url("/v1/subscriptions"))
        .json(&json!({"purpose": "tax_administration", "categories": ["tax_debt", "entry_ban"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let problem = json_of(response).await;
    assert_eq!(problem["code"], "policy.category_not_granted");
    assert_eq!(problem["errors"][0]["pointer"], "/categories/1");
    assert!(problem["detail"].as_str().unwrap().contains("entry_ban"));
    // An unknown event type is a 400 naming the field.
    let response = tax
        .post(app.url("/v1/subscriptions"))
        .json(&json!({"purpose": "tax_administration", "event_types": ["record.eaten"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        json_of(response).await["errors"][0]["pointer"],
        "/event_types/0"
    );
    let response = tax
        .post(app.url("/v1/subscriptions"))
        .json(&json!({"purpose": "tax_administration"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let created = json_of(response).await;
    let id = created["subscription"]["id"].as_i64().unwrap();
    assert!(created["secret"].as_str().unwrap().starts_with("whsec_"));
    // Another agency does not see it.
    let other = app.client_as("border_guard", "border_control");
    let response = other
        .get(app.url(&format!("/v1/subscriptions/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    // A long poll waits for the change.
    let poll = {
        let (tax, url) = (
            tax.clone(),
            app.url(&format!("/v1/feed?subscription={id}&wait=20")),
        );
        tokio::spawn(async move { tax.get(url).send().await.unwrap() })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let logged_before = app.access_log_size();
    let person = app.post_for_person(&abdullayev("FEED-1")).await;
    let page = json_of(poll.await.unwrap()).await;
    let events = page["events"].as_array().unwrap();
    assert!(!events.is_empty(), "{page}");
    assert_eq!(events[0]["type"], "person.created");
    assert_eq!(events[0]["person_id"], person);
    // Resumable from its cursor: the rest of the change, then nothing.
    let mut seen: Vec<Value> = events.clone();
    let mut next = page["next"].as_str().unwrap().to_owned();
    loop {
        let page = json_of(
            tax.get(app.url(&format!("/v1/feed?subscription={id}&after={next}")))
                .send()
                .await
                .unwrap(),
        )
        .await;
        next = page["next"].as_str().unwrap().to_owned();
        let events = page["events"].as_array().unwrap().clone();
        if events.is_empty() {
            break;
        }
        seen.extend(events);
    }
    let types: Vec<&str> = seen
        .iter()
        .map(|event| event["type"].as_str().unwrap())
        .collect();
    assert!(types.contains(&"record.accepted"), "{types:?}");
    let sequences: Vec<i64> = seen
        .iter()
        .map(|event| event["person_seq"].as_i64().unwrap())
        .collect();
    // In order per person; numbers of events this subscriber may not read are skipped.
    assert!(
        sequences.windows(2).all(|pair| pair[0] < pair[1]),
        "{sequences:?}"
    );
    // From the start again: the same events (at least once, resumable from any cursor).
    let again = json_of(
        tax.get(app.url(&format!("/v1/feed?subscription={id}&limit=1000")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(again["events"].as_array().unwrap().len(), seen.len());
    // Every page with events is in the access log: the agency received the person's events.
    let delivered: Vec<_> = app
        .access_entries(logged_before)
        .into_iter()
        .filter(|entry| entry.action == dprofile_audit::AccessAction::Deliver)
        .collect();
    assert!(delivered.len() >= 2, "{delivered:?}");
    assert!(
        delivered
            .iter()
            .all(|entry| entry.agency == "fns" && entry.person == Some(person))
    );
    // A cursor that is not one names the parameter.
    let response = tax
        .get(app.url(&format!("/v1/feed?subscription={id}&after=7")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_of(response).await["errors"][0]["pointer"], "/after");
    let response = tax
        .delete(app.url(&format!("/v1/subscriptions/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = tax
        .get(app.url(&format!("/v1/feed?subscription={id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

/// Acceptance 4 of issue 7: the JetStream adapter publishes the feed to the local NATS server
/// (CI starts one) and a consumer reads the same events, in order; a second publisher run
/// resumes after them and publishes nothing twice.
#[tokio::test]
async fn the_jetstream_adapter_publishes_the_feed_and_a_consumer_reads_it() {
    use futures_util::StreamExt;
    let url = std::env::var("NATS_URL").unwrap_or_else(|_| "127.0.0.1:4222".to_owned());
    // Like PostgreSQL: skipped loudly without a server, a failure under CI (which starts one).
    if let Err(error) = async_nats::connect(&url).await {
        if std::env::var("CI").is_ok_and(|value| value == "true" || value == "1") {
            panic!("NATS is required under CI but {url} does not answer: {error}");
        }
        eprintln!("\n!!! SKIPPING the JetStream test: {url} does not answer ({error}).\n");
        return;
    }
    let app = TestApp::sqlite().await;
    app.post_for_person(&abdullayev("NATS-1")).await;
    app.post_for_person(&abdullayev("NATS-2")).await;
    let store = app.store.clone().expect("the store");
    let events = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || store.events_after(0, 1000))
            .await
            .unwrap()
            .unwrap()
    };
    assert!(events.len() >= 3);
    let suffix = format!("{}_{}", std::process::id(), rand::random::<u32>());
    let stream_name = format!("DPROFILE_TEST_{suffix}");
    let prefix = format!("dprofile_test_{suffix}");
    let mut publisher = dprofile_api::jetstream::JetStreamPublisher::connect(
        &url,
        &stream_name,
        &prefix,
        store.clone(),
    )
    .await
    .expect("NATS with JetStream answers (CI starts it)");
    assert_eq!(publisher.resume_position().await.unwrap(), 0);
    let last = publisher.publish_after(0).await.unwrap();
    assert_eq!(last, events.last().unwrap().position);
    // A restarted publisher resumes after the last event in the stream.
    assert_eq!(publisher.resume_position().await.unwrap(), last);
    // Publishing the same events again (a crash before the publisher knew) is deduplicated.
    publisher.publish_after(0).await.unwrap();
    let client = async_nats::connect(&url).await.unwrap();
    let context = async_nats::jetstream::new(client);
    let mut stream = context.get_stream(&stream_name).await.unwrap();
    assert_eq!(
        stream.info().await.unwrap().state.messages,
        events.len() as u64
    );
    let consumer = stream
        .create_consumer(async_nats::jetstream::consumer::pull::Config {
            deliver_policy: async_nats::jetstream::consumer::DeliverPolicy::All,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut messages = consumer
        .fetch()
        .max_messages(events.len())
        .messages()
        .await
        .unwrap();
    let mut read = Vec::new();
    while let Some(message) = messages.next().await {
        let message = message.unwrap();
        let event: Value = serde_json::from_slice(&message.payload).unwrap();
        assert_eq!(
            message.subject.as_str(),
            format!("{prefix}.{}", event["type"].as_str().unwrap())
        );
        read.push(event["id"].as_str().unwrap().to_owned());
        message.ack().await.unwrap();
    }
    let expected: Vec<String> = events.iter().map(|event| event.event_id.clone()).collect();
    assert_eq!(read, expected, "the same events, in feed order");
    context.delete_stream(&stream_name).await.unwrap();
}
