//! The `dprofile` binary as an operator uses it: real processes, real stores.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use dprofile_store::testing::TestStore;
use serde_json::json;

/// Where a test's store is, as `dprofile` arguments.
struct StoreArgs(Vec<String>);

impl StoreArgs {
    fn of(test_store: &TestStore) -> StoreArgs {
        match (&test_store.database_url, &test_store.data_dir) {
            (Some(url), _) => StoreArgs(vec!["--database-url".to_owned(), url.clone()]),
            (None, Some(dir)) => {
                StoreArgs(vec!["--data-dir".to_owned(), dir.display().to_string()])
            }
            (None, None) => unreachable!("a test store is a directory or a database"),
        }
    }
}

fn dprofile(store: &StoreArgs, arguments: &[&str], environment: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dprofile"));
    command
        .args(&store.0)
        .args(arguments)
        .env_remove("DATABASE_URL")
        .env("DPROFILE_LOG", "warn");
    for (name, value) in environment {
        command.env(name, value);
    }
    command.output().expect("run dprofile")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn tax_line(index: usize) -> String {
    json!({"source": "fns", "source_ref": format!("t-{index}"), "category": "tax_debt",
           "subject": {"names": [{"family": "Karimov"}], "birth_date": "1980",
                       "documents": [{"kind": "passport", "country": "UZB", "number": format!("AB{:07}", index % 40)}]},
           "data": {"balance": index, "as_of": "2026-03-01"}})
    .to_string()
}

fn write_file(directory: &Path, name: &str, lines: &[String]) -> PathBuf {
    let path = directory.join(name);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

fn summary_counts(text: &str) -> Vec<(String, u64)> {
    let line = text
        .lines()
        .find(|line| line.starts_with("ingested"))
        .expect("a summary line");
    let counts = line.split(": ").nth(1).expect("counts after the colon");
    counts
        .split(", ")
        .map(|part| {
            let (name, count) = part.rsplit_once(' ').expect("name and count");
            (name.to_owned(), count.parse().expect("a count"))
        })
        .collect()
}

fn count(counts: &[(String, u64)], name: &str) -> u64 {
    counts
        .iter()
        .find(|(found, _)| found == name)
        .map_or(0, |(_, count)| *count)
}

fn ingest_twice_then_malformed(test_store: TestStore) {
    let store = StoreArgs::of(&test_store);
    let directory = tempfile::tempdir().unwrap();
    let lines: Vec<String> = (0..100).map(tax_line).collect();
    let file = write_file(directory.path(), "batch.ndjson", &lines);
    let first = dprofile(&store, &["ingest", file.to_str().unwrap()], &[]);
    assert!(first.status.success(), "{first:?}");
    let counts = summary_counts(&stdout(&first));
    assert_eq!(count(&counts, "accepted"), 100);
    let second = dprofile(&store, &["ingest", file.to_str().unwrap()], &[]);
    let counts = summary_counts(&stdout(&second));
    assert_eq!(
        (count(&counts, "duplicate"), count(&counts, "accepted")),
        (100, 0)
    );

    let mut mixed: Vec<String> = (100..110).map(tax_line).collect();
    mixed.insert(2, "this is not json".to_owned());
    mixed.insert(
        5,
        json!({"source": "fns", "source_ref": "z", "category": "weather", "data": {}}).to_string(),
    );
    let mixed_file = write_file(directory.path(), "mixed.ndjson", &mixed);
    let output = dprofile(
        &store,
        &["ingest", "--strict", mixed_file.to_str().unwrap()],
        &[],
    );
    assert_eq!(
        output.status.code(),
        Some(2),
        "--strict reports quarantined lines"
    );
    let counts = summary_counts(&stdout(&output));
    assert_eq!(
        (count(&counts, "accepted"), count(&counts, "quarantined")),
        (10, 2)
    );

    let listed = stdout(&dprofile(&store, &["quarantine", "list", "--json"], &[]));
    let items: Vec<serde_json::Value> = listed
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["line_number"], 3);
    assert_eq!(items[0]["violations"][0]["rule"], "json_syntax");
    assert_eq!(items[1]["violations"][0]["pointer"], "/category");
    let id = items[1]["id"].as_i64().unwrap().to_string();
    let shown = stdout(&dprofile(&store, &["quarantine", "show", &id], &[]));
    assert!(shown.contains("weather"), "{shown}");
    let fixed = write_file(directory.path(), "fixed.json", &[tax_line(500)]);
    let replay = dprofile(
        &store,
        &[
            "quarantine",
            "replay",
            &id,
            "--file",
            fixed.to_str().unwrap(),
        ],
        &[],
    );
    assert!(replay.status.success(), "{replay:?}");
    assert!(stdout(&replay).contains("\"outcome\":\"accepted\""));
    let open = stdout(&dprofile(&store, &["quarantine", "list", "--json"], &[]));
    assert_eq!(open.lines().count(), 1);
}

/// Kills the process inside a transaction mid-batch, re-runs the same batch, and compares the
/// store with one clean run of it.
fn killed_mid_batch_then_rerun_equals_one_clean_run(test_store: TestStore) {
    let store = StoreArgs::of(&test_store);
    let directory = tempfile::tempdir().unwrap();
    let lines: Vec<String> = (0..300).map(tax_line).collect();
    let file = write_file(directory.path(), "batch.ndjson", &lines);
    let file = file.to_str().unwrap();
    let killed = dprofile(
        &store,
        &["ingest", "--chunk-size", "64", file],
        &[("DPROFILE_FAILPOINT", "abort-after:150")],
    );
    assert!(!killed.status.success(), "the process was killed");
    let partial = test_store.store.counts().unwrap();
    assert_eq!(
        partial.records, 128,
        "two whole chunks landed, the third died with the process"
    );
    let rerun = dprofile(&store, &["ingest", "--chunk-size", "64", file], &[]);
    assert!(rerun.status.success(), "{rerun:?}");
    let counts = summary_counts(&stdout(&rerun));
    assert_eq!(
        (count(&counts, "duplicate"), count(&counts, "accepted")),
        (128, 172)
    );

    let clean = TestStore::sqlite();
    let clean_run = dprofile(&StoreArgs::of(&clean), &["ingest", file], &[]);
    assert!(clean_run.status.success());
    let (after, expected) = (
        test_store.store.counts().unwrap(),
        clean.store.counts().unwrap(),
    );
    assert_eq!(after, expected);
    let partition = |store: &dyn dprofile_store::Store| {
        let mut groups: std::collections::BTreeMap<i64, Vec<String>> = Default::default();
        store
            .assignments(&mut |_, source_ref, person| {
                groups
                    .entry(person.unwrap())
                    .or_default()
                    .push(source_ref.to_owned())
            })
            .unwrap();
        let mut groups: Vec<Vec<String>> = groups.into_values().collect();
        groups.sort();
        groups
    };
    assert_eq!(
        partition(test_store.store.as_ref()),
        partition(clean.store.as_ref())
    );
}

#[test]
fn ingest_on_sqlite() {
    ingest_twice_then_malformed(TestStore::sqlite());
}

#[test]
fn ingest_on_postgres() {
    if let Some(store) = TestStore::postgres() {
        ingest_twice_then_malformed(store);
    }
}

#[test]
fn crash_safety_on_sqlite() {
    killed_mid_batch_then_rerun_equals_one_clean_run(TestStore::sqlite());
}

#[test]
fn crash_safety_on_postgres() {
    if let Some(store) = TestStore::postgres() {
        killed_mid_batch_then_rerun_equals_one_clean_run(store);
    }
}

#[test]
fn resolve_writes_a_person_for_every_input_line() {
    let directory = tempfile::tempdir().unwrap();
    let mut lines: Vec<String> = (0..80).map(tax_line).collect();
    // resolve reads only source, source_ref and subject: no category or data needed.
    lines.push(json!({"source": "mvd", "source_ref": "m-1", "subject": {"documents": [{"kind": "passport", "country": "UZB", "number": "AB0000001"}]}}).to_string());
    lines.push(
        json!({"source": "mvd", "source_ref": "m-2", "subject": {"birth_date": "1991-02-30"}})
            .to_string(),
    );
    let file = write_file(directory.path(), "batch.ndjson", &lines);
    let out = directory.path().join("assignments.csv");
    let nowhere = StoreArgs(vec![
        "--data-dir".to_owned(),
        directory.path().join("unused").display().to_string(),
    ]);
    let output = dprofile(
        &nowhere,
        &[
            "resolve",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    );
    assert!(output.status.success(), "{output:?}");
    let csv = std::fs::read_to_string(&out).unwrap();
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|line| line.split(',').collect())
        .collect();
    assert_eq!(csv.lines().next(), Some("source,source_ref,person"));
    assert_eq!(rows.len(), 82);
    let person_of =
        |source_ref: &str| rows.iter().find(|row| row[1] == source_ref).unwrap()[2].to_owned();
    // t-1 and t-41 share passport AB0000001, and so does the subject-only line m-1.
    assert_eq!(person_of("t-1"), person_of("t-41"));
    assert_eq!(person_of("t-1"), person_of("m-1"));
    assert_ne!(person_of("t-1"), person_of("t-2"));
    let distinct: std::collections::HashSet<&str> = rows.iter().map(|row| row[2]).collect();
    assert_eq!(
        distinct.len(),
        41,
        "40 passports and one refused subject standing alone"
    );
}

/// `dprofile resolve --model` on a whole file and `dprofile ingest --model` of the same file
/// in shuffled order, chunk by chunk, give the same persons (issue 3).
fn resolve_and_ingest_with_one_model_agree(test_store: TestStore) {
    let directory = tempfile::tempdir().unwrap();
    let mut synth = dprofile_synth::SynthConfig::new(30, 4);
    synth.namesake_share = 0.15;
    synth.passport_renewal_share = 0.3;
    // `resolve` reads a withdrawn key by its last subject, ingest resolves only what is in
    // force: without retractions the two read the same records.
    synth.retraction_rate = 0.0;
    let mut lines = Vec::new();
    dprofile_synth::generate(&synth, |record| lines.push(record.line));
    let file = write_file(directory.path(), "population.ndjson", &lines);
    let model = directory.path().join("model.json");
    let out = directory.path().join("assignments.csv");
    let nowhere = StoreArgs(vec![
        "--data-dir".to_owned(),
        directory.path().join("unused").display().to_string(),
    ]);
    let path = |path: &Path| path.to_str().unwrap().to_owned();
    let fit = dprofile(
        &nowhere,
        &[
            "resolve",
            &path(&file),
            "--out",
            &path(&directory.path().join("fitted.csv")),
            "--save-model",
            &path(&model),
        ],
        &[],
    );
    assert!(fit.status.success(), "{fit:?}");
    let batch = dprofile(
        &nowhere,
        &[
            "resolve",
            &path(&file),
            "--out",
            &path(&out),
            "--model",
            &path(&model),
        ],
        &[],
    );
    assert!(batch.status.success(), "{batch:?}");
    let csv = std::fs::read_to_string(&out).unwrap();
    let mut batch_person: std::collections::BTreeMap<(String, String), String> =
        std::collections::BTreeMap::new();
    for line in csv.lines().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        batch_person.insert(
            (fields[0].to_owned(), fields[1].to_owned()),
            fields[2].to_owned(),
        );
    }

    lines.reverse();
    let reversed = write_file(directory.path(), "reversed.ndjson", &lines);
    let store = StoreArgs::of(&test_store);
    let ingest = dprofile(
        &store,
        &[
            "ingest",
            &path(&reversed),
            "--chunk-size",
            "7",
            "--model",
            &path(&model),
        ],
        &[],
    );
    assert!(ingest.status.success(), "{ingest:?}");
    assert!(
        String::from_utf8_lossy(&ingest.stderr).contains("linking: probabilistic"),
        "{ingest:?}"
    );
    let mut ingest_person: std::collections::BTreeMap<(String, String), i64> =
        std::collections::BTreeMap::new();
    test_store
        .store
        .assignments(&mut |source, source_ref, person| {
            ingest_person.insert((source.to_owned(), source_ref.to_owned()), person.unwrap());
        })
        .unwrap();
    // Partitions up to person ids: two keys share a batch person exactly when they share a
    // stored person.
    let keys: Vec<&(String, String)> = ingest_person.keys().collect();
    assert_eq!(keys.len(), batch_person.len(), "every key was stored");
    let mut groups = 0;
    for (index, left) in keys.iter().enumerate() {
        for right in &keys[index + 1..] {
            let batch_same = batch_person[*left] == batch_person[*right];
            let ingest_same = ingest_person[*left] == ingest_person[*right];
            assert_eq!(batch_same, ingest_same, "{left:?} and {right:?}");
            groups += usize::from(batch_same);
        }
    }
    assert!(groups > 0, "the population links records");
}

#[test]
fn resolve_and_ingest_with_one_model_agree_on_sqlite() {
    resolve_and_ingest_with_one_model_agree(TestStore::sqlite());
}

#[test]
fn resolve_and_ingest_with_one_model_agree_on_postgres() {
    if let Some(store) = TestStore::postgres() {
        resolve_and_ingest_with_one_model_agree(store);
    }
}

/// `apikey create` prints the token once (only its hash is stored), `list` shows the key
/// without it, `revoke` stamps it, and a role the policy does not give the agency is refused
/// with what to do.
#[test]
fn apikey_create_list_revoke() {
    let test_store = TestStore::sqlite();
    let store = StoreArgs::of(&test_store);
    let created = dprofile(
        &store,
        &[
            "apikey",
            "create",
            "--agency",
            "fns",
            "--role",
            "tax_inspector",
            "--name",
            "fns batch",
        ],
        &[],
    );
    assert!(created.status.success(), "{created:?}");
    let token = stdout(&created).trim().to_owned();
    assert!(token.starts_with("dpk_") && token.len() == 68, "{token}");
    let key = test_store
        .store
        .api_key_by_hash(&dprofile_pipeline::api_keys::token_hash(&token))
        .unwrap()
        .expect("the key is stored by its hash");

    let listed = stdout(&dprofile(&store, &["apikey", "list"], &[]));
    assert!(
        listed.contains("fns batch") && listed.contains("tax_inspector"),
        "{listed}"
    );
    assert!(!listed.contains(&token), "the token is never shown again");

    let revoked = dprofile(&store, &["apikey", "revoke", &key.id.to_string()], &[]);
    assert!(revoked.status.success(), "{revoked:?}");
    assert!(
        dprofile_pipeline::api_keys::authenticate(test_store.store.as_ref(), &token)
            .unwrap()
            .is_none()
    );
    let unknown = dprofile(&store, &["apikey", "revoke", "999"], &[]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("apikey list"));

    let wrong_agency = dprofile(
        &store,
        &[
            "apikey",
            "create",
            "--agency",
            "gibdd",
            "--role",
            "tax_inspector",
            "--name",
            "x",
        ],
        &[],
    );
    assert!(!wrong_agency.status.success());
    let message = String::from_utf8_lossy(&wrong_agency.stderr).into_owned();
    assert!(
        message.contains("gibdd") && message.contains("fns"),
        "{message}"
    );
}

/// `dprofile` with `input` on standard input.
fn dprofile_with_input(store: &StoreArgs, arguments: &[&str], input: &str) -> Output {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_dprofile"))
        .args(&store.0)
        .args(arguments)
        .env_remove("DATABASE_URL")
        .env("DPROFILE_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run dprofile");
    child
        .stdin
        .take()
        .expect("a stdin")
        .write_all(input.as_bytes())
        .expect("the password is written");
    child.wait_with_output().expect("dprofile ends")
}

fn officer_signs_in(test_store: &TestStore, login: &str, password: &str) -> bool {
    match dprofile_pipeline::officers::sign_in(
        test_store.store.as_ref(),
        &dprofile_pipeline::officers::OfficerAuthConfig::default(),
        login,
        password,
        chrono::Utc::now(),
    ) {
        Ok(session) => {
            assert!(session.token.starts_with("dpo_"));
            true
        }
        Err(dprofile_pipeline::officers::OfficerError::SignInRefused) => false,
        Err(other) => panic!("sign-in failed: {other}"),
    }
}

fn arguments(list: &[String]) -> Vec<&str> {
    list.iter().map(String::as_str).collect()
}

/// `officer create` takes the password from standard input (refusing weak ones with the rule
/// broken) or generates one and prints it once; the officer then signs in. `list` shows the
/// account without any password, `disable` stops sign-ins, `set-password` replaces it.
#[test]
fn officer_create_sign_in_list_disable_set_password() {
    let test_store = TestStore::sqlite();
    let store = StoreArgs::of(&test_store);
    let create = |login: &str| {
        vec![
            "officer".to_owned(),
            "create".to_owned(),
            "--login".to_owned(),
            login.to_owned(),
            "--agency".to_owned(),
            "mvd-migration".to_owned(),
            "--role".to_owned(),
            "migration_officer".to_owned(),
        ]
    };
    let with_stdin = |login: &str| {
        let mut arguments = create(login);
        arguments.push("--password-stdin".to_owned());
        arguments
    };

    for (password, expected) in [
        ("short one", "at least 12"),
        ("i.petrova", "at least 12"),
        ("I.Petrova.Long", "not valid"),
    ] {
        let login = if expected == "not valid" {
            "I.Petrova.Long"
        } else {
            "i.petrova"
        };
        let refused = dprofile_with_input(&store, &arguments(&with_stdin(login)), password);
        assert!(!refused.status.success());
        let message = String::from_utf8_lossy(&refused.stderr).into_owned();
        assert!(message.contains(expected), "{message}");
    }
    let equal = dprofile_with_input(
        &store,
        &arguments(&with_stdin("i.petrova.long")),
        "i.petrova.long\n",
    );
    let message = String::from_utf8_lossy(&equal.stderr).into_owned();
    assert!(message.contains("password is the login"), "{message}");
    let mut wrong_role = create("i.petrova");
    wrong_role[7] = "tax_inspector".to_owned();
    let refused = dprofile(&store, &arguments(&wrong_role), &[]);
    let message = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert!(
        message.contains("mvd-migration") && message.contains("fns"),
        "{message}"
    );
    assert!(test_store.store.officers().unwrap().is_empty());

    let created = dprofile_with_input(
        &store,
        &arguments(&with_stdin("i.petrova")),
        "a long passphrase of mine\n",
    );
    assert!(created.status.success(), "{created:?}");
    assert!(
        stdout(&created).is_empty(),
        "a given password is not echoed"
    );
    assert!(officer_signs_in(
        &test_store,
        "i.petrova",
        "a long passphrase of mine"
    ));
    assert!(!officer_signs_in(
        &test_store,
        "i.petrova",
        "another passphrase"
    ));
    let taken = dprofile_with_input(
        &store,
        &arguments(&with_stdin("i.petrova")),
        "a long passphrase of mine\n",
    );
    assert!(String::from_utf8_lossy(&taken.stderr).contains("is taken"));

    let generated = dprofile(&store, &arguments(&create("a.sidorov")), &[]);
    assert!(generated.status.success(), "{generated:?}");
    let password = stdout(&generated).trim().to_owned();
    assert_eq!(password.chars().count(), 20, "{password}");
    assert!(officer_signs_in(&test_store, "a.sidorov", &password));

    let listed = stdout(&dprofile(&store, &["officer", "list"], &[]));
    assert!(
        listed.contains("i.petrova") && listed.contains("a.sidorov"),
        "{listed}"
    );
    assert!(!listed.contains(&password) && !listed.contains("argon2"));

    let disabled = dprofile(&store, &["officer", "disable", "a.sidorov"], &[]);
    assert!(disabled.status.success(), "{disabled:?}");
    assert!(!officer_signs_in(&test_store, "a.sidorov", &password));
    assert!(stdout(&dprofile(&store, &["officer", "list"], &[])).contains("disabled"));
    let unknown = dprofile(&store, &["officer", "disable", "nobody"], &[]);
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("officer list"));

    let changed = dprofile_with_input(
        &store,
        &["officer", "set-password", "i.petrova", "--password-stdin"],
        "a brand new passphrase\n",
    );
    assert!(changed.status.success(), "{changed:?}");
    assert!(officer_signs_in(
        &test_store,
        "i.petrova",
        "a brand new passphrase"
    ));
    assert!(!officer_signs_in(
        &test_store,
        "i.petrova",
        "a long passphrase of mine"
    ));
}

/// `retention run --dry-run` prints what would be erased (per category) and erases nothing; the
/// real run erases it with a tombstone per person, `audit verify` still passes, and a second
/// run erases nothing.
fn retention_run_dry_then_real(test_store: TestStore) {
    let store = StoreArgs::of(&test_store);
    let directory = tempfile::tempdir().unwrap();
    let key_file = directory.path().join("access-log.key");
    let key_file = key_file.display().to_string();
    let lines: Vec<String> = (0..100).map(tax_line).collect();
    let input = write_file(directory.path(), "tax.ndjson", &lines);
    let ingested = dprofile(&store, &["ingest", &input.display().to_string()], &[]);
    assert!(ingested.status.success(), "{ingested:?}");
    let records = test_store.store.counts().unwrap().records;
    assert_eq!(records, 100);

    let run = |extra: &[&str], now: &str| -> serde_json::Value {
        let mut arguments = vec!["retention", "run", "--key-file", &key_file, "--now", now];
        arguments.extend_from_slice(extra);
        let output = dprofile(&store, &arguments, &[]);
        assert!(output.status.success(), "{output:?}");
        serde_json::from_str(&stdout(&output)).expect("a JSON report")
    };
    // Tax records without `valid_to` are kept five years after they were received.
    let soon = (chrono::Utc::now() + chrono::Duration::days(365)).to_rfc3339();
    let later = (chrono::Utc::now() + chrono::Duration::days(6 * 366)).to_rfc3339();
    let nothing_yet = run(&["--dry-run"], &soon);
    assert_eq!(nothing_yet["categories"], json!({}));

    let dry = run(&["--dry-run"], &later);
    assert_eq!(dry["dry_run"], json!(true));
    assert_eq!(dry["persons_examined"], json!(40));
    assert_eq!(
        dry["categories"],
        json!({"tax_debt": {"keys": 100, "versions": 100}})
    );
    assert_eq!(dry["persons_removed"], json!(40));
    assert_eq!(dry["tombstones"], json!(40));
    assert_eq!(
        test_store.store.counts().unwrap().records,
        100,
        "a dry run erases nothing"
    );
    assert_eq!(
        test_store.store.access_head().unwrap(),
        None,
        "nor logs anything"
    );

    let real = run(&[], &later);
    assert_eq!(real["dry_run"], json!(false));
    assert_eq!(real["categories"], dry["categories"]);
    let counts = test_store.store.counts().unwrap();
    assert_eq!(
        (counts.records, counts.persons, counts.record_keys),
        (0, 0, 0)
    );

    let verified = dprofile(&store, &["audit", "verify", "--key-file", &key_file], &[]);
    assert!(verified.status.success(), "{verified:?}");
    assert!(
        stdout(&verified).contains("40 entries"),
        "{}",
        stdout(&verified)
    );

    let again = run(&[], &later);
    assert_eq!(again["categories"], json!({}));
    assert_eq!(again["tombstones"], json!(0));
}

#[test]
fn retention_run_on_sqlite() {
    retention_run_dry_then_real(TestStore::sqlite());
}

#[test]
fn retention_run_on_postgres() {
    if let Some(test_store) = TestStore::postgres() {
        retention_run_dry_then_real(test_store);
    }
}

/// A schedule with a mistake is refused before anything runs, naming the key, the rule and
/// what to write instead.
#[test]
fn retention_schedule_errors_name_the_key() {
    let test_store = TestStore::sqlite();
    let store = StoreArgs::of(&test_store);
    let directory = tempfile::tempdir().unwrap();
    let schedule = directory.path().join("retention.toml");
    std::fs::write(
        &schedule,
        dprofile_pipeline::retention::DEFAULT_SCHEDULE.replace("years = 10", "years = 0"),
    )
    .unwrap();
    let schedule = schedule.display().to_string();
    for arguments in [
        vec!["retention", "check", "--schedule", &schedule],
        vec!["retention", "run", "--dry-run", "--schedule", &schedule],
    ] {
        let output = dprofile(&store, &arguments, &[]);
        assert!(!output.status.success());
        let message = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(
            message.contains("categories.education_document.years")
                && message.contains("retention.years_range")
                && message.contains("1 to 100"),
            "{message}"
        );
    }
    let checked = dprofile(&store, &["retention", "check"], &[]);
    assert!(checked.status.success(), "{checked:?}");
    assert!(stdout(&checked).contains("\"border_crossing\""));
}

#[test]
fn corrections_list_shows_an_agency_queue_without_the_persons_texts() {
    let test_store = TestStore::sqlite();
    let store = StoreArgs::of(&test_store);
    let directory = tempfile::tempdir().unwrap();
    let file = write_file(directory.path(), "tax.ndjson", &[tax_line(1)]);
    let ingested = dprofile(&store, &["ingest", file.to_str().unwrap()], &[]);
    assert!(ingested.status.success(), "{ingested:?}");
    let person = test_store
        .store
        .find_by_identifier(None, "AB0000001")
        .unwrap()[0];
    let record_id = test_store.store.person_versions(person).unwrap()[0].record_id;
    let desk = dprofile_pipeline::corrections::CorrectionDesk {
        store: test_store.store.as_ref(),
        config: &dprofile_pipeline::corrections::CorrectionConfig::default(),
    };
    let filed = desk
        .file(
            person,
            &dprofile_pipeline::corrections::Filing {
                cited: dprofile_pipeline::corrections::CitedRecord::Id(record_id),
                fields: vec!["/data/balance".to_owned()],
                explanation: "a private explanation".to_owned(),
            },
            &dprofile_pipeline::corrections::Accessor {
                actor: format!("person:{person}"),
                agency: "person".to_owned(),
                role: "person".to_owned(),
                purpose: "correction_request".to_owned(),
                disclosure_delay_days: 0,
            },
            chrono::Utc::now(),
        )
        .unwrap();

    let listed = dprofile(
        &store,
        &["corrections", "list", "--agency", "fns", "--status", "open"],
        &[],
    );
    assert!(listed.status.success(), "{listed:?}");
    let text = stdout(&listed);
    let line = text
        .lines()
        .find(|line| line.starts_with(&format!("{}\t", filed.id)))
        .unwrap_or_else(|| panic!("the request is listed: {text}"));
    assert!(
        line.contains("\tfns\tt-1\t1\t") && line.ends_with("\topen"),
        "{line}"
    );
    assert!(!text.contains("private explanation"), "{text}");
    for (agency, status) in [("gibdd", "open"), ("fns", "overdue"), ("fns", "rejected")] {
        let other = stdout(&dprofile(
            &store,
            &[
                "corrections",
                "list",
                "--agency",
                agency,
                "--status",
                status,
            ],
            &[],
        ));
        assert_eq!(
            other.lines().count(),
            1,
            "{agency} {status}: only the header: {other}"
        );
    }
}

/// A webhook receiver on port 0 that counts the requests per idempotency key; each answer
/// takes a little while, so a batch is still being delivered when the test kills the server.
struct CountingReceiver {
    url: String,
    counts: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, u32>>>,
}

impl CountingReceiver {
    fn start() -> CountingReceiver {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        let counts = std::sync::Arc::new(std::sync::Mutex::new(std::collections::HashMap::new()));
        let thread_counts = counts.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let (mut key, mut length) = (String::new(), 0usize);
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((name, value)) = line.trim_end().split_once(": ") {
                        match name.to_ascii_lowercase().as_str() {
                            "idempotency-key" => key = value.to_owned(),
                            "content-length" => length = value.parse().unwrap_or(0),
                            _ => {}
                        }
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                std::thread::sleep(std::time::Duration::from_millis(20));
                *thread_counts.lock().unwrap().entry(key).or_insert(0) += 1;
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        });
        CountingReceiver { url, counts }
    }

    fn keys(&self) -> std::collections::HashMap<String, u32> {
        self.counts.lock().unwrap().clone()
    }
}

/// `dprofile serve` on port 0, its address read from what it prints.
fn start_serve(store: &StoreArgs, data_dir: &Path) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_dprofile"))
        .args(&store.0)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--key-file",
            &data_dir.join("access-log.key").display().to_string(),
            "--pass-key-file",
            &data_dir.join("pass-keys.json").display().to_string(),
        ])
        .env_remove("DATABASE_URL")
        .env("DPROFILE_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start dprofile serve");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = lines.next().expect("serve prints").expect("a line");
    let address = first
        .split("http://")
        .nth(1)
        .expect("the address")
        .trim_end_matches('/')
        .to_owned();
    // Keep reading so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, address)
}

fn migration_lines(from: usize, to: usize) -> Vec<String> {
    (from..to)
        .map(|index| {
            json!({"source": "mvd-migration", "source_ref": format!("rp-{index}"),
                   "category": "stay_document", "valid_from": "2025-03-01", "valid_to": "2030-02-28",
                   "subject": {"names": [{"family": "Karimov"}], "birth_date": "1980",
                               "documents": [{"kind": "passport", "country": "UZB", "number": format!("AB{:07}", index)}]},
                   "data": {"kind": "residence_permit", "number": format!("82 {index:07}"),
                            "issued_on": "2025-03-01", "expires_on": "2030-02-28"}})
            .to_string()
        })
        .collect()
}

/// Acceptance 1 of issue 7: the server is killed (SIGKILL) while it delivers, and more changes
/// commit while it is down; after a restart the receiver has every event, and counting by
/// idempotency key each is one event (a request may repeat: at least once, never lost).
fn killing_the_server_between_commit_and_delivery_loses_no_event(test_store: TestStore) {
    let store = StoreArgs::of(&test_store);
    let directory = tempfile::tempdir().unwrap();
    let receiver = CountingReceiver::start();
    let created = dprofile(
        &store,
        &[
            "subscriptions",
            "create",
            "--agency",
            "mvd-migration",
            "--role",
            "migration_officer",
            "--purpose",
            "stay_control",
            "--webhook-url",
            &receiver.url,
        ],
        &[],
    );
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let created: serde_json::Value = serde_json::from_str(stdout(&created).trim()).unwrap();
    assert!(created["secret"].as_str().unwrap().starts_with("whsec_"));
    let (mut server, _address) = start_serve(&store, directory.path());
    let first = write_file(directory.path(), "first.ndjson", &migration_lines(0, 30));
    let ingested = dprofile(&store, &["ingest", &first.display().to_string()], &[]);
    assert!(
        ingested.status.success(),
        "{}",
        String::from_utf8_lossy(&ingested.stderr)
    );
    // Kill it mid-delivery: some events sent, the rest committed and waiting.
    let started = std::time::Instant::now();
    while receiver.keys().len() < 5 {
        assert!(
            started.elapsed().as_secs() < 60,
            "the server delivers nothing"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    server.kill().expect("SIGKILL the server");
    server.wait().unwrap();
    let events = test_store.store.events_head().unwrap();
    assert!(
        (receiver.keys().len() as i64) < events,
        "killed before the end of the delivery"
    );
    // Changes committed while no server runs.
    let second = write_file(directory.path(), "second.ndjson", &migration_lines(30, 40));
    assert!(
        dprofile(&store, &["ingest", &second.display().to_string()], &[])
            .status
            .success()
    );
    let (mut server, _address) = start_serve(&store, directory.path());
    let all: Vec<String> = test_store
        .store
        .events_after(0, 100_000)
        .unwrap()
        .into_iter()
        .map(|event| event.event_id)
        .collect();
    let started = std::time::Instant::now();
    while receiver.keys().len() < all.len() && started.elapsed().as_secs() < 120 {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    server.kill().unwrap();
    server.wait().unwrap();
    let keys = receiver.keys();
    let mut received: Vec<&String> = keys.keys().collect();
    received.sort_unstable();
    let mut expected: Vec<&String> = all.iter().collect();
    expected.sort_unstable();
    assert_eq!(
        received, expected,
        "every committed event, each once by its key"
    );
    // At least once: what was delivered but not yet noted as delivered when the server died
    // (rows are deleted 100 at a time) is sent again with the same key, which the receiver
    // counts as the same event; nothing else repeats.
    let repeated = keys.values().filter(|count| **count > 1).count();
    assert!(
        repeated <= 100,
        "{repeated} events were sent more than once"
    );
    assert!(keys.values().all(|count| *count <= 2));
}

#[test]
fn crash_between_commit_and_delivery_on_sqlite() {
    killing_the_server_between_commit_and_delivery_loses_no_event(TestStore::sqlite());
}

#[test]
fn crash_between_commit_and_delivery_on_postgres() {
    if let Some(store) = TestStore::postgres() {
        killing_the_server_between_commit_and_delivery_loses_no_event(store);
    }
}

#[test]
fn subscriptions_and_the_daily_events_job_from_the_command_line() {
    let test_store = TestStore::sqlite();
    let store = StoreArgs::of(&test_store);
    let directory = tempfile::tempdir().unwrap();
    // A permit whose last day is within the horizon of the day given.
    let lines = migration_lines(0, 2);
    let file = write_file(directory.path(), "permits.ndjson", &lines);
    assert!(
        dprofile(&store, &["ingest", &file.display().to_string()], &[])
            .status
            .success()
    );
    let daily = |today: &str| -> serde_json::Value {
        let output = dprofile(
            &store,
            &["events", "daily", "--today", today, "--days", "30"],
            &[],
        );
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_str(stdout(&output).trim()).unwrap()
    };
    assert_eq!(daily("2030-02-10")["expiring_events"], 2);
    assert_eq!(daily("2030-02-10")["expiring_events"], 0, "written once");
    let bad = dprofile(&store, &["events", "daily", "--today", "10.02.2030"], &[]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--today"));
    // A role that may not read a category is refused, naming it.
    let refused = dprofile(
        &store,
        &[
            "subscriptions",
            "create",
            "--agency",
            "fns",
            "--role",
            "tax_inspector",
            "--purpose",
            "tax_administration",
            "--categories",
            "tax_debt,entry_ban",
        ],
        &[],
    );
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("/categories/1") && message.contains("entry_ban"),
        "{message}"
    );
    let created = dprofile(
        &store,
        &[
            "subscriptions",
            "create",
            "--agency",
            "fns",
            "--role",
            "tax_inspector",
            "--purpose",
            "tax_administration",
            "--webhook-url",
            "http://127.0.0.1:9/hook",
        ],
        &[],
    );
    assert!(created.status.success());
    let id = serde_json::from_str::<serde_json::Value>(stdout(&created).trim()).unwrap()["id"]
        .to_string();
    let listed = stdout(&dprofile(&store, &["subscriptions", "list"], &[]));
    assert!(
        listed
            .lines()
            .any(|line| line.starts_with(&format!("{id}\tfns\ttax_inspector"))),
        "{listed}"
    );
    let shown: serde_json::Value = serde_json::from_str(&stdout(&dprofile(
        &store,
        &["subscriptions", "show", &id],
        &[],
    )))
    .unwrap();
    assert_eq!(shown["dead"], json!([]));
    assert_eq!(shown["subscription"]["agency"], "fns");
    let replay = dprofile(
        &store,
        &["subscriptions", "replay", &id, "--cursor", "7"],
        &[],
    );
    assert!(!replay.status.success());
    assert!(String::from_utf8_lossy(&replay.stderr).contains("--cursor"));
    assert!(
        dprofile(&store, &["subscriptions", "delete", &id], &[])
            .status
            .success()
    );
    assert!(
        !dprofile(&store, &["subscriptions", "delete", &id], &[])
            .status
            .success()
    );
}
