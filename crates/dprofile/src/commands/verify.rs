//! `dprofile verify`: check a QR pass offline against cached lists. The one network step is
//! `--refresh URL`, which downloads the trust list and the status list (and, the first time,
//! the root key to pin) into the cache directory; verification itself reads only files.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use clap::Args;
use dprofile_pass::{StatusListToken, TrustList, Verdict};
use ed25519_dalek::VerifyingKey;

const TRUST_LIST_FILE: &str = "trust-list.cose";
const STATUS_LIST_FILE: &str = "status-list.cwt";
const ROOT_KEY_FILE: &str = "root-key.txt";

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The pass text (`DP1:…`); `-` reads it from standard input.
    pub pass: Option<String>,
    /// Read the pass from the QR code in a PNG image instead.
    #[arg(long, conflicts_with = "pass")]
    pub image: Option<PathBuf>,
    /// Where the lists are cached.
    #[arg(
        long,
        env = "DPROFILE_VERIFIER_CACHE",
        default_value = "./dprofile-verifier"
    )]
    pub cache: PathBuf,
    /// The cached trust list. Default: `trust-list.cose` in the cache.
    #[arg(long)]
    pub trust_list: Option<PathBuf>,
    /// The cached status list. Default: `status-list.cwt` in the cache.
    #[arg(long)]
    pub status_list: Option<PathBuf>,
    /// The root key (base64) the trust list must be signed by. Default: the one pinned in
    /// the cache (`root-key.txt`) by the first `--refresh`.
    #[arg(long)]
    pub root_key: Option<String>,
    /// Download the lists from the registry at this base URL (`http://host:port`) into the
    /// cache first. The first refresh also pins the registry's root key, unless `--root-key`
    /// gives it; later refreshes must match the pinned key.
    #[arg(long)]
    pub refresh: Option<String>,
    /// Check as at this instant (RFC 3339) instead of now.
    #[arg(long)]
    pub at: Option<String>,
    /// Print the verdict as JSON.
    #[arg(long)]
    pub json: bool,
}

fn parse_root_key(text: &str) -> anyhow::Result<VerifyingKey> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .context(
            "the root key is not base64 of 32 bytes: copy it again from `dprofile passes root-key`",
        )?;
    VerifyingKey::from_bytes(&bytes).context("the root key is not an Ed25519 public key")
}

/// The root key: `--root-key`, else the one pinned in the cache.
fn pinned_root(args: &VerifyArgs) -> anyhow::Result<Option<VerifyingKey>> {
    if let Some(text) = &args.root_key {
        return parse_root_key(text).map(Some);
    }
    let path = args.cache.join(ROOT_KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => parse_root_key(&text)
            .with_context(|| format!("in {}", path.display()))
            .map(Some),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error).with_context(|| format!("cannot read {}", path.display())),
    }
}

pub fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    if let Some(url) = &args.refresh {
        refresh(&args, url)?;
        if args.pass.is_none() && args.image.is_none() {
            return Ok(ExitCode::SUCCESS);
        }
    }
    let text = match (&args.pass, &args.image) {
        (_, Some(image)) => {
            let png = std::fs::read(image)
                .with_context(|| format!("cannot read the image {}", image.display()))?;
            dprofile_pass::decode_png(&png)
                .with_context(|| format!("no pass read from {}", image.display()))?
        }
        (Some(text), None) if text == "-" => {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                .context("cannot read the pass from standard input")?;
            text
        }
        (Some(text), None) => text.clone(),
        (None, None) => bail!("give a pass: `dprofile verify DP1:…` or `--image pass.png`"),
    };
    let now = match &args.at {
        Some(at) => DateTime::parse_from_rfc3339(at)
            .with_context(|| {
                format!("--at `{at}` is not an RFC 3339 instant (2026-11-25T12:00:00Z)")
            })?
            .to_utc(),
        None => Utc::now(),
    };
    let (trust_list, status_list) = load_lists(&args)?;
    let verdict = dprofile_pass::verify(&text, &trust_list, &status_list, now);
    if args.json {
        print_json(&verdict);
    } else {
        print_verdict(&verdict, &status_list, now);
    }
    Ok(if verdict.is_valid() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn load_lists(args: &VerifyArgs) -> anyhow::Result<(TrustList, StatusListToken)> {
    let root = pinned_root(args)?.context(
        "no root key pinned: run `dprofile verify --refresh URL` once, or give `--root-key`",
    )?;
    let trust_path = args
        .trust_list
        .clone()
        .unwrap_or_else(|| args.cache.join(TRUST_LIST_FILE));
    let status_path = args
        .status_list
        .clone()
        .unwrap_or_else(|| args.cache.join(STATUS_LIST_FILE));
    let trust_bytes = read_cached(&trust_path, "trust list")?;
    let trust_list = TrustList::from_signed(&trust_bytes, &root)
        .with_context(|| format!("cannot use the trust list {}", trust_path.display()))?;
    let status_bytes = read_cached(&status_path, "status list")?;
    let status_list = StatusListToken::from_signed(&status_bytes, &trust_list)
        .with_context(|| format!("cannot use the status list {}", status_path.display()))?;
    Ok((trust_list, status_list))
}

fn read_cached(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| {
        format!(
            "cannot read the {what} {}: run `dprofile verify --refresh URL` while online",
            path.display()
        )
    })
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

fn print_verdict(verdict: &Verdict, status_list: &StatusListToken, now: DateTime<Utc>) {
    if let Some(claims) = verdict.claims() {
        println!("issuer:        {}", claims.issuer);
        println!("view:          {}", claims.view.code());
        println!("issued:        {}", claims.issued_at);
        println!("expires:       {}", claims.expires_at);
        let until = |day: Option<chrono::NaiveDate>| {
            day.map_or_else(|| "no end date".to_owned(), |day| format!("until {day}"))
        };
        let status = &claims.status;
        if status.lawful_stay {
            println!(
                "lawful stay:   yes ({}), {}",
                status.stay_basis.as_deref().unwrap_or("basis not named"),
                until(status.stay_until)
            );
        } else {
            println!("lawful stay:   no");
        }
        if status.right_to_work {
            println!("right to work: yes, {}", until(status.work_until));
        } else {
            println!("right to work: {}", yes_no(false));
        }
        if let Some(identity) = &claims.identity {
            println!("name:          {}", identity.name);
            println!("birth date:    {}", identity.birth_date);
            println!("document:      {}", identity.document_number);
        }
    }
    if now > status_list.expires_at {
        println!(
            "note:          the cached status list is from {}: refresh it when online",
            status_list.issued_at
        );
    }
    match verdict {
        Verdict::Valid(pass) => println!("verdict:       VALID (signed by key {})", pass.key_id),
        Verdict::Rejected(rejection) => {
            println!("verdict:       REJECTED");
            println!("reason:        {}", rejection.reason.code());
            println!("detail:        {}", rejection.detail);
        }
    }
}

fn print_json(verdict: &Verdict) {
    let body = match verdict {
        Verdict::Valid(pass) => serde_json::json!({
            "valid": true, "reason": null, "key_id": pass.key_id, "claims": pass.claims,
        }),
        Verdict::Rejected(rejection) => serde_json::json!({
            "valid": false, "reason": rejection.reason.code(), "detail": rejection.detail,
            "key_id": rejection.key_id, "claims": rejection.claims,
        }),
    };
    println!("{body}");
}

/// Downloads the lists, checks them against the pinned root key, and only then replaces the
/// cached copies: a bad download never overwrites good lists.
fn refresh(args: &VerifyArgs, url: &str) -> anyhow::Result<()> {
    let base = url.trim_end_matches('/').to_owned();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let pinned = pinned_root(args)?;
    let (root_text, trust_bytes, status_bytes) = runtime.block_on(async {
        let client = reqwest::Client::new();
        let fetch = |path: &'static str| {
            let client = client.clone();
            let url = format!("{base}{path}");
            async move {
                let response = client
                    .get(&url)
                    .send()
                    .await
                    .with_context(|| format!("cannot reach {url}"))?;
                if !response.status().is_success() {
                    bail!("{url} answered {}", response.status());
                }
                Ok::<_, anyhow::Error>(response.bytes().await?.to_vec())
            }
        };
        let root_text = if pinned.is_none() {
            let body: serde_json::Value =
                serde_json::from_slice(&fetch("/v1/passes/root-key").await?)
                    .context("the root key answer is not JSON")?;
            Some(
                body["root_key"]
                    .as_str()
                    .context("the root key answer has no `root_key`")?
                    .to_owned(),
            )
        } else {
            None
        };
        let trust = fetch("/v1/passes/trust-list").await?;
        let status = fetch("/v1/passes/status-list").await?;
        Ok::<_, anyhow::Error>((root_text, trust, status))
    })?;
    let root = match (pinned, &root_text) {
        (Some(root), _) => root,
        (None, Some(text)) => parse_root_key(text)?,
        (None, None) => bail!("no root key"),
    };
    let trust_list = TrustList::from_signed(&trust_bytes, &root).context(
        "the downloaded trust list does not verify with the pinned root key: nothing was cached",
    )?;
    let status_list = StatusListToken::from_signed(&status_bytes, &trust_list)
        .context("the downloaded status list does not verify: nothing was cached")?;
    std::fs::create_dir_all(&args.cache)
        .with_context(|| format!("cannot create the cache {}", args.cache.display()))?;
    if let Some(text) = root_text.filter(|_| args.root_key.is_none()) {
        write_file(
            &args.cache.join(ROOT_KEY_FILE),
            format!("{text}\n").as_bytes(),
        )?;
        eprintln!(
            "pinned the registry's root key {} (compare it with the one the registry publishes)",
            dprofile_pass::key_id_of(&root)
        );
    }
    write_file(
        &args
            .trust_list
            .clone()
            .unwrap_or_else(|| args.cache.join(TRUST_LIST_FILE)),
        &trust_bytes,
    )?;
    write_file(
        &args
            .status_list
            .clone()
            .unwrap_or_else(|| args.cache.join(STATUS_LIST_FILE)),
        &status_bytes,
    )?;
    eprintln!(
        "cached {} signer keys and a status list of {} passes from {base}",
        trust_list.keys.len(),
        status_list.list.size()
    );
    Ok(())
}

fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let temporary = path.with_extension("new");
    std::fs::write(&temporary, bytes)
        .and_then(|()| std::fs::rename(&temporary, path))
        .with_context(|| format!("cannot write {}", path.display()))
}
