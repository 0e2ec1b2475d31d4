//! The storage contract: every backend passes the same tests (Quickwit's metastore pattern).

use chrono::{TimeZone, Utc};
use dprofile_domain::Action;
use dprofile_domain::linking::{KeyKind, StrongKey};
use dprofile_store::testing::TestStore;
use dprofile_store::{
    CorrectionAnswer, CorrectionFilter, CorrectionStatus, IdentifierRow, KeyState, KeyWrite,
    LinkDecision, NewCorrection, NewQuarantine, NewRecord, NewReviewItem, Outcome,
    QuarantineStatus, Store, StoreError,
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

fn new_officer<'a>(login: &'a str, hash: &'a str) -> dprofile_store::NewOfficer<'a> {
    dprofile_store::NewOfficer {
        login,
        display_name: "Irina Petrova",
        agency: "mvd-migration",
        role: "migration_officer",
        password_hash: hash,
        created_at: now(),
    }
}

fn officers_keep_accounts_failures_and_lock_outs(store: &dyn Store) {
    let mut ids = Vec::new();
    store
        .write(&mut |tx| {
            ids.push(tx.insert_officer(&new_officer("i.petrova", "$argon2id$first"))?);
            ids.push(tx.insert_officer(&new_officer("a.sidorov", "$argon2id$second"))?);
            Ok(())
        })
        .unwrap();
    assert!(ids[0] < ids[1], "ids grow: {ids:?}");
    let found = store
        .officer_by_login("i.petrova")
        .unwrap()
        .expect("the officer");
    assert_eq!(
        (
            found.id,
            found.display_name.as_str(),
            found.agency.as_str(),
            found.role.as_str(),
            found.password_hash.as_str()
        ),
        (
            ids[0],
            "Irina Petrova",
            "mvd-migration",
            "migration_officer",
            "$argon2id$first"
        )
    );
    assert_eq!(found.created_at, now());
    assert_eq!(found.password_changed_at, now());
    assert_eq!(
        (found.failed_attempts, found.locked_until, found.disabled_at),
        (0, None, None)
    );
    assert_eq!(store.officer_by_login("nobody").unwrap(), None);

    // A login is taken once.
    let duplicate = store.write(&mut |tx| {
        tx.insert_officer(&new_officer("i.petrova", "$argon2id$third"))
            .map(|_| ())
    });
    assert!(duplicate.is_err());

    // Failures count up atomically; a lock-out stamps a time and resets the count.
    let mut counts = Vec::new();
    let locked_until = now() + chrono::Duration::minutes(15);
    store
        .write(&mut |tx| {
            counts.push(tx.add_officer_failed_attempt(ids[0])?);
            counts.push(tx.add_officer_failed_attempt(ids[0])?);
            Ok(())
        })
        .unwrap();
    assert_eq!(counts, vec![1, 2]);
    assert_eq!(
        store
            .officer_by_login("i.petrova")
            .unwrap()
            .unwrap()
            .failed_attempts,
        2
    );
    store
        .write(&mut |tx| tx.set_officer_lock(ids[0], 0, Some(locked_until)))
        .unwrap();
    let locked = store.officer_by_login("i.petrova").unwrap().unwrap();
    assert_eq!(
        (locked.failed_attempts, locked.locked_until),
        (0, Some(locked_until))
    );

    // A new password lifts the lock-out; disabling and enabling stamp and clear.
    let later = now() + chrono::Duration::hours(1);
    let mut changed = (false, false, false, false);
    store
        .write(&mut |tx| {
            changed.0 = tx.set_officer_password(ids[0], "$argon2id$new", later)?;
            changed.1 = tx.set_officer_password(9_999, "$argon2id$new", later)?;
            changed.2 = tx.set_officer_disabled(ids[1], Some(later))?;
            changed.3 = tx.set_officer_disabled(9_999, Some(later))?;
            Ok(())
        })
        .unwrap();
    assert_eq!(changed, (true, false, true, false));
    let renewed = store.officer_by_login("i.petrova").unwrap().unwrap();
    assert_eq!(renewed.password_hash, "$argon2id$new");
    assert_eq!(renewed.password_changed_at, later);
    assert_eq!((renewed.failed_attempts, renewed.locked_until), (0, None));
    let listed = store.officers().unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|officer| officer.login.as_str())
            .collect::<Vec<_>>(),
        vec!["i.petrova", "a.sidorov"]
    );
    assert_eq!(listed[1].disabled_at, Some(later));
    store
        .write(&mut |tx| tx.set_officer_disabled(ids[1], None).map(|_| ()))
        .unwrap();
    assert_eq!(
        store
            .officer_by_login("a.sidorov")
            .unwrap()
            .unwrap()
            .disabled_at,
        None
    );
}

fn officer_sessions_are_found_touched_ended_and_expired(store: &dyn Store) {
    let mut officer = 0;
    store
        .write(&mut |tx| {
            officer = tx.insert_officer(&new_officer("i.petrova", "$argon2id$x"))?;
            Ok(())
        })
        .unwrap();
    let session = |hash: u8, hours: i64| dprofile_store::OfficerSessionRow {
        token_hash: vec![hash; 32],
        officer_id: officer,
        created_at: now(),
        expires_at: now() + chrono::Duration::hours(hours),
        last_seen_at: now(),
        ended_at: None,
    };
    store
        .write(&mut |tx| {
            tx.insert_officer_session(&session(1, 8))?;
            tx.insert_officer_session(&session(2, 8))?;
            tx.insert_officer_session(&session(3, 1))?;
            Ok(())
        })
        .unwrap();
    let (found, found_officer) = store.officer_session(&[1; 32]).unwrap().expect("a session");
    assert_eq!(found, session(1, 8));
    assert_eq!(found_officer.login, "i.petrova");
    assert_eq!(store.officer_session(&[9; 32]).unwrap(), None);

    // Touching moves the last use forward, never back.
    let later = now() + chrono::Duration::minutes(10);
    store
        .write(&mut |tx| {
            tx.touch_officer_session(&[1; 32], later)?;
            tx.touch_officer_session(&[1; 32], now())
        })
        .unwrap();
    assert_eq!(
        store
            .officer_session(&[1; 32])
            .unwrap()
            .unwrap()
            .0
            .last_seen_at,
        later
    );

    // Ending one, then all of the officer's.
    let mut ended = (false, false, 0);
    store
        .write(&mut |tx| {
            ended.0 = tx.end_officer_session(&[1; 32], later)?;
            ended.1 = tx.end_officer_session(&[1; 32], later)?;
            ended.2 = tx.end_officer_sessions_of(officer, later)?;
            Ok(())
        })
        .unwrap();
    assert_eq!(ended, (true, false, 2));
    assert_eq!(
        store.officer_session(&[2; 32]).unwrap().unwrap().0.ended_at,
        Some(later)
    );

    // Past its absolute expiry a session's row goes.
    store
        .write(&mut |tx| tx.delete_expired_sessions(now() + chrono::Duration::hours(2)))
        .unwrap();
    assert_eq!(store.officer_session(&[3; 32]).unwrap(), None);
    assert!(store.officer_session(&[2; 32]).unwrap().is_some());
}

fn person_sign_ins_and_sessions_are_kept_until_they_expire(store: &dyn Store) {
    let expires_at = now() + chrono::Duration::minutes(5);
    let sign_in = |hash: u8, person: Option<i64>| dprofile_store::PersonSignInRow {
        id_hash: vec![hash; 32],
        person_id: person,
        document: "FA1234567".to_owned(),
        code_hash: vec![7; 32],
        expires_at,
        failed_attempts: 0,
    };
    store
        .write(&mut |tx| {
            tx.insert_person_sign_in(&sign_in(1, Some(42)))?;
            tx.insert_person_sign_in(&sign_in(2, None))
        })
        .unwrap();
    assert_eq!(
        store.person_sign_in(&[1; 32]).unwrap(),
        Some(sign_in(1, Some(42)))
    );
    assert_eq!(
        store.person_sign_in(&[2; 32]).unwrap(),
        Some(sign_in(2, None))
    );
    assert_eq!(store.person_sign_in(&[3; 32]).unwrap(), None);
    let mut failures = Vec::new();
    store
        .write(&mut |tx| {
            failures.push(tx.add_person_sign_in_failed_attempt(&[1; 32])?);
            failures.push(tx.add_person_sign_in_failed_attempt(&[1; 32])?);
            failures.push(tx.add_person_sign_in_failed_attempt(&[3; 32])?);
            Ok(())
        })
        .unwrap();
    assert_eq!(failures, vec![1, 2, 0]);
    assert_eq!(
        store
            .person_sign_in(&[1; 32])
            .unwrap()
            .unwrap()
            .failed_attempts,
        2
    );
    // A sign-in is taken once.
    let mut taken = (false, false);
    store
        .write(&mut |tx| {
            taken.0 = tx.take_person_sign_in(&[1; 32])?;
            taken.1 = tx.take_person_sign_in(&[1; 32])?;
            tx.insert_person_session(&dprofile_store::PersonSessionRow {
                token_hash: vec![5; 32],
                person_id: 42,
                expires_at: now() + chrono::Duration::minutes(30),
            })
        })
        .unwrap();
    assert_eq!(taken, (true, false));
    assert_eq!(store.person_sign_in(&[1; 32]).unwrap(), None);
    assert_eq!(
        store
            .person_session(&[5; 32])
            .unwrap()
            .map(|session| session.person_id),
        Some(42)
    );
    // Expired rows go, open ones stay.
    store
        .write(&mut |tx| tx.delete_expired_sessions(expires_at))
        .unwrap();
    assert_eq!(store.person_sign_in(&[2; 32]).unwrap(), None);
    assert!(store.person_session(&[5; 32]).unwrap().is_some());
    store
        .write(&mut |tx| tx.delete_expired_sessions(now() + chrono::Duration::minutes(30)))
        .unwrap();
    assert_eq!(store.person_session(&[5; 32]).unwrap(), None);
    // Signing out ends one session, before its expiry, and only that one.
    let mut ended = Vec::new();
    store
        .write(&mut |tx| {
            for (token, person) in [(6u8, 42), (7, 42)] {
                tx.insert_person_session(&dprofile_store::PersonSessionRow {
                    token_hash: vec![token; 32],
                    person_id: person,
                    expires_at: now() + chrono::Duration::minutes(30),
                })?;
            }
            ended.push(tx.end_person_session(&[6; 32])?);
            ended.push(tx.end_person_session(&[6; 32])?);
            Ok(())
        })
        .unwrap();
    assert_eq!(ended, vec![true, false]);
    assert_eq!(store.person_session(&[6; 32]).unwrap(), None);
    assert!(store.person_session(&[7; 32]).unwrap().is_some());
}

/// Retention erases a key with every version and what cites them, rebuilds a person's index to
/// what is kept, and leaves every other key alone.
fn retention_erases_keys_and_what_cites_them(store: &dyn Store) {
    let (person, first_record) = seed(store, "r-1", "FA1234567");
    let mut kept_record = 0;
    store
        .write(&mut |tx| {
            // A second version of r-1, and a second key r-2 of the same person.
            let ids = tx.reserve_record_ids(2)?;
            let key_id = tx.load_keys(&[("fns", "r-1")])?[0]
                .as_ref()
                .and_then(|state| state.key_id)
                .unwrap();
            let mut second = record(ids[0], key_id, "r-1", Some(person));
            second.revision = 2;
            let kept_key = tx.upsert_keys(&[state(None, "r-2", person, ids[1])])?[0];
            tx.insert_records(&[second, record(ids[1], kept_key, "r-2", Some(person))])?;
            tx.replace_resolver_blocks(&[key_id, kept_key], &[(11, key_id), (11, kept_key)])?;
            tx.insert_review_items(&[NewReviewItem {
                kind: "identifier_conflict".to_owned(),
                person_ids: vec![person],
                record_id: Some(first_record),
                evidence: serde_json::json!({"conflicting_identifiers": ["passport:UZB:FA1234567"]}),
                created_at: now(),
            }])?;
            let quarantined = tx.insert_quarantine(&[NewQuarantine {
                received_at: now(),
                origin: "file.ndjson".to_owned(),
                line_number: Some(1),
                source: Some("fns".to_owned()),
                source_ref: Some("r-1".to_owned()),
                raw: b"{first try".to_vec(),
                violations: "[]".to_owned(),
            }])?[0];
            tx.resolve_quarantine(quarantined, Some(first_record), now())?;
            tx.insert_decisions(&[LinkDecision {
                id: 0,
                kind: "reject".to_owned(),
                person_id: person,
                other_person_id: None,
                record_id: Some(first_record),
                actor: "officer:1".to_owned(),
                reason: "not the same".to_owned(),
                evidence: serde_json::json!({}),
                decided_at: now(),
            }])?;
            kept_record = ids[1];
            Ok(())
        })
        .unwrap();
    let mut erased = dprofile_store::ErasedKeys::default();
    let mut removals = dprofile_store::IndexRemovals::default();
    store
        .write(&mut |tx| {
            let key_id = tx.load_keys(&[("fns", "r-1")])?[0]
                .as_ref()
                .and_then(|state| state.key_id)
                .unwrap();
            erased = tx.erase_keys(&[key_id])?;
            removals = tx.retain_person_index(person, &[], &[("rustam".to_owned(), 1991)])?;
            assert_eq!(tx.load_keys(&[("fns", "r-1")])?, vec![None]);
            assert_eq!(tx.resolver_block_members(&[11])?.len(), 1);
            Ok(())
        })
        .unwrap();
    assert_eq!(
        erased,
        dprofile_store::ErasedKeys {
            keys: 1,
            versions: 2,
            review_items: 1,
            quarantine_items: 1,
            decisions_uncited: 1,
        }
    );
    assert_eq!(removals.identifiers, vec![passport("FA1234567")]);
    assert_eq!(removals.name_rows, vec![("abdulaev".to_owned(), 1991)]);
    let versions = store.person_versions(person).unwrap();
    assert_eq!(
        versions
            .iter()
            .map(|version| version.record_id)
            .collect::<Vec<_>>(),
        vec![kept_record]
    );
    assert!(store.person_identifiers(person).unwrap().is_empty());
    assert_eq!(
        store.find_by_name(&["rustam".to_owned()], 1991).unwrap(),
        vec![person]
    );
    assert!(
        store
            .find_by_name(&["abdulaev".to_owned()], 1991)
            .unwrap()
            .is_empty()
    );
    assert!(store.review_items("open", 10).unwrap().is_empty());
    assert!(store.quarantine_list(None, 0, 10).unwrap().is_empty());
    let decisions = store.person_decisions(person).unwrap();
    assert_eq!(decisions[0].record_id, None, "the decision stays, uncited");
    store
        .write(&mut |tx| {
            tx.update_decision_evidence(decisions[0].id, &serde_json::json!({"redacted": true}))
        })
        .unwrap();
    assert_eq!(
        store.decision(decisions[0].id).unwrap().unwrap().evidence,
        serde_json::json!({"redacted": true})
    );
}

/// Removing a person takes the persons merged into it and their decisions and pairs; their
/// access-log details go later, the positions are returned, and each person is done once.
fn retention_removes_persons_then_their_log_details(store: &dyn Store) {
    use dprofile_audit::{AccessAction, AccessEntry, AccessOutcome};
    use dprofile_store::AccessAppend;
    let (first, _) = seed(store, "r-1", "FA1234567");
    let (second, _) = seed(store, "r-2", "FB7654321");
    let (other, _) = seed(store, "r-3", "FC1111111");
    store
        .write(&mut |tx| {
            tx.merge_persons(second, first)?;
            let ids = tx.insert_decisions(&[LinkDecision {
                id: 0,
                kind: "merge".to_owned(),
                person_id: first,
                other_person_id: Some(second),
                record_id: None,
                actor: "rule:test".to_owned(),
                reason: "same".to_owned(),
                evidence: serde_json::json!({}),
                decided_at: now(),
            }])?;
            tx.add_cannot_link(first, other, ids[0])?;
            Ok(())
        })
        .unwrap();
    let read = |person: i64, salt: u8| AccessAppend {
        entry: AccessEntry {
            at: now(),
            actor: "officer:1".into(),
            agency: "mvd-migration".into(),
            role: "migration_officer".into(),
            purpose: "stay_control".into(),
            case_ref: None,
            action: AccessAction::Read,
            person: Some(person),
            categories: vec!["tax_debt".into()],
            outcome: AccessOutcome::Allowed,
        },
        salt: [salt; 32],
        disclosed_at: now(),
    };
    store
        .append_access(&[
            read(first, 1),
            read(other, 2),
            read(second, 3),
            read(first, 4),
        ])
        .unwrap();
    assert_eq!(store.persons_after(0, 10).unwrap(), vec![first, other]);
    assert_eq!(store.persons_after(first, 1).unwrap(), vec![other]);

    let erased_at = now() + chrono::Duration::days(10);
    let mut removed = Vec::new();
    store
        .write(&mut |tx| {
            removed = tx.remove_persons(&[first], erased_at)?;
            Ok(())
        })
        .unwrap();
    assert_eq!(removed, vec![first, second]);
    assert_eq!(store.person(first).unwrap(), None);
    assert_eq!(store.person(second).unwrap(), None);
    assert!(store.person_decisions(first).unwrap().is_empty());
    assert!(store.person(other).unwrap().is_some());

    assert!(
        store
            .persons_erased_before(erased_at - chrono::Duration::seconds(1))
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.persons_erased_before(erased_at).unwrap(),
        vec![first, second]
    );
    let mut positions = Vec::new();
    store
        .write(&mut |tx| {
            positions = tx.erase_access_details(&[first, second], erased_at)?;
            Ok(())
        })
        .unwrap();
    assert_eq!(positions, vec![0, 2, 3]);
    let rows = store.access_rows(0, 10).unwrap();
    let erased: Vec<bool> = rows
        .iter()
        .map(|row| row.details.is_none() && row.salt.is_none())
        .collect();
    assert_eq!(erased, vec![true, false, true, true]);
    assert!(
        rows.iter().all(|row| row.leaf_hash().is_some()),
        "leaves stay"
    );
    assert!(store.persons_erased_before(erased_at).unwrap().is_empty());
}

/// A correction request claims its fields of one version, is listed per agency and person, is
/// answered once, and stands as a dispute only while its version is in force.
fn corrections_claim_fields_answer_once_and_stand_while_in_force(store: &dyn Store) {
    let (person, record_id) = seed(store, "c-1", "FA1234567");
    let key_id = {
        let mut key_id = 0;
        store
            .write(&mut |tx| {
                key_id = tx.load_keys(&[("fns", "c-1")])?[0]
                    .as_ref()
                    .and_then(|state| state.key_id)
                    .unwrap();
                Ok(())
            })
            .unwrap();
        key_id
    };
    let balance = vec!["/data/balance".to_owned()];
    let both = vec!["/data/as_of".to_owned(), "/data/balance".to_owned()];
    let file = |fields: &[String], due_days: i64| -> (i64, Vec<(String, i64)>) {
        let mut filed = (0, Vec::new());
        let result = store.write(&mut |tx| {
            let id = tx.insert_correction(&NewCorrection {
                person_id: person,
                record_id,
                key_id,
                source: "fns",
                source_ref: "c-1",
                revision: 1,
                category: Some("tax_debt"),
                fields,
                explanation: "I paid this debt",
                filed_at: now(),
                due_at: now() + chrono::Duration::days(due_days),
            })?;
            let held = tx.claim_correction_fields(id, record_id, fields)?;
            filed = (id, held.clone());
            if held.is_empty() {
                Ok(())
            } else {
                Err(StoreError::Aborted("fields held".to_owned()))
            }
        });
        assert_eq!(result.is_ok(), filed.1.is_empty());
        filed
    };
    let (first, held) = file(&balance, 30);
    assert!(held.is_empty());
    // The same field again is held by the first request, and nothing of the refused filing
    // stays (not even its other field).
    let (_, held) = file(&both, 30);
    assert_eq!(held, vec![("/data/balance".to_owned(), first)]);
    assert_eq!(
        store
            .corrections(&CorrectionFilter::default())
            .unwrap()
            .len(),
        1
    );

    let row = store.correction(first).unwrap().expect("the request");
    assert_eq!(row.person_id, person);
    assert_eq!(row.fields, balance);
    assert_eq!(row.status, CorrectionStatus::Open);
    assert_eq!(row.due_at, now() + chrono::Duration::days(30));
    assert!(row.cites_version_in_force());
    assert_eq!(row.in_force.map(|version| version.revision), Some(1));
    assert_eq!(
        store.standing_corrections(person).unwrap(),
        vec![row.clone()]
    );

    // Queues: per agency, per person, per status, and past a deadline.
    let fns_queue = CorrectionFilter {
        source: Some("fns"),
        ..CorrectionFilter::default()
    };
    assert_eq!(store.corrections(&fns_queue).unwrap().len(), 1);
    let other_queue = CorrectionFilter {
        source: Some("gibdd"),
        ..CorrectionFilter::default()
    };
    assert!(store.corrections(&other_queue).unwrap().is_empty());
    let overdue = CorrectionFilter {
        status: Some(CorrectionStatus::Open),
        due_before: Some(now() + chrono::Duration::days(31)),
        ..CorrectionFilter::default()
    };
    assert_eq!(store.corrections(&overdue).unwrap().len(), 1);
    let not_yet = CorrectionFilter {
        due_before: Some(now() + chrono::Duration::days(29)),
        ..overdue
    };
    assert!(store.corrections(&not_yet).unwrap().is_empty());
    let of_person = CorrectionFilter {
        person_id: Some(person + 1000),
        ..CorrectionFilter::default()
    };
    assert!(store.corrections(&of_person).unwrap().is_empty());

    // A rejection is written once and gives the fields back.
    let reject = CorrectionAnswer {
        status: CorrectionStatus::Rejected,
        answer: "the debt is still open",
        answered_by: "apikey:1",
        answered_at: now() + chrono::Duration::days(2),
    };
    let mut answered = Vec::new();
    for _ in 0..2 {
        store
            .write(&mut |tx| {
                let changed = tx.answer_correction(first, &reject)?;
                if changed {
                    tx.release_correction_fields(first)?;
                }
                answered.push(changed);
                Ok(())
            })
            .unwrap();
    }
    assert_eq!(answered, vec![true, false]);
    let row = store.correction(first).unwrap().unwrap();
    assert_eq!(row.status, CorrectionStatus::Rejected);
    assert_eq!(row.answer.as_deref(), Some("the debt is still open"));
    assert_eq!(row.answered_by.as_deref(), Some("apikey:1"));
    assert_eq!(row.answered_at, Some(now() + chrono::Duration::days(2)));
    assert!(store.standing_corrections(person).unwrap().is_empty());

    // The field is free again; an accepted request stands until a new version is in force.
    let (second, held) = file(&both, 30);
    assert!(held.is_empty());
    store
        .write(&mut |tx| {
            assert!(tx.answer_correction(
                second,
                &CorrectionAnswer {
                    status: CorrectionStatus::Accepted,
                    ..reject
                }
            )?);
            Ok(())
        })
        .unwrap();
    assert_eq!(
        store
            .standing_corrections(person)
            .unwrap()
            .iter()
            .map(|row| row.id)
            .collect::<Vec<_>>(),
        vec![second]
    );
    store
        .write(&mut |tx| {
            let new_record = tx.reserve_record_ids(1)?[0];
            let mut revised = record(new_record, key_id, "c-1", Some(person));
            revised.revision = 2;
            tx.insert_records(&[revised])?;
            tx.upsert_keys(&[KeyWrite {
                revision: 2,
                ..state(Some(key_id), "c-1", person, new_record)
            }])?;
            Ok(())
        })
        .unwrap();
    assert!(store.standing_corrections(person).unwrap().is_empty());
    let row = store.correction(second).unwrap().unwrap();
    assert_eq!(row.status, CorrectionStatus::Accepted);
    assert!(!row.cites_version_in_force());
    assert_eq!(row.in_force.map(|version| version.revision), Some(2));
    assert!(store.correction(second + 100).unwrap().is_none());
}

fn share_codes_are_found_by_hash_listed_revoked_and_locked(store: &dyn Store) {
    use dprofile_store::NewShareCode;
    let expires_at = now() + chrono::Duration::days(90);
    let mut ids = (0, 0);
    store
        .write(&mut |tx| {
            let first = tx.insert_share_code(&NewShareCode {
                person_id: 7,
                code_hash: &[1; 32],
                purpose: "work",
                created_at: now(),
                expires_at,
            })?;
            let second = tx.insert_share_code(&NewShareCode {
                person_id: 7,
                code_hash: &[2; 32],
                purpose: "rent",
                created_at: now(),
                expires_at,
            })?;
            ids = (first, second);
            Ok(())
        })
        .unwrap();
    let (first, second) = ids;
    let found = store.share_code_by_hash(&[1; 32]).unwrap().unwrap();
    assert_eq!(
        (found.id, found.person_id, found.purpose.as_str()),
        (first, 7, "work")
    );
    assert_eq!((found.created_at, found.expires_at), (now(), expires_at));
    assert_eq!(
        (found.revoked_at, found.failed_checks, found.locked_at),
        (None, 0, None)
    );
    assert!(store.share_code_by_hash(&[3; 32]).unwrap().is_none());
    // A hash is unique: a second code with the same hash is refused, not stored twice.
    let duplicate = store.write(&mut |tx| {
        tx.insert_share_code(&NewShareCode {
            person_id: 8,
            code_hash: &[1; 32],
            purpose: "other",
            created_at: now(),
            expires_at,
        })?;
        Ok(())
    });
    assert!(duplicate.is_err());

    // Only the holder revokes; revoking twice keeps the first time.
    let revoked_at = now() + chrono::Duration::hours(1);
    let mut outcomes = Vec::new();
    store
        .write(&mut |tx| {
            outcomes.push(tx.revoke_share_code(8, second, revoked_at)?);
            outcomes.push(tx.revoke_share_code(7, second, revoked_at)?);
            outcomes.push(tx.revoke_share_code(
                7,
                second,
                revoked_at + chrono::Duration::hours(1),
            )?);
            outcomes.push(tx.revoke_share_code(7, 9999, revoked_at)?);
            Ok(())
        })
        .unwrap();
    assert_eq!(outcomes, vec![false, true, true, false]);

    // Failures count up and lock the code at the limit, once.
    let mut counts = Vec::new();
    for minute in 0..4 {
        store
            .write(&mut |tx| {
                counts.push(tx.record_share_code_failure(
                    first,
                    3,
                    now() + chrono::Duration::minutes(minute),
                )?);
                Ok(())
            })
            .unwrap();
    }
    assert_eq!(counts, vec![1, 2, 3, 4]);
    let locked = store.share_code_by_hash(&[1; 32]).unwrap().unwrap();
    assert_eq!(locked.locked_at, Some(now() + chrono::Duration::minutes(2)));
    assert_eq!(locked.failed_checks, 4);

    let listed = store.person_share_codes(7).unwrap();
    assert_eq!(
        listed.iter().map(|code| code.id).collect::<Vec<_>>(),
        vec![second, first],
        "newest first"
    );
    assert_eq!(listed[0].revoked_at, Some(revoked_at));
    assert!(store.person_share_codes(8).unwrap().is_empty());
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

/// Writes one person whose keys' versions in force are `records` (category, raw JSON).
fn seed_person_with(store: &dyn Store, tag: &str, records: &[(&'static str, String)]) -> i64 {
    let mut person_id = 0;
    store
        .write(&mut |tx| {
            let person = tx.create_persons(1, now())?[0];
            for (index, (category, raw)) in records.iter().enumerate() {
                let source_ref = format!("{tag}-{index}");
                let record_id = tx.reserve_record_ids(1)?[0];
                let key_id = tx.upsert_keys(&[state(None, &source_ref, person, record_id)])?[0];
                let mut row = record(record_id, key_id, &source_ref, Some(person));
                row.category = Some(category);
                row.valid_from = None;
                row.raw = raw.clone().into_bytes().leak();
                tx.insert_records(&[row])?;
            }
            person_id = person;
            Ok(())
        })
        .unwrap();
    person_id
}

fn aggregates_count_persons_in_force_by_group(store: &dyn Store) {
    use dprofile_store::{AggregateQuery, AggregateRow};
    let today = chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
    let subject = |citizenship: &str| format!(r#"{{"subject":{{"citizenship":"{citizenship}"}}"#);
    let registration = |citizenship: &str, region: &str, expires: &str| {
        format!(
            r#"{},"data":{{"address":{{"region":"{region}"}},"expires_on":"{expires}"}}}}"#,
            subject(citizenship)
        )
    };
    let stay = |citizenship: &str, kind: &str, expires: &str| {
        format!(
            r#"{},"data":{{"kind":"{kind}","expires_on":"{expires}"}}}}"#,
            subject(citizenship)
        )
    };
    let crossing = |citizenship: &str, direction: &str, at: &str| {
        format!(
            r#"{},"data":{{"direction":"{direction}","crossed_at":"{at}"}}}}"#,
            subject(citizenship)
        )
    };
    seed_person_with(
        store,
        "a",
        &[
            (
                "migration_registration",
                registration("UZB", "77", "2026-03-20"),
            ),
            ("stay_document", stay("UZB", "patent", "2026-04-15")),
            (
                "border_crossing",
                crossing("UZB", "entry", "2026-01-10T08:00:00Z"),
            ),
            (
                "border_crossing",
                crossing("UZB", "exit", "2026-02-10T08:00:00Z"),
            ),
        ],
    );
    seed_person_with(
        store,
        "b",
        &[
            (
                "migration_registration",
                registration("UZB", "77", "2026-09-01"),
            ),
            ("stay_document", stay("UZB", "patent", "2025-12-31")),
            (
                "border_crossing",
                crossing("UZB", "entry", "2026-01-20T08:00:00Z"),
            ),
            // Older than the 24 months shown.
            (
                "border_crossing",
                crossing("UZB", "entry", "2020-01-20T08:00:00Z"),
            ),
        ],
    );
    seed_person_with(
        store,
        "c",
        &[
            (
                "migration_registration",
                registration("TJK", "50", "2026-05-20"),
            ),
            ("stay_document", stay("TJK", "visa", "2026-05-01")),
        ],
    );
    // Merged into another person: its keys moved, the pointer counts nothing twice.
    let merged = seed_person_with(
        store,
        "d",
        &[("stay_document", stay("KGZ", "visa", "2026-12-01"))],
    );
    let survivor = seed_person_with(
        store,
        "e",
        &[("stay_document", stay("KGZ", "visa", "2026-12-01"))],
    );
    store
        .write(&mut |tx| {
            tx.merge_persons(merged, survivor)?;
            Ok(())
        })
        .unwrap();
    let rows = |query| -> Vec<(String, String, u64)> {
        store
            .aggregate(query)
            .unwrap()
            .into_iter()
            .map(|AggregateRow { key, group, count }| (key, group, count))
            .collect()
    };
    let owned = |rows: &[(&str, &str, u64)]| -> Vec<(String, String, u64)> {
        rows.iter()
            .map(|(key, group, count)| ((*key).to_owned(), (*group).to_owned(), *count))
            .collect()
    };
    assert_eq!(
        rows(AggregateQuery::Citizenship),
        owned(&[("UZB", "", 2), ("KGZ", "", 1), ("TJK", "", 1)])
    );
    assert_eq!(
        rows(AggregateQuery::Region),
        owned(&[("77", "", 2), ("50", "", 1)])
    );
    // b's patent expired before today.
    assert_eq!(
        rows(AggregateQuery::StayBasis { today }),
        owned(&[("visa", "", 2), ("patent", "", 1)])
    );
    assert_eq!(
        rows(AggregateQuery::Status { today }),
        owned(&[("migration_registration", "", 3), ("stay_document", "", 4)])
    );
    assert_eq!(
        rows(AggregateQuery::Crossings { today }),
        owned(&[("2026-01", "entry", 2), ("2026-02", "exit", 1)])
    );
    assert_eq!(
        rows(AggregateQuery::Expiring { today }),
        owned(&[
            ("patent", "60", 1),
            ("registration", "30", 1),
            ("registration", "90", 1),
            ("visa", "90", 1),
        ])
    );
}

fn new_event(id: &str, person: Option<i64>, kind: &str) -> dprofile_store::NewEvent {
    dprofile_store::NewEvent {
        event_id: id.to_owned(),
        person_id: person,
        at: now(),
        event_type: kind.to_owned(),
        categories: vec!["tax_debt".to_owned()],
        payload: serde_json::json!({ "record_id": 7 }),
    }
}

fn events_get_positions_in_commit_order_and_sequences_per_person(store: &dyn Store) {
    let mut written = Vec::new();
    store
        .write(&mut |tx| {
            written = tx.insert_events(&[
                new_event("evt_a", Some(1), "record.accepted"),
                new_event("evt_b", Some(2), "record.accepted"),
                new_event("evt_c", Some(1), "status.changed"),
            ])?;
            Ok(())
        })
        .unwrap();
    let positions: Vec<i64> = written.iter().map(|event| event.position).collect();
    assert_eq!(positions, vec![1, 2, 3]);
    let sequences: Vec<i64> = written.iter().map(|event| event.person_seq).collect();
    assert_eq!(sequences, vec![1, 1, 2]);
    // A rolled-back transaction leaves no event and takes no position.
    let failed = store.write(&mut |tx| {
        tx.insert_events(&[new_event("evt_x", Some(1), "record.accepted")])?;
        Err(StoreError::Aborted("test".to_owned()))
    });
    assert!(failed.is_err());
    // An id stored already is skipped (the daily job writes its events once).
    store
        .write(&mut |tx| {
            written = tx.insert_events(&[
                new_event("evt_a", Some(1), "record.accepted"),
                new_event("evt_d", Some(1), "record.superseded"),
            ])?;
            Ok(())
        })
        .unwrap();
    assert_eq!(written.len(), 1);
    assert_eq!((written[0].position, written[0].person_seq), (4, 3));
    assert_eq!(store.events_head().unwrap(), 4);
    let feed = store.events_after(1, 10).unwrap();
    let ids: Vec<&str> = feed.iter().map(|event| event.event_id.as_str()).collect();
    assert_eq!(ids, vec!["evt_b", "evt_c", "evt_d"]);
    assert_eq!(feed[0].categories, vec!["tax_debt".to_owned()]);
    assert_eq!(feed[0].payload, serde_json::json!({ "record_id": 7 }));
    assert_eq!(feed[0].at, now());
    assert_eq!(store.events_after(0, 2).unwrap().len(), 2);
    // Status snapshots are kept per person and replaced.
    store
        .write(&mut |tx| {
            tx.set_status_snapshots(&[(1, "{}".to_owned())])?;
            tx.set_status_snapshots(&[(1, "{\"a\":1}".to_owned()), (2, "{}".to_owned())])?;
            assert_eq!(
                tx.status_snapshots(&[1, 3])?,
                vec![(1, "{\"a\":1}".to_owned())]
            );
            Ok(())
        })
        .unwrap();
}

fn subscriptions_and_webhook_deliveries_round_trip(store: &dyn Store) {
    for index in 1..=3 {
        store
            .write(&mut |tx| {
                tx.insert_events(&[new_event(
                    &format!("evt_{index}"),
                    Some(index),
                    "record.accepted",
                )])?;
                Ok(())
            })
            .unwrap();
    }
    let types = vec!["record.accepted".to_owned()];
    let categories = vec!["tax_debt".to_owned()];
    let mut id = 0;
    store
        .write(&mut |tx| {
            id = tx.insert_subscription(&dprofile_store::NewSubscription {
                agency: "fns",
                role: "tax_inspector",
                purpose: "tax_control",
                event_types: &types,
                categories: &categories,
                webhook_url: Some("http://127.0.0.1:9/hook"),
                secret: "whsec_test",
                created_by: "apikey:1",
                created_at: now(),
            })?;
            Ok(())
        })
        .unwrap();
    let row = store.subscription(id).unwrap().unwrap();
    assert_eq!(row.event_types, types);
    assert_eq!(row.categories, categories);
    assert_eq!(row.secret, "whsec_test");
    assert_eq!(row.webhook_url.as_deref(), Some("http://127.0.0.1:9/hook"));
    assert_eq!(store.subscriptions().unwrap().len(), 1);
    assert_eq!(store.webhook_cursor(id).unwrap(), 0);
    store
        .write(&mut |tx| tx.queue_deliveries(id, 3, &[(1, Some(1)), (3, Some(3))], now()))
        .unwrap();
    assert_eq!(store.webhook_cursor(id).unwrap(), 3);
    let pending = store
        .deliveries(id, dprofile_store::DeliveryFilter::Pending, 10)
        .unwrap();
    assert_eq!(
        pending.iter().map(|d| d.position).collect::<Vec<_>>(),
        vec![1, 3]
    );
    assert_eq!(pending[0].event.event_id, "evt_1");
    let later = now() + chrono::Duration::seconds(30);
    store
        .write(&mut |tx| {
            tx.fail_delivery(id, 1, 5, later, "connection refused", Some(later))?;
            tx.fail_delivery(id, 3, 1, later, "503", None)?;
            Ok(())
        })
        .unwrap();
    let dead = store
        .deliveries(id, dprofile_store::DeliveryFilter::Dead, 10)
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        (dead[0].attempts, dead[0].last_error.as_deref()),
        (5, Some("connection refused"))
    );
    let pending = store
        .deliveries(id, dprofile_store::DeliveryFilter::Pending, 10)
        .unwrap();
    assert_eq!(
        (
            pending[0].position,
            pending[0].attempts,
            pending[0].next_attempt_at
        ),
        (3, 1, later)
    );
    let mut replayed = 0;
    store
        .write(&mut |tx| {
            replayed = tx.replay_dead(id, None, now())?;
            tx.delete_delivery(id, 3)?;
            Ok(())
        })
        .unwrap();
    assert_eq!(replayed, 1);
    let pending = store
        .deliveries(id, dprofile_store::DeliveryFilter::Pending, 10)
        .unwrap();
    assert_eq!(
        (pending.len(), pending[0].position, pending[0].attempts),
        (1, 1, 0)
    );
    let mut deleted = (false, false);
    store
        .write(&mut |tx| {
            deleted = (
                tx.delete_subscription(id, now())?,
                tx.delete_subscription(id, now())?,
            );
            Ok(())
        })
        .unwrap();
    assert_eq!(deleted, (true, false));
    assert!(
        store
            .subscription(id)
            .unwrap()
            .unwrap()
            .deleted_at
            .is_some()
    );
    assert!(
        store
            .deliveries(id, dprofile_store::DeliveryFilter::Pending, 10)
            .unwrap()
            .is_empty()
    );
}

fn retention_removes_a_persons_events(store: &dyn Store) {
    let (person, _) = seed(store, "ev-1", "FA1234567");
    let (other, _) = seed(store, "ev-2", "FB7654321");
    store
        .write(&mut |tx| {
            tx.insert_events(&[
                new_event("evt_p", Some(person), "record.accepted"),
                new_event("evt_o", Some(other), "record.accepted"),
            ])?;
            tx.queue_deliveries(1, 2, &[(1, Some(person)), (2, Some(other))], now())?;
            Ok(())
        })
        .unwrap();
    store
        .write(&mut |tx| {
            tx.remove_persons(&[person], now())?;
            Ok(())
        })
        .unwrap();
    let left: Vec<Option<i64>> = store
        .events_after(0, 10)
        .unwrap()
        .iter()
        .map(|event| event.person_id)
        .collect();
    assert_eq!(left, vec![Some(other)]);
    let queued = store
        .deliveries(1, dprofile_store::DeliveryFilter::Pending, 10)
        .unwrap();
    assert_eq!(
        queued.iter().map(|d| d.person_id).collect::<Vec<_>>(),
        vec![Some(other)]
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
    share_codes_are_found_by_hash_listed_revoked_and_locked,
    corrections_claim_fields_answer_once_and_stand_while_in_force,
    officers_keep_accounts_failures_and_lock_outs,
    officer_sessions_are_found_touched_ended_and_expired,
    person_sign_ins_and_sessions_are_kept_until_they_expire,
    retention_erases_keys_and_what_cites_them,
    retention_removes_persons_then_their_log_details,
    retention_takes_a_removed_persons_codes_and_passes_with_them,
    aggregates_count_persons_in_force_by_group,
    events_get_positions_in_commit_order_and_sequences_per_person,
    subscriptions_and_webhook_deliveries_round_trip,
    retention_removes_a_persons_events,
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

/// A person removed by retention takes their share codes and correction requests with them;
/// their passes are revoked with the signed text blanked (the row stays: its id is a bit of
/// the published status list). Another person's are untouched.
fn retention_takes_a_removed_persons_codes_and_passes_with_them(store: &dyn Store) {
    use dprofile_store::{NewPass, NewShareCode};
    let (gone, _) = seed(store, "g-1", "FA1234567");
    let (kept, _) = seed(store, "k-1", "FB7654321");
    store
        .write(&mut |tx| {
            for (person, tag) in [(gone, 1u8), (kept, 2u8)] {
                tx.insert_share_code(&NewShareCode {
                    person_id: person,
                    code_hash: &[tag; 32],
                    purpose: "work",
                    created_at: now(),
                    expires_at: now() + chrono::Duration::days(90),
                })?;
                let id = tx.insert_pass(&NewPass {
                    person_id: person,
                    pass_id: &[tag; 16],
                    key_id: "k1",
                    view: "status_only",
                    issued_at: now(),
                    expires_at: now() + chrono::Duration::days(30),
                })?;
                tx.set_pass_text(id, "DP1:SIGNED")?;
            }
            Ok(())
        })
        .unwrap();
    store
        .write(&mut |tx| tx.remove_persons(&[gone], now()).map(|_| ()))
        .unwrap();
    assert!(store.person_share_codes(gone).unwrap().is_empty());
    assert_eq!(store.person_share_codes(kept).unwrap().len(), 1);
    let passes = store.person_passes(gone).unwrap();
    assert_eq!(passes.len(), 1, "the status-list row stays");
    assert_eq!(passes[0].revoked_at, Some(now()));
    assert_eq!(passes[0].text, "");
    let other = store.person_passes(kept).unwrap();
    assert_eq!(
        (other[0].revoked_at, other[0].text.as_str()),
        (None, "DP1:SIGNED")
    );
    assert_eq!(store.pass_statuses().unwrap().revoked, vec![passes[0].id]);
}

/// SQLite: background checkpoints run at most every 50 ms, and a stream of small commits
/// (one access-log entry each) must still let the WAL start over from its beginning; if the
/// checkpoint always left the frames of the commits made during its copy behind, the WAL would
/// grow by every commit's pages (6,000 one-entry commits: about 300 MB; started over, it holds
/// what commits in about one checkpoint interval, some 50 MB in a debug build).
#[test]
fn sqlite_wal_starts_over_under_a_stream_of_small_commits() {
    use dprofile_audit::{AccessAction, AccessEntry, AccessOutcome};
    let directory = tempfile::tempdir().unwrap();
    let store = dprofile_store::SqliteStore::open_dir(directory.path()).unwrap();
    let append = |person: i64| dprofile_store::AccessAppend {
        entry: AccessEntry {
            at: now(),
            actor: "officer:1".into(),
            agency: "mvd-offences".into(),
            role: "police_officer".into(),
            purpose: "stay_control".into(),
            case_ref: Some("case-9".into()),
            action: AccessAction::Read,
            person: Some(person),
            categories: vec!["visa".into()],
            outcome: AccessOutcome::Allowed,
        },
        salt: [7; 32],
        disclosed_at: now(),
    };
    let wal_of = |file: &std::path::Path| {
        let mut wal = file.as_os_str().to_owned();
        wal.push("-wal");
        std::fs::metadata(&wal).map_or(0, |metadata| metadata.len())
    };
    // Appends of reads commit to the log's own file, 4 KiB pages, three or so a commit: 12,000
    // commits that never let its WAL start over would leave it at about 150 MB.
    for person in 0..12_000 {
        store.append_access(&[append(person)]).unwrap();
    }
    let log_wal = wal_of(&dprofile_store::access_log_path(store.path()));
    assert!(
        log_wal < 64 * 1024 * 1024,
        "the log's WAL grew to {log_wal} bytes over 12,000 small commits: it never started over"
    );
    assert_eq!(
        dprofile_store::access_log::decode_head(store.access_head().unwrap())
            .unwrap()
            .size(),
        12_000
    );
    // Small writes to the main file (16 KiB pages): 3,000 that never let the WAL start over
    // would leave it past 150 MB.
    for key in 0..3_000 {
        let name = format!("key {key}");
        store
            .write(&mut |tx| {
                tx.insert_api_key(&dprofile_store::NewApiKey {
                    name: &name,
                    agency: "mvd",
                    role: "migration_officer",
                    token_hash: name.as_bytes(),
                    created_at: now(),
                })
                .map(|_| ())
            })
            .unwrap();
    }
    let main_wal = wal_of(store.path());
    assert!(
        main_wal < 100 * 1024 * 1024,
        "the WAL grew to {main_wal} bytes over 3,000 small commits: it never started over"
    );
}
