//! What every browser test needs: the server with synthetic data, officers and a captured
//! one-time code channel ([`TestServer`]), and a headless Chromium with axe-core and
//! screenshots ([`Browser`]).

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dprofile_api::person_auth::{CodeSender, PersonSessions, SignInLimits};
use dprofile_api::{ApiConfig, AppState};
use dprofile_pipeline::passes::{PassKeyring, PassService};
use dprofile_pipeline::{IngestOptions, Ingestor, Line, SystemClock};
use dprofile_policy::Policy;
use dprofile_store::Store;
use dprofile_store::testing::TestStore;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// Persons in the synthetic population of every browser test.
pub const PERSONS: u64 = 300;
/// The officers' accounts every test server has: (login, agency, role).
pub const OFFICERS: [(&str, &str, &str); 2] = [
    ("i.petrova", "mvd-migration", "migration_officer"),
    ("a.sokolov", "mvd-migration", "analyst"),
];
/// Their password (all alike: they are test accounts).
pub const OFFICER_PASSWORD: &str = "correct horse battery staple";

/// Stands for the SMS gateway: keeps every code sent, for the test to type in.
#[derive(Clone, Default)]
pub struct CapturedCodes(Arc<Mutex<Vec<(i64, String)>>>);

impl CodeSender for CapturedCodes {
    fn send(&self, person: i64, code: &str) {
        self.0
            .lock()
            .expect("the codes")
            .push((person, code.to_owned()));
    }
}

impl CapturedCodes {
    /// The last code sent to `person`.
    pub fn last_for(&self, person: i64) -> Option<String> {
        self.0
            .lock()
            .expect("the codes")
            .iter()
            .rev()
            .find(|(to, _)| *to == person)
            .map(|(_, code)| code.clone())
    }
}

/// The registry on 127.0.0.1:0 with a fresh SQLite store and a synthetic population, served on
/// a thread of its own (its own runtime), stopped when dropped.
pub struct TestServer {
    pub base_url: String,
    pub store: Arc<dyn Store>,
    pub codes: CapturedCodes,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        let (address_sender, address_receiver) =
            tokio::sync::oneshot::channel::<(SocketAddr, Arc<dyn Store>)>();
        let (shutdown_sender, shutdown_receiver) = tokio::sync::oneshot::channel::<()>();
        let codes = CapturedCodes::default();
        let server_codes = codes.clone();
        let thread = std::thread::spawn(move || {
            let test_store = TestStore::sqlite();
            let store = test_store.store.clone();
            let clock = Arc::new(SystemClock);
            load_population(&Ingestor::new(store.clone(), clock.clone()));
            let policy = Policy::default_policy();
            for (login, agency, role) in OFFICERS {
                dprofile_pipeline::officers::create(
                    store.as_ref(),
                    &policy,
                    &dprofile_pipeline::officers::NewOfficerAccount {
                        login,
                        display_name: login,
                        agency,
                        role,
                        password: OFFICER_PASSWORD,
                    },
                    chrono::Utc::now(),
                )
                .expect("an officer account");
            }
            let log_key =
                dprofile_audit::LogKey::from_seed("dprofile/test-log", [7; 32]).expect("a log key");
            let keyring = PassKeyring::from_seeds(
                [11; 32],
                [12; 32],
                chrono::Utc::now() - chrono::Duration::days(1),
            );
            let state = AppState::with_clock(store.clone(), clock, ApiConfig::default(), log_key)
                .with_person_sessions(PersonSessions::new(
                    SignInLimits::default(),
                    Box::new(server_codes),
                ))
                .with_passes(PassService::new(store.clone(), keyring));
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a server runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("a free port");
                let address = listener.local_addr().expect("a bound address");
                let _ = address_sender.send((address, store));
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
        let (address, store) = address_receiver.await.expect("the server started");
        TestServer {
            base_url: format!("http://{address}"),
            store,
            codes,
            shutdown: Some(shutdown_sender),
            thread: Some(thread),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The synthetic population (seed 42, as `serve --demo`), ingested in chunks.
fn load_population(ingestor: &Ingestor) {
    let config = dprofile_synth::SynthConfig::new(PERSONS, 42);
    let mut lines = Vec::new();
    dprofile_synth::generate(&config, |record| {
        lines.push(Line {
            number: lines.len() as u64 + 1,
            bytes: record.line.into_bytes(),
        });
    });
    let options = IngestOptions {
        origin: "browser-test".to_owned(),
        ..IngestOptions::default()
    };
    for chunk in lines.chunks(options.chunk_size) {
        ingestor
            .ingest_lines(chunk.to_vec(), &options)
            .expect("the population is ingested");
    }
}

/// Headless Chromium driven through chromedriver, on a free port, for one test.
pub struct Browser {
    pub client: Client,
    base_url: String,
    driver: Child,
}

/// Whether browser tests must run (CI) or may be skipped when no browser is installed.
fn browser_required() -> bool {
    std::env::var("CI").is_ok_and(|value| !value.is_empty() && value != "false" && value != "0")
}

impl Browser {
    /// A browser on `base_url`, or `None` (after a loud notice) when Chromium or chromedriver is
    /// not installed and `CI` is not set.
    pub async fn start(base_url: &str) -> Option<Browser> {
        let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .into_iter()
            .find(|path| std::path::Path::new(path).exists());
        let driver_path = ["/usr/bin/chromedriver"]
            .into_iter()
            .find(|path| std::path::Path::new(path).exists());
        let (Some(chromium), Some(driver_path)) = (chromium, driver_path) else {
            let notice = "BROWSER TESTS SKIPPED: Chromium and chromedriver are not installed \
                          (apt-get install chromium chromium-driver)";
            assert!(!browser_required(), "{notice}; CI requires them");
            eprintln!("\n!!! {notice} !!!\n");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new(driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let webdriver_url = format!("http://127.0.0.1:{port}");
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            json!({
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-dev-shm-usage",
                    "--window-size=1280,1000", "--lang=en-US",
                ],
            }),
        );
        let mut last_error = None;
        for _ in 0..100 {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(capabilities.clone())
                .connect(&webdriver_url)
                .await
            {
                Ok(client) => {
                    return Some(Browser {
                        client,
                        base_url: base_url.to_owned(),
                        driver,
                    });
                }
                Err(error) => {
                    last_error = Some(error);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        panic!("chromedriver did not start a session: {last_error:?}");
    }

    /// Opens `path` of the server.
    pub async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base_url))
            .await
            .unwrap_or_else(|error| panic!("cannot open {path}: {error}"));
    }

    /// The current page's path (and query).
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("the current URL");
        let mut path = url.path().to_owned();
        if let Some(query) = url.query() {
            path.push('?');
            path.push_str(query);
        }
        path
    }

    /// The element matching `css`, waiting up to 10 s for it to appear.
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|error| panic!("no element `{css}` on the page: {error}"))
    }

    /// Types `text` into the field matching `css` (after clearing it).
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.expect("the field clears");
        field.send_keys(text).await.expect("the field takes text");
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|error| panic!("cannot click `{css}`: {error}"));
    }

    /// The visible text of the element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        self.find(css)
            .await
            .text()
            .await
            .expect("the element's text")
    }

    /// The whole page's visible text.
    pub async fn page_text(&self) -> String {
        self.text("body").await
    }

    /// Runs axe-core on the current page and fails on any serious or critical violation,
    /// naming the rule and the elements.
    pub async fn assert_accessible(&self, page: &str) {
        const AXE: &str = include_str!("axe.min.js");
        self.client
            .execute(AXE, vec![])
            .await
            .expect("axe-core loads into the page");
        let result = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] })
                    .then(r => done(r.violations.map(v => ({
                        id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5) }))))
                    .catch(e => done([{ id: 'axe-error', impact: 'critical', help: String(e), nodes: [] }]));",
                vec![],
            )
            .await
            .expect("axe-core runs");
        let serious: Vec<&Value> = result
            .as_array()
            .map(|violations| {
                violations
                    .iter()
                    .filter(|violation| {
                        matches!(violation["impact"].as_str(), Some("serious" | "critical"))
                    })
                    .collect()
            })
            .unwrap_or_default();
        assert!(
            serious.is_empty(),
            "accessibility violations on {page}: {}",
            serde_json::to_string_pretty(&serious).unwrap_or_default()
        );
    }

    /// Saves a PNG of the page as `DIR/name.png` when `DPROFILE_SCREENSHOTS=DIR` is set.
    pub async fn screenshot(&self, name: &str) {
        let Some(directory) = std::env::var_os("DPROFILE_SCREENSHOTS") else {
            return;
        };
        let png = self.client.screenshot().await.expect("a screenshot");
        let path = std::path::Path::new(&directory).join(format!("{name}.png"));
        std::fs::create_dir_all(&directory).expect("the screenshot directory");
        std::fs::write(&path, png).expect("the screenshot is written");
    }

    /// Ends the browser session and chromedriver.
    pub async fn finish(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A failed test never reaches `finish`: chromedriver must not outlive it.
        let _ = self.driver.kill();
    }
}
