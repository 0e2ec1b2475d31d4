//! QR passes on one core: issuing (claims to signed `DP1:` text), issuing through the server's
//! `PassService` into a fresh SQLite store (one transaction per pass, as the API does), offline
//! verification against a trust list and a status list, and rendering and reading the QR.

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use dprofile_pass::{
    IdentityClaims, PassClaims, PassSigner, PassView, StatusClaims, StatusList, StatusListToken,
    TrustList, TrustedKey,
};
use dprofile_pipeline::passes::{PassKeyring, PassService};
use dprofile_pipeline::profile::Profile;

fn claims(index: u64, now: DateTime<Utc>) -> PassClaims {
    PassClaims {
        issuer: "dprofile".to_owned(),
        pass_id: index.to_be_bytes().repeat(2),
        issued_at: now,
        expires_at: now + Duration::days(30),
        status_index: index,
        status_list_uri: "urn:dprofile:pass-status:bench".to_owned(),
        view: PassView::StatusIdentity,
        status: StatusClaims {
            lawful_stay: true,
            stay_basis: Some("residence_permit".to_owned()),
            stay_until: NaiveDate::from_ymd_opt(2030, 1, 10),
            right_to_work: true,
            work_until: NaiveDate::from_ymd_opt(2030, 1, 10),
        },
        identity: Some(IdentityClaims {
            name: "ABDULLAYEV RUSTAM SHUKHRATOVICH".to_owned(),
            birth_date: "1991-07-14".to_owned(),
            document_number: "FA1234567".to_owned(),
        }),
    }
}

/// Nanoseconds this thread has run on a CPU (Linux `schedstat`): on a machine shared with
/// other work, wall time undercounts what one core does, CPU time does not.
fn thread_cpu_nanos() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// A phase's clock: wall time and this thread's CPU time.
struct Phase {
    wall: Instant,
    cpu: Option<u64>,
}

fn start() -> Phase {
    Phase {
        wall: Instant::now(),
        cpu: thread_cpu_nanos(),
    }
}

/// "N in S s = R/s (R' per CPU-second)".
fn rate(count: u64, phase: Phase) -> String {
    let seconds = phase.wall.elapsed().as_secs_f64();
    let cpu = match (phase.cpu, thread_cpu_nanos()) {
        (Some(before), Some(after)) if after > before => {
            let cpu_seconds = (after - before) as f64 / 1e9;
            format!(
                ", {:.0}/s per CPU-second ({cpu_seconds:.2} s on CPU)",
                count as f64 / cpu_seconds
            )
        }
        _ => String::new(),
    };
    format!(
        "{count} in {seconds:.2} s = {:.0}/s wall{cpu}",
        count as f64 / seconds
    )
}

pub fn bench(count: u64) -> anyhow::Result<()> {
    let now = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
    let signer = PassSigner::from_seed([7; 32]);

    let started = start();
    let texts: Vec<String> = (0..count)
        .map(|index| dprofile_pass::issue(&claims(index, now), &signer))
        .collect();
    println!(
        "issue (CBOR, COSE_Sign1 Ed25519, zlib, Base45) on one thread: {}; {} characters each",
        rate(count, started),
        texts[0].len()
    );

    let trust_list = TrustList {
        issuer: "dprofile".to_owned(),
        issued_at: now,
        keys: vec![TrustedKey::new(
            signer.verifying_key(),
            now - Duration::days(1),
            None,
        )],
    };
    let mut list = StatusList::with_size(count);
    for index in (0..count).step_by(100) {
        list.revoke(index);
    }
    let status_list = StatusListToken {
        uri: "urn:dprofile:pass-status:bench".to_owned(),
        issued_at: now,
        expires_at: now + Duration::hours(1),
        list,
    };
    let check_at = now + Duration::hours(1);
    let started = start();
    let mut valid = 0u64;
    for text in &texts {
        if dprofile_pass::verify(text, &trust_list, &status_list, check_at).is_valid() {
            valid += 1;
        }
    }
    println!(
        "verify offline (Base45, zlib, COSE, Ed25519, claims, status bit) on one thread: {} ({valid} valid, {} revoked)",
        rate(count, started),
        count - valid
    );

    let service_count = count.min(20_000);
    let directory = tempfile::tempdir()?;
    let store: Arc<dyn dprofile_store::Store> =
        Arc::new(dprofile_store::SqliteStore::open_dir(directory.path())?);
    let service = PassService::new(store, PassKeyring::from_seeds([1; 32], [2; 32], now));
    let profile = Profile {
        person_id: 1,
        created_at: now,
        as_of: None,
        valid_at: None,
        identifiers: vec!["passport:UZB:FA1234567".to_owned()],
        identity: vec![serde_json::json!({
            "names": [{"script": "Latn", "family": "ABDULLAYEV", "given": "RUSTAM"}],
            "birth_date": "1991-07-14"})],
        facts: Default::default(),
    };
    let started = start();
    for _ in 0..service_count {
        service.issue(
            1,
            &profile,
            PassView::StatusIdentity,
            now,
            Duration::days(30),
        )?;
    }
    println!(
        "issue through PassService into SQLite (a transaction per pass): {}",
        rate(service_count, started)
    );
    let started = start();
    let signed_list = service.signed_status_list(now)?;
    println!(
        "status list of {service_count} passes: built and signed in {:.1} ms, {} bytes",
        started.wall.elapsed().as_secs_f64() * 1000.0,
        signed_list.len()
    );

    let qr_count = count.min(500);
    let started = start();
    let mut pngs = Vec::new();
    for text in texts.iter().take(qr_count as usize) {
        pngs.push(dprofile_pass::render_png(text)?);
    }
    println!(
        "render PNG: {}, {} bytes each",
        rate(qr_count, started),
        pngs[0].len()
    );
    let started = start();
    for png in &pngs {
        dprofile_pass::decode_png(png)?;
    }
    println!("read the QR back from the PNG: {}", rate(qr_count, started));
    Ok(())
}
