//! The officers' console in a real browser: sign in (a wrong password first), state the purpose
//! and the case, find a person, read the profile and a status explanation, the history, and
//! resolve a review item — with forms submitted from the keyboard and axe-core on every page.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use dprofile_pipeline::{IngestOptions, Ingestor, Line, SystemClock};
use fantoccini::key::Key;
use serde_json::{Value, json};

use super::support::{Browser, OFFICER_PASSWORD, TestServer};

/// A tax record about a man called KARIMOV with this passport and SNILS.
fn tax_record(source_ref: &str, passport: &str, snils: &str) -> Value {
    json!({
        "source": "fns", "source_ref": source_ref, "revision": 1, "action": "upsert",
        "category": "tax_debt", "observed_at": "2026-03-01T09:00:00Z",
        "valid_from": "2026-03-01", "valid_to": null,
        "subject": {
            "names": [{"script": "Latn", "family": "KARIMOV", "given": "RUSTAM"}],
            "birth_date": "1991-07-14", "sex": "M", "citizenship": "UZB",
            "documents": [{"kind": "passport", "country": "UZB", "number": passport}],
            "identifiers": {"snils": snils}},
        "data": {"balance": -1250.00, "as_of": "2026-03-01"}
    })
}

/// Two persons, then a record with the first one's passport and the second one's SNILS: linked
/// to one of them, and a review item opened for an officer. Returns the item's id and persons.
pub(super) fn open_review_item(server: &TestServer) -> (i64, Vec<i64>) {
    let store = server.store.clone();
    std::thread::spawn(move || {
        let ingestor = Ingestor::new(store.clone(), Arc::new(SystemClock));
        // Items the synthetic population opened already are not this one.
        let newest_before = store
            .review_items("open", 100_000)
            .expect("the review items")
            .iter()
            .map(|item| item.id)
            .max()
            .unwrap_or(0);
        let records = [
            tax_record("fns-browser-1", "FA7000001", "123-456-789 64"),
            tax_record("fns-browser-2", "FA7000002", "112-233-445 95"),
            tax_record("fns-browser-3", "FA7000001", "112-233-445 95"),
        ];
        for (number, record) in records.iter().enumerate() {
            ingestor
                .ingest_lines(
                    vec![Line {
                        number: number as u64 + 1,
                        bytes: record.to_string().into_bytes(),
                    }],
                    &IngestOptions::default(),
                )
                .expect("the records are ingested");
        }
        let items = store.review_items("open", 1000).expect("the review items");
        let item = items
            .iter()
            .filter(|item| item.id > newest_before)
            .find(|item| item.kind == "identifier_conflict")
            .expect("a review item about the bridging record");
        (item.id, item.person_ids.clone())
    })
    .join()
    .expect("the records are ingested")
}

/// The passport number of the synthetic person with the most categories of records: the
/// profile worth a screenshot.
fn richest_synthetic_document() -> String {
    let config = dprofile_synth::SynthConfig::new(super::support::PERSONS, 42);
    let mut categories: BTreeMap<u64, BTreeSet<String>> = BTreeMap::new();
    let mut passports: BTreeMap<u64, BTreeMap<String, usize>> = BTreeMap::new();
    dprofile_synth::generate(&config, |record| {
        let Ok(line) = serde_json::from_str::<Value>(&record.line) else {
            return;
        };
        if let Some(category) = line["category"].as_str() {
            categories
                .entry(record.person)
                .or_default()
                .insert(category.to_owned());
        }
        for document in line["subject"]["documents"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if document["kind"] == "passport"
                && let Some(number) = document["number"].as_str()
            {
                *passports
                    .entry(record.person)
                    .or_default()
                    .entry(number.to_owned())
                    .or_default() += 1;
            }
        }
    });
    let richest = categories
        .iter()
        .filter(|(person, _)| passports.contains_key(person))
        .max_by_key(|(person, categories)| (categories.len(), std::cmp::Reverse(**person)))
        .map(|(person, _)| *person)
        .expect("a synthetic person with a passport");
    passports[&richest]
        .iter()
        .max_by_key(|(number, count)| (**count, std::cmp::Reverse((*number).clone())))
        .map(|(number, _)| number.clone())
        .expect("a passport")
}

/// Presses Enter in the field matching `css`: the form is sent from the keyboard.
pub(super) async fn press_enter_in(browser: &Browser, css: &str) {
    browser
        .find(css)
        .await
        .send_keys(&Key::Enter.to_string())
        .await
        .unwrap_or_else(|error| panic!("cannot press Enter in `{css}`: {error}"));
}

#[tokio::test]
async fn an_officer_signs_in_states_a_case_finds_a_person_and_resolves_a_review_item() {
    let server = TestServer::start().await;
    let Some(browser) = Browser::start(&server.base_url).await else {
        return;
    };
    let (item_id, item_persons) = open_review_item(&server);
    let document = richest_synthetic_document();

    // Any console page without a session goes to the sign-in, and back afterwards.
    browser.goto("/officer").await;
    assert_eq!(browser.path().await, "/officer/sign-in?next=%2Fofficer");
    browser.assert_accessible("the sign-in page").await;

    // A wrong password: the error does not say whether the login exists.
    browser.fill("#login", "i.petrova").await;
    browser.fill("#password", "not the password at all").await;
    press_enter_in(&browser, "#password").await;
    let failure = browser.text("#sign-in-failure").await;
    assert!(failure.contains("Sign-in failed"), "{failure}");
    assert!(!failure.contains("i.petrova"), "{failure}");
    browser.assert_accessible("the failed sign-in").await;

    // The right password, sent with Enter.
    browser.fill("#password", OFFICER_PASSWORD).await;
    press_enter_in(&browser, "#password").await;

    // No purpose and case yet: the form, not data.
    browser.find("#case_ref").await;
    assert_eq!(browser.path().await, "/officer");
    assert!(
        browser
            .page_text()
            .await
            .contains("State the purpose and the case")
    );
    browser.assert_accessible("the purpose and case form").await;
    browser
        .find("#purpose")
        .await
        .select_by_value("stay_control")
        .await
        .expect("the purpose is chosen");
    browser.fill("#case_ref", "MV-2026-0412").await;
    press_enter_in(&browser, "#case_ref").await;

    // The search, by document.
    browser.find("#document").await;
    let bar = browser.text("#current-case").await;
    assert!(
        bar.contains("stay_control") && bar.contains("MV-2026-0412"),
        "{bar}"
    );
    browser.assert_accessible("the search page").await;
    browser.fill("#document", &document).await;
    press_enter_in(&browser, "#document").await;
    browser.find(".results a").await;
    browser.assert_accessible("the search results").await;
    browser.click(".results a").await;

    // The profile: categories with sources, statuses with explanations.
    browser.find("#statuses-heading").await;
    let path = browser.path().await;
    let person_id: i64 = path
        .strip_prefix("/officer/persons/")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("a profile page: {path}"));
    let page = browser.page_text().await;
    assert!(page.contains("Facts by category"), "{page}");
    assert!(page.contains("Source"), "{page}");
    browser.assert_accessible("the profile page").await;
    browser.screenshot("officer").await;
    // A status explanation opens from the keyboard (a `<details>`: no script needed).
    browser
        .find("table.statuses details summary")
        .await
        .send_keys(&Key::Enter.to_string())
        .await
        .expect("the explanation opens");
    let explanation = browser.text("table.statuses details").await;
    assert!(explanation.contains("Records relied on"), "{explanation}");
    browser
        .assert_accessible("the profile with an explanation open")
        .await;

    // The view is in the access log with the stated purpose and case.
    let store = server.store.clone();
    let entries = std::thread::spawn(move || store.access_rows(0, 1_000_000))
        .join()
        .expect("the access log is read")
        .expect("the access log");
    let logged = entries
        .iter()
        .filter_map(|row| row.details.as_deref())
        .filter_map(dprofile_audit::AccessEntry::from_canonical)
        .map(|(_, entry)| entry)
        .find(|entry| {
            entry.person == Some(person_id)
                && entry.action == dprofile_audit::AccessAction::Read
                && entry.actor == "officer:i.petrova"
        })
        .expect("the profile view is logged");
    assert_eq!(logged.purpose, "stay_control");
    assert_eq!(logged.case_ref.as_deref(), Some("MV-2026-0412"));

    // The person's history.
    browser
        .click(&format!("a[href='/officer/persons/{person_id}/history']"))
        .await;
    browser.find("#decisions-heading").await;
    browser.assert_accessible("the history page").await;

    // The review queue and the item, side by side; rejected from the keyboard.
    browser.click("a[href='/officer/review']").await;
    browser
        .find(&format!("a[href='/officer/review/{item_id}']"))
        .await;
    browser.assert_accessible("the review queue").await;
    browser
        .click(&format!("a[href='/officer/review/{item_id}']"))
        .await;
    browser.find("#compare-heading").await;
    let compared = browser.text("table.side-by-side").await;
    for person in &item_persons {
        assert!(compared.contains(&format!("Person {person}")), "{compared}");
    }
    assert!(compared.contains("Identifiers"), "{compared}");
    browser.assert_accessible("the review item").await;
    browser
        .fill(
            "#reason",
            "different persons: the passports belong to two men",
        )
        .await;
    // Tab from the reason to "Confirm", once more to "Reject", and press it.
    browser
        .find("#reason")
        .await
        .send_keys(&format!("{}{}", Key::Tab, Key::Tab))
        .await
        .expect("tab to the buttons");
    browser
        .client
        .active_element()
        .await
        .expect("the focused button")
        .send_keys(&Key::Enter.to_string())
        .await
        .expect("the button is pressed");
    let notice = browser.text("p.notice.ok").await;
    assert!(
        notice.contains(&format!("Item {item_id} rejected")),
        "{notice}"
    );
    browser
        .assert_accessible("the queue after the decision")
        .await;
    let store = server.store.clone();
    let first = item_persons[0];
    let decisions = std::thread::spawn(move || store.person_decisions(first))
        .join()
        .expect("the history is read")
        .expect("the history");
    assert!(
        decisions
            .iter()
            .any(|decision| decision.kind == "reject" && decision.actor == "officer:i.petrova"),
        "{decisions:?}"
    );

    // The correction queue of the agency: this purpose may not answer, and the page says so.
    browser.click("a[href='/officer/corrections']").await;
    let refusal = browser.text("main .notice.error").await;
    assert!(refusal.contains("correction_handling"), "{refusal}");
    browser.assert_accessible("the correction queue").await;

    // Sign out: the session ends.
    browser.click(".console-bar button").await;
    browser.find("#login").await;
    browser.goto("/officer").await;
    assert!(browser.path().await.starts_with("/officer/sign-in"));
    browser.finish().await;
}
