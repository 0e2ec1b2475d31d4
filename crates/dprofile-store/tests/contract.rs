//! The storage contract: every backend passes the same tests (Quickwit's metastore pattern).

use chrono::{TimeZone, Utc};
use dprofile_domain::Action;
use dprofile_domain::linking::{KeyKind, StrongKey};
use dprofile_store::testing::TestStore;
use dprofile_store::{
    IdentifierRow, KeyState, KeyWrite, LinkDecision, NewQuarantine, NewRecord, NewReviewItem,
    Outcome, QuarantineStatus, Store, StoreError,
};

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap()
}

fn record(id: i64, key_id: i64, source_ref: &str, person: Option<i64>) -> NewRecord<'static> {
    NewRecord {
        id,
        key_id,
        source: "fns",
        source_ref: source_ref.to_owned().leak(),
        revision: 1,
        action: Action::Upsert,
        category: Some("tax_debt"),
        received_at: now(),
        observed_at: Some(now()),
        valid_from: chrono::NaiveDate::from_ymd_opt(2026, 3, 1),
        valid_to: None,
        content_hash: [7; 32],
        raw: format!("{{\"source_ref\":\"{source_ref}\"}}")
            .into_bytes()
            .leak(),
        warnings: None,
        outcome: Outcome::Accepted,
        person_id: person,
    }
}

fn state(key_id: Option<i64>, source_ref: &str, person: i64, record_id: i64) -> KeyWrite<'_> {
    KeyWrite {
        key_id,
        source: "fns",
        source_ref,
        person_id: Some(person),
        record_id,
        revision: 1,
        action: Action::Upsert,
    }
}

fn passport(number: &str) -> StrongKey {
    StrongKey::new(KeyKind::Passport, format!("UZB:{number}"))
}

/// Writes one person with one record and a passport; returns (person, record).
fn seed(store: &dyn Store, source_ref: &str, number: &str) -> (i64, i64) {
    let mut ids = (0, 0);
    store
        .write(&mut |tx| {
            let person = tx.create_persons(1, now())?[0];
            let record_id = tx.reserve_record_ids(1)?[0];
            let key_id = tx.upsert_keys(&[state(None, source_ref, person, record_id)])?[0];
            tx.insert_records(&[record(record_id, key_id, source_ref, Some(person))])?;
            tx.insert_identifiers(&[IdentifierRow {
                key: passport(number),
                person_id: person,
            }])?;
            tx.insert_name_keys(&[("abdulaev", 1991, person), ("rustam", 1991, person)])?;
            ids = (person, record_id);
            Ok(())
        })
        .unwrap();
    ids
}

fn written_rows_read_back(store: &dyn Store) {
    let (person, record_id) = seed(store, "r-1", "FA1234567");
    let versions = store.person_versions(person).unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0].record_id, record_id);
    assert_eq!(versions[0].raw, b"{\"source_ref\":\"r-1\"}");
    assert_eq!(versions[0].received_at, now());
    assert_eq!(store.person(person).unwrap().unwrap().created_at, now());
    store
        .write(&mut |tx| {
            let states = tx.load_keys(&[("fns", "r-1"), ("fns", "absent")])?;
            assert_eq!(states.len(), 2);
            assert!(states[1].is_none(), "an unknown key has no state");
            let loaded = states[0].as_ref().expect("a stored key has a state");
            let key_id = loaded.key_id.expect("a stored key has an id");
            assert_eq!(
                loaded,
                &KeyState {
                    key_id: Some(key_id),
                    person_id: Some(person),
                    record_id,
                    revision: 1,
                    action: Action::Upsert,
                    content_hash: [7; 32]
                }
            );
            assert_eq!(
                tx.load_version_hash(key_id, 1, Action::Upsert)?,
                Some([7; 32])
            );
            assert_eq!(tx.load_version_hash(key_id, 2, Action::Upsert)?, None);
            // Reserved ids continue after the stored ones.
            assert!(tx.reserve_record_ids(2)?.iter().all(|id| *id > record_id));
            let found = tx.load_identifiers(&[passport("FA1234567"), passport("NOPE")])?;
            assert_eq!(found.len(), 1);
            Ok(())
        })
        .unwrap();
    assert_eq!(
        store.person_identifiers(person).unwrap(),
        [passport("FA1234567")]
    );
    let counts = store.counts().unwrap();
    assert_eq!(
        (counts.persons, counts.records, counts.record_keys),
        (1, 1, 1)
    );
}

fn a_failed_write_leaves_nothing(store: &dyn Store) {
    let result = store.write(&mut |tx| {
        let person = tx.create_persons(1, now())?[0];
        let id = tx.reserve_record_ids(1)?[0];
        let key_id = tx.upsert_keys(&[state(None, "r-1", person, id)])?[0];
        tx.insert_records(&[record(id, key_id, "r-1", Some(person))])?;
        Err(StoreError::Aborted("test".to_owned()))
    });
    assert!(matches!(result, Err(StoreError::Aborted(_))));
    assert_eq!(store.counts().unwrap(), Default::default());
}

fn identifiers_keep_their_first_holder(store: &dyn Store) {
    let (first, _) = seed(store, "r-1", "FA1234567");
    store
        .write(&mut |tx| {
            let other = tx.create_persons(1, now())?[0];
            tx.insert_identifiers(&[IdentifierRow {
                key: passport("FA1234567"),
                person_id: other,
            }])?;
            Ok(())
        })
        .unwrap();
    assert_eq!(
        store
            .find_by_identifier(Some(KeyKind::Passport), "FA1234567")
            .unwrap(),
        [first]
    );
    assert_eq!(
        store.find_by_identifier(None, "FA1234567").unwrap(),
        [first]
    );
    assert!(
        store
            .find_by_identifier(Some(KeyKind::Snils), "FA1234567")
            .unwrap()
            .is_empty()
    );
}

fn persons_are_created_in_ascending_order(store: &dyn Store) {
    store
        .write(&mut |tx| {
            let ids = tx.create_persons(5, now())?;
            assert_eq!(ids.len(), 5);
            assert!(ids.windows(2).all(|pair| pair[0] < pair[1]));
            assert!(tx.create_persons(0, now())?.is_empty());
            Ok(())
        })
        .unwrap();
}

fn merge_moves_everything_and_leaves_a_pointer(store: &dyn Store) {
    let (first, _) = seed(store, "r-1", "FA1234567");
    let (second, _) = seed(store, "r-2", "FB7654321");
    let mut moves = dprofile_store::MergeMoves::default();
    let mut decision_id = 0;
    store
        .write(&mut |tx| {
            moves = tx.merge_persons(second, first)?;
            decision_id = tx.insert_decisions(&[LinkDecision {
                id: 0,
                kind: "merge".to_owned(),
                person_id: first,
                other_person_id: Some(second),
                record_id: None,
                actor: "test".to_owned(),
                reason: "same".to_owned(),
                evidence: serde_json::json!({"why": "test"}),
                decided_at: now(),
            }])?[0];
            Ok(())
        })
        .unwrap();
    assert_eq!(moves.key_ids.len(), 1);
    assert_eq!(
        moves.identifiers,
        [("passport".to_owned(), "UZB:FB7654321".to_owned())]
    );
    // Both persons had the same two name keys: they moved, none was new to the survivor.
    assert_eq!(moves.name_keys_moved.len(), 2);
    assert!(moves.name_keys_added.is_empty());
    assert_eq!(
        store.person(second).unwrap().unwrap().merged_into,
        Some(first)
    );
    assert_eq!(store.person_versions(first).unwrap().len(), 2);
    assert!(store.person_versions(second).unwrap().is_empty());
    assert_eq!(store.person_identifiers(first).unwrap().len(), 2);
    assert_eq!(
        store.find_by_name(&["abdulaev".to_owned()], 1991).unwrap(),
        [first]
    );
    let history = store.person_decisions(second).unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].id, decision_id);
    assert_eq!(history[0].evidence, serde_json::json!({"why": "test"}));
    assert_eq!(store.decision(decision_id).unwrap().unwrap(), history[0]);
    assert_eq!(store.counts().unwrap().persons, 1);

    // Undoing the merge puts every row back.
    store
        .write(&mut |tx| {
            tx.unmerge_persons(second, first, &moves)?;
            tx.add_cannot_link(second, first, decision_id)?;
            tx.add_cannot_link(first, second, decision_id)?;
            assert_eq!(
                tx.cannot_links(&[first, second, 999])?,
                [(first.min(second), first.max(second))]
            );
            assert!(tx.cannot_links(&[first])?.is_empty());
            Ok(())
        })
        .unwrap();
    assert!(store.person(second).unwrap().unwrap().merged_into.is_none());
    assert_eq!(store.person_versions(first).unwrap().len(), 1);
    assert_eq!(store.person_versions(second).unwrap().len(), 1);
    assert_eq!(
        store.person_identifiers(second).unwrap(),
        [passport("FB7654321")]
    );
    assert_eq!(
        store.find_by_name(&["abdulaev".to_owned()], 1991).unwrap(),
        [first, second]
    );
}

fn name_search_needs_every_key(store: &dyn Store) {
    let (person, _) = seed(store, "r-1", "FA1234567");
    let keys = |words: &[&str]| {
        words
            .iter()
            .map(|word| (*word).to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        store
            .find_by_name(&keys(&["abdulaev", "rustam"]), 1991)
            .unwrap(),
        [person]
    );
    assert!(
        store
            .find_by_name(&keys(&["abdulaev", "timur"]), 1991)
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .find_by_name(&keys(&["abdulaev"]), 1992)
            .unwrap()
            .is_empty()
    );
    assert!(store.find_by_name(&[], 1991).unwrap().is_empty());
}

fn quarantine_keeps_lines_once_and_tracks_replay(store: &dyn Store) {
    let item = NewQuarantine {
        received_at: now(),
        origin: "file.ndjson".to_owned(),
        line_number: Some(3),
        source: Some("fns".to_owned()),
        source_ref: None,
        raw: b"{broken".to_vec(),
        violations: r#"[{"pointer":"","rule":"json_syntax","message":"bad"}]"#.to_owned(),
    };
    let mut ids = Vec::new();
    store
        .write(&mut |tx| {
            ids = tx.insert_quarantine(&[item.clone(), item.clone()])?;
            Ok(())
        })
        .unwrap();
    assert_eq!(ids[0], ids[1], "the same bytes are quarantined once");
    let listed = store
        .quarantine_list(Some(QuarantineStatus::Open), 0, 10)
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].raw, b"{broken");
    assert_eq!(listed[0].violations[0]["rule"], "json_syntax");
    assert_eq!(listed[0].line_number, Some(3));
    store
        .write(&mut |tx| {
            tx.update_quarantine(
                ids[0],
                b"{still broken",
                r#"[{"pointer":"","rule":"json_syntax","message":"again"}]"#,
            )?;
            tx.resolve_quarantine(ids[0], None, now())
        })
        .unwrap();
    let item_after = store.quarantine_get(ids[0]).unwrap().unwrap();
    assert_eq!(item_after.status, QuarantineStatus::Replayed);
    assert_eq!(item_after.raw, b"{still broken");
    assert!(
        store
            .quarantine_list(Some(QuarantineStatus::Open), 0, 10)
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.quarantine_list(None, 0, 10).unwrap().len(), 1);
    assert!(store.quarantine_get(9999).unwrap().is_none());
}

fn review_items_round_trip(store: &dyn Store) {
    store
        .write(&mut |tx| {
            tx.insert_review_items(&[NewReviewItem {
                kind: "identifier_conflict".to_owned(),
                person_ids: vec![3, 4],
                record_id: Some(9),
                evidence: serde_json::json!({"keys": ["snils:1"]}),
                created_at: now(),
            }])
        })
        .unwrap();
    let items = store.review_items("open", 10).unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].person_ids, [3, 4]);
    assert_eq!(items[0].record_id, Some(9));
    assert_eq!(store.counts().unwrap().review_open, 1);
    assert_eq!(store.review_item(items[0].id).unwrap().unwrap(), items[0]);
    store
        .write(&mut |tx| tx.close_review_item(items[0].id, "rejected", 1))
        .unwrap();
    assert_eq!(
        store.review_item(items[0].id).unwrap().unwrap().status,
        "rejected"
    );
    assert!(store.review_items("open", 10).unwrap().is_empty());
}

fn assignments_list_every_key(store: &dyn Store) {
    let (first, _) = seed(store, "r-1", "FA1234567");
    let (second, _) = seed(store, "r-2", "FB7654321");
    let mut rows = Vec::new();
    store
        .assignments(&mut |source, source_ref, person| {
            rows.push((source.to_owned(), source_ref.to_owned(), person))
        })
        .unwrap();
    assert_eq!(
        rows,
        [
            ("fns".to_owned(), "r-1".to_owned(), Some(first)),
            ("fns".to_owned(), "r-2".to_owned(), Some(second))
        ]
    );
    store.ping().unwrap();
}

fn access_log_appends_in_order_and_hides_delayed_entries(store: &dyn Store) {
    use dprofile_audit::{AccessAction, AccessEntry, AccessOutcome, CompactRange};
    use dprofile_store::AccessAppend;
    let at = now();
    let append = |person: i64, delay_days: i64, salt: u8| AccessAppend {
        entry: AccessEntry {
            at,
            actor: "officer:1".into(),
            agency: "mvd-offences".into(),
            role: "police_officer".into(),
            purpose: "law_enforcement".into(),
            case_ref: Some("case-9".into()),
            action: AccessAction::Read,
            person: Some(person),
            categories: vec!["visa".into()],
            outcome: AccessOutcome::Allowed,
        },
        salt: [salt; 32],
        disclosed_at: at + chrono::Duration::days(delay_days),
    };
    assert_eq!(store.access_head().unwrap(), None);
    assert_eq!(
        store
            .append_access(&[append(1, 0, 1), append(2, 0, 2)])
            .unwrap(),
        vec![0, 1]
    );
    assert_eq!(store.append_access(&[append(1, 90, 3)]).unwrap(), vec![2]);
    let head = CompactRange::decode(&store.access_head().unwrap().unwrap()).unwrap();
    assert_eq!(head.size(), 3);

    let rows = store.access_rows(0, 10).unwrap();
    assert_eq!(
        rows.iter().map(|row| row.position).collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
    let mut recomputed = CompactRange::new();
    for row in &rows {
        let log_row = row.to_log_row();
        let leaf = log_row.leaf_input.as_ref().unwrap().hash();
        assert_eq!(recomputed.append(leaf), log_row.stored_hashes);
        assert_eq!(row.entry().unwrap().person, row.person);
    }
    assert_eq!(recomputed.root(), head.root());
    assert_eq!(store.access_rows(1, 1).unwrap()[0].position, 1);
    assert_eq!(
        store
            .access_rows_at(&[2, 0, 7])
            .unwrap()
            .iter()
            .map(|row| row.position)
            .collect::<Vec<_>>(),
        vec![0, 2]
    );

    // The law-enforcement read appears to person 1 only after its delay.
    let visible_now: Vec<u64> = store
        .person_access(1, at)
        .unwrap()
        .iter()
        .map(|row| row.position)
        .collect();
    assert_eq!(visible_now, vec![0]);
    let later: Vec<u64> = store
        .person_access(1, at + chrono::Duration::days(90))
        .unwrap()
        .iter()
        .map(|row| row.position)
        .collect();
    assert_eq!(later, vec![0, 2]);

    store
        .write(&mut |tx| {
            tx.insert_access_checkpoint(3, "note-a\n", at)?;
            tx.insert_access_checkpoint(3, "note-b\n", at)
        })
        .unwrap();
    assert_eq!(
        store.access_checkpoints().unwrap(),
        vec![(3, "note-a\n".to_owned())]
    );
}

fn api_keys_are_found_by_hash_listed_and_revoked(store: &dyn Store) {
    let created = now();
    let mut ids = Vec::new();
    store
        .write(&mut |tx| {
            ids.push(tx.insert_api_key(&dprofile_store::NewApiKey {
                name: "fns batch",
                agency: "fns",
                role: "tax_inspector",
                token_hash: &[1; 32],
                created_at: created,
            })?);
            ids.push(tx.insert_api_key(&dprofile_store::NewApiKey {
                name: "border desk",
                agency: "fsb-border",
                role: "border_guard",
                token_hash: &[2; 32],
                created_at: created,
            })?);
            Ok(())
        })
        .unwrap();
    assert!(ids[0] < ids[1], "ids grow: {ids:?}");
    let found = store.api_key_by_hash(&[1; 32]).unwrap().expect("the key");
    assert_eq!(
        (
            found.id,
            found.name.as_str(),
            found.agency.as_str(),
            found.role.as_str()
        ),
        (ids[0], "fns batch", "fns", "tax_inspector")
    );
    assert_eq!(found.token_hash, vec![1; 32]);
    assert_eq!(found.created_at, created);
    assert_eq!(found.revoked_at, None);
    assert_eq!(store.api_key_by_hash(&[3; 32]).unwrap(), None);

    // A second key with the same hash is refused by the store, not silently kept.
    let duplicate = store.write(&mut |tx| {
        tx.insert_api_key(&dprofile_store::NewApiKey {
            name: "again",
            agency: "fns",
            role: "tax_inspector",
            token_hash: &[1; 32],
            created_at: created,
        })
        .map(|_| ())
    });
    assert!(duplicate.is_err());

    let revoked_at = created + chrono::Duration::hours(1);
    let mut revoked = (false, false, false);
    store
        .write(&mut |tx| {
            revoked.0 = tx.revoke_api_key(ids[0], revoked_at)?;
            // Revoking again keeps the first time.
            revoked.1 = tx.revoke_api_key(ids[0], revoked_at + chrono::Duration::hours(1))?;
            revoked.2 = tx.revoke_api_key(9_999, revoked_at)?;
            Ok(())
        })
        .unwrap();
    assert_eq!(revoked, (true, true, false));
    let listed = store.api_keys().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].revoked_at, Some(revoked_at));
    assert_eq!(listed[1].revoked_at, None);
}

fn passes_get_increasing_indexes_and_revocation_is_per_person(store: &dyn Store) {
    assert_eq!(
        store.pass_statuses().unwrap(),
        dprofile_store::PassStatuses::default()
    );
    let issued_at = now();
    let expires_at = now() + chrono::Duration::days(30);
    let mut ids = Vec::new();
    store
        .write(&mut |tx| {
            for (person, pass_id) in [(1, [1u8; 16]), (1, [2; 16]), (2, [3; 16])] {
                let id = tx.insert_pass(&dprofile_store::NewPass {
                    person_id: person,
                    pass_id: &pass_id,
                    key_id: "0011223344556677",
                    view: "status_only",
                    issued_at,
                    expires_at,
                })?;
                tx.set_pass_text(id, &format!("DP1:{id}"))?;
                ids.push(id);
            }
            Ok(())
        })
        .unwrap();
    assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "{ids:?}");
    let first = store.pass(ids[0]).unwrap().expect("the pass");
    assert_eq!(first.person_id, 1);
    assert_eq!(first.pass_id, vec![1; 16]);
    assert_eq!(first.text, format!("DP1:{}", ids[0]));
    assert_eq!((first.issued_at, first.expires_at), (issued_at, expires_at));
    assert_eq!(first.revoked_at, None);
    let mine: Vec<i64> = store
        .person_passes(1)
        .unwrap()
        .iter()
        .map(|pass| pass.id)
        .collect();
    assert_eq!(mine, [ids[1], ids[0]], "newest first, only the person's");
    assert_eq!(store.pass(9_999).unwrap(), None);
    // The same pass id twice is refused: a cti names one pass.
    let duplicate = store.write(&mut |tx| {
        tx.insert_pass(&dprofile_store::NewPass {
            person_id: 1,
            pass_id: &[1; 16],
            key_id: "0011223344556677",
            view: "status_only",
            issued_at,
            expires_at,
        })?;
        Ok(())
    });
    assert!(duplicate.is_err());
    let revoked_at = now() + chrono::Duration::hours(1);
    let mut outcomes = (false, false, false);
    store
        .write(&mut |tx| {
            // Person 2 cannot revoke person 1's pass.
            outcomes.0 = tx.revoke_pass(ids[0], 2, revoked_at)?;
            outcomes.1 = tx.revoke_pass(ids[0], 1, revoked_at)?;
            outcomes.2 = tx.revoke_pass(ids[0], 1, revoked_at + chrono::Duration::hours(1))?;
            Ok(())
        })
        .unwrap();
    assert_eq!(outcomes, (false, true, true));
    assert_eq!(
        store.pass(ids[0]).unwrap().unwrap().revoked_at,
        Some(revoked_at),
        "revoking twice keeps the first time"
    );
    assert_eq!(
        store.pass_statuses().unwrap(),
        dprofile_store::PassStatuses {
            highest_index: ids[2],
            revoked: vec![ids[0]],
        }
    );
}

macro_rules! contract_suite {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $name() { super::$name(dprofile_store::testing::TestStore::sqlite().store.as_ref()); })*
        }
        mod postgres {
            $(#[test] fn $name() {
                if let Some(test_store) = dprofile_store::testing::TestStore::postgres() {
                    super::$name(test_store.store.as_ref());
                }
            })*
        }
    };
}

contract_suite!(
    written_rows_read_back,
    a_failed_write_leaves_nothing,
    identifiers_keep_their_first_holder,
    persons_are_created_in_ascending_order,
    merge_moves_everything_and_leaves_a_pointer,
    name_search_needs_every_key,
    quarantine_keeps_lines_once_and_tracks_replay,
    review_items_round_trip,
    assignments_list_every_key,
    access_log_appends_in_order_and_hides_delayed_entries,
    api_keys_are_found_by_hash_listed_and_revoked,
    passes_get_increasing_indexes_and_revocation_is_per_person,
);

#[test]
fn migrations_are_idempotent() {
    let directory = tempfile::tempdir().unwrap();
    drop(dprofile_store::SqliteStore::open_dir(directory.path()).unwrap());
    let reopened = dprofile_store::SqliteStore::open_dir(directory.path()).unwrap();
    reopened.ping().unwrap();
    if let Some(test_store) = TestStore::postgres() {
        let url = test_store.database_url.clone().unwrap();
        let again = dprofile_store::PostgresStore::connect(&url).unwrap();
        again.ping().unwrap();
    }
}
