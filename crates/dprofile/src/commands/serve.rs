//! `dprofile serve`: the HTTP API, on the embedded store by default, with demo data if asked.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use dprofile_pipeline::{IngestOptions, Ingestor, Line, SystemClock};
use dprofile_synth::{SynthConfig, generate};

use super::StoreLocation;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "DPROFILE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Load a synthetic demo population first (only into an empty store).
    #[arg(long)]
    pub demo: bool,
    /// Persons in the demo population.
    #[arg(long, default_value_t = 2000)]
    pub demo_persons: u64,
    /// Days a source agency has to answer a person's correction request (GDPR art. 12(3):
    /// one month); an open request past it shows as overdue.
    #[arg(long, env = "DPROFILE_CORRECTION_ANSWER_DAYS", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=366))]
    pub correction_answer_days: u32,
    /// The analysts' dashboard suppresses every count below this (charts, tables and CSV), so
    /// that no small group singles a person out.
    #[arg(long, env = "DPROFILE_MIN_COUNT", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub min_count: u64,
    #[command(flatten)]
    pub log_key: super::audit::KeyArgs,
    /// Officers' sessions end this many minutes after sign-in, however active.
    #[arg(long, env = "DPROFILE_OFFICER_SESSION_MINUTES", default_value_t = 480, value_parser = clap::value_parser!(u32).range(1..=10_080))]
    pub officer_session_minutes: u32,
    /// Officers' sessions end after this many minutes without a request.
    #[arg(long, env = "DPROFILE_OFFICER_IDLE_MINUTES", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=1440))]
    pub officer_idle_minutes: u32,
    /// Failed sign-ins after which an officer's account is locked.
    #[arg(long, env = "DPROFILE_OFFICER_MAX_FAILURES", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub officer_max_failures: u32,
    /// Minutes a locked officer account refuses every sign-in.
    #[arg(long, env = "DPROFILE_OFFICER_LOCKOUT_MINUTES", default_value_t = 15, value_parser = clap::value_parser!(u32).range(1..=10_080))]
    pub officer_lockout_minutes: u32,
    #[command(flatten)]
    pub pass_keys: super::passes::PassKeyArgs,
    /// Failed attempts after which a webhook delivery is parked in the dead-letter list.
    #[arg(long, env = "DPROFILE_WEBHOOK_MAX_ATTEMPTS", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub webhook_max_attempts: u32,
    /// The first webhook retry waits up to this many milliseconds, each next one up to twice
    /// as long (full jitter).
    #[arg(long, env = "DPROFILE_WEBHOOK_BASE_DELAY_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    pub webhook_base_delay_ms: u64,
    /// No webhook retry waits longer than this many seconds.
    #[arg(long, env = "DPROFILE_WEBHOOK_MAX_DELAY_SECONDS", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub webhook_max_delay_seconds: u64,
    /// Also publish every event to this NATS server's JetStream (`nats://host:4222`), for
    /// other servers to deliver from.
    #[arg(long, env = "DPROFILE_NATS_URL")]
    pub nats_url: Option<String>,
    /// The JetStream stream (created if missing) and subject prefix (`<prefix>.<event type>`).
    #[arg(long, env = "DPROFILE_NATS_STREAM", default_value = "DPROFILE_EVENTS")]
    pub nats_stream: String,
    #[arg(
        long,
        env = "DPROFILE_NATS_SUBJECT_PREFIX",
        default_value = "dprofile.events"
    )]
    pub nats_subject_prefix: String,
}

impl ServeArgs {
    fn officer_auth(&self) -> dprofile_api::officer_auth::OfficerAuth {
        let minutes = |value: u32| chrono::Duration::minutes(i64::from(value));
        dprofile_api::officer_auth::OfficerAuth::new(
            dprofile_pipeline::officers::OfficerAuthConfig {
                session_lifetime: minutes(self.officer_session_minutes),
                idle_timeout: minutes(self.officer_idle_minutes),
                max_failed_attempts: self.officer_max_failures,
                lockout: minutes(self.officer_lockout_minutes),
            },
            dprofile_api::officer_auth::DEFAULT_SIGN_INS_PER_ADDRESS,
            chrono::Duration::minutes(15),
        )
    }
}

/// mimalloc asks the kernel for transparent huge pages on its memory and hands freed pages back
/// after its purge delay; a request path that allocates and frees a little per request then
/// faults a whole 2 MiB huge page back in, zeroed, again and again. With the share-code check
/// at 1,000 requests/s that was 0.2–0.5 ms of system time per request and a p99 of seconds
/// (BENCHMARKS.md, "Share-code check over HTTP"). `MIMALLOC_ALLOW_THP=0` keeps mimalloc on
/// normal pages; mimalloc reads it when the process starts, so without it set `serve` replaces
/// itself once with the same arguments and the option set (the same process id, so signals
/// and supervisors are unaffected).
fn exec_without_huge_pages() -> anyhow::Result<()> {
    const ALLOW_THP: &str = "MIMALLOC_ALLOW_THP";
    if std::env::var_os(ALLOW_THP).is_some() {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt as _;
        let program = std::env::current_exe().context("cannot find the dprofile executable")?;
        // `exec` returns only if it failed.
        let error = std::process::Command::new(program)
            .args(std::env::args_os().skip(1))
            .env(ALLOW_THP, "0")
            .exec();
        tracing::warn!(%error, "cannot restart serve without huge pages; serving with them");
    }
    Ok(())
}

pub fn run(location: &StoreLocation, args: ServeArgs) -> anyhow::Result<ExitCode> {
    exec_without_huge_pages()?;
    let store = location.open()?;
    // Resolves probabilistically when the store holds a resolver model (`ingest --model`).
    let ingestor = Ingestor::from_store(store.clone(), Arc::new(SystemClock))
        .context("cannot load the store's resolver model")?;
    // Every read of personal data is logged: no log key, no server.
    let log_key = args.log_key.load(location)?;
    let pass_key_path = args.pass_keys.path(location);
    let pass_keys =
        dprofile_pipeline::passes::PassKeyring::load_or_create(&pass_key_path, chrono::Utc::now())
            .with_context(|| format!("cannot use the pass keys {}", pass_key_path.display()))?;
    let passes = dprofile_pipeline::passes::PassService::new(store.clone(), pass_keys);
    let demo_key = if args.demo {
        load_demo(&ingestor, args.demo_persons)?;
        // A fresh key each start: the store keeps only hashes, so an old token cannot be shown.
        let issued = dprofile_pipeline::api_keys::issue(
            store.as_ref(),
            &dprofile_policy::Policy::default_policy(),
            "demo (serve --demo)",
            "mvd-migration",
            "migration_officer",
            chrono::Utc::now(),
        )
        .context("cannot create the demo API key")?;
        Some(issued.token)
    } else {
        None
    };
    let demo_officers = if args.demo {
        demo_officer_accounts(store.as_ref())?
    } else {
        Vec::new()
    };
    let officer_auth = args.officer_auth();
    let webhook_config = dprofile_pipeline::webhooks::WebhookConfig {
        max_attempts: args.webhook_max_attempts,
        base_delay: chrono::Duration::milliseconds(
            i64::try_from(args.webhook_base_delay_ms).unwrap_or(i64::MAX),
        ),
        max_delay: chrono::Duration::seconds(
            i64::try_from(args.webhook_max_delay_seconds).unwrap_or(i64::MAX),
        ),
        ..Default::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let address = listener.local_addr()?;
        println!(
            "dprofile is serving {} at http://{address}/",
            location.describe()
        );
        println!("  API docs:  http://{address}/docs");
        println!("  health:    http://{address}/healthz");
        if let Some(token) = &demo_key {
            println!("  demo API key (migration_officer of mvd-migration): {token}");
            println!(
                "  a demo person: curl -H 'Authorization: Bearer {token}' -H 'X-Purpose: stay_control' -H 'X-Case-Ref: demo-1' 'http://{address}/v1/persons?document=FA1234567'"
            );
            println!(
                "  portal:    http://{address}/my/sign-in — a demo person: document {}, born {} (the one-time code is in this server's log)",
                dprofile_synth::DEMO_PASSPORT,
                dprofile_synth::DEMO_BIRTH_DATE
            );
        } else {
            println!("  API keys:  dprofile apikey create --agency … --role … --name …");
        }
        println!("  officers' console: http://{address}/officer");
        for (login, role, password) in &demo_officers {
            println!("  demo {role} (mvd-migration): login {login}, password {password}");
        }
        if demo_officers.is_empty() {
            println!("  officers:  dprofile officer create --login … --agency … --role …");
        }
        let state = dprofile_api::AppState::new(
            store,
            ingestor,
            dprofile_api::ApiConfig {
                corrections: dprofile_pipeline::corrections::CorrectionConfig {
                    answer_within_days: args.correction_answer_days,
                    ..Default::default()
                },
                dashboard_min_count: args.min_count,
                ..dprofile_api::ApiConfig::default()
            },
            log_key,
        )
        .with_officer_auth(officer_auth)
        .with_passes(passes);
        // Webhooks: a thread per subscription, fed from the outbox in the store; they share
        // the server's access log, so a delivery's entries join the same log.
        let stop_webhooks = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let webhooks = dprofile_pipeline::webhooks::spawn_supervisor(
            Arc::new(dprofile_pipeline::webhooks::WebhookWorker {
                store: state.store.clone(),
                policy: state.policy.clone(),
                access_log: state.access_log.clone(),
                clock: state.clock.clone(),
                transport: Arc::new(dprofile_pipeline::webhooks::HttpTransport::default()),
                config: webhook_config,
            }),
            dprofile_pipeline::webhooks::SupervisorConfig::default(),
            stop_webhooks.clone(),
        );
        let (stop_publisher, publisher_stopped) = tokio::sync::watch::channel(false);
        let publisher = match &args.nats_url {
            Some(url) => {
                let publisher = dprofile_api::jetstream::JetStreamPublisher::connect(
                    url,
                    &args.nats_stream,
                    &args.nats_subject_prefix,
                    state.store.clone(),
                )
                .await
                .context("cannot publish to JetStream")?;
                println!("  JetStream: events published to stream {} at {url}", args.nats_stream);
                Some(tokio::spawn(publisher.run(
                    std::time::Duration::from_millis(50),
                    publisher_stopped,
                )))
            }
            None => None,
        };
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        let served = dprofile_api::serve(listener, state, shutdown)
            .await
            .context("the server stopped");
        stop_webhooks.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = stop_publisher.send(true);
        if let Some(publisher) = publisher {
            let _ = publisher.await;
        }
        let _ = tokio::task::spawn_blocking(move || webhooks.join()).await;
        served
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The console's demo accounts: a migration officer and an analyst of `mvd-migration`, with a
/// fresh generated password at each start (the store keeps only hashes, so an old one cannot be
/// shown; setting a new one also ends the account's old sessions). Returns (login, role,
/// password).
fn demo_officer_accounts(
    store: &dyn dprofile_store::Store,
) -> anyhow::Result<Vec<(&'static str, &'static str, String)>> {
    use dprofile_pipeline::officers;
    const ACCOUNTS: [(&str, &str, &str); 2] = [
        (
            "demo.officer",
            "Demo migration officer",
            "migration_officer",
        ),
        ("demo.analyst", "Demo analyst", "analyst"),
    ];
    let now = chrono::Utc::now();
    let existing = store.officers()?;
    let mut accounts = Vec::new();
    for (login, display_name, role) in ACCOUNTS {
        let password = officers::generate_password().context("cannot generate a password")?;
        if existing.iter().any(|officer| officer.login == login) {
            officers::set_password(store, login, &password, now)
                .with_context(|| format!("cannot set the password of `{login}`"))?;
        } else {
            officers::create(
                store,
                &dprofile_policy::Policy::default_policy(),
                &officers::NewOfficerAccount {
                    login,
                    display_name,
                    agency: "mvd-migration",
                    role,
                    password: &password,
                },
                now,
            )
            .with_context(|| format!("cannot create the demo officer `{login}`"))?;
        }
        accounts.push((login, role, password));
    }
    Ok(accounts)
}

fn load_demo(ingestor: &Ingestor, persons: u64) -> anyhow::Result<()> {
    let counts = ingestor.store().counts()?;
    if counts.records > 0 {
        eprintln!(
            "the store already holds {} records: demo data not loaded again",
            counts.records
        );
        return Ok(());
    }
    let config = SynthConfig::new(persons, 42);
    let mut lines = Vec::new();
    generate(&config, |record| {
        lines.push(Line {
            number: lines.len() as u64 + 1,
            bytes: record.line.into_bytes(),
        });
    });
    let options = IngestOptions {
        origin: "demo".to_owned(),
        ..IngestOptions::default()
    };
    let total = lines.len();
    let mut summary = dprofile_pipeline::Summary::default();
    let mut remaining = lines.into_iter().peekable();
    while remaining.peek().is_some() {
        let chunk: Vec<Line> = remaining.by_ref().take(options.chunk_size).collect();
        for result in ingestor.ingest_lines(chunk, &options)? {
            summary.add(result.outcome);
        }
    }
    eprintln!("demo data: {total} synthetic records about {persons} persons: {summary}");
    Ok(())
}
