//! Issue 6's whole journey in one browser, each step caused by the one before: an officer reads
//! a person's profile and a status explanation and resolves a possible match; that person signs
//! in and sees the officer's read in their access log, makes a share code, which a checker
//! enters and sees only the purpose's fields; the person's QR pass, downloaded, is verified on
//! the checker's page; an analyst signs in and sees the dashboard's charts.

use base64::Engine as _;
use serde_json::json;

use super::officer::{open_review_item, press_enter_in};
use super::support::{Browser, OFFICER_PASSWORD, TestServer};

/// The demo person of the synthetic population.
const DOCUMENT: &str = dprofile_synth::DEMO_PASSPORT;
const BIRTH_DATE: &str = dprofile_synth::DEMO_BIRTH_DATE;
const CASE: &str = "MV-2026-0977";

async fn sign_in_to_the_console(browser: &Browser, login: &str) {
    browser.goto("/officer/sign-in").await;
    browser.fill("#login", login).await;
    browser.fill("#password", OFFICER_PASSWORD).await;
    press_enter_in(browser, "#password").await;
}

/// Waits (up to 10 s) until a form sent from a page under `path` has brought the browser
/// elsewhere: the next step must not race the answer that sets the session cookie.
async fn wait_until_away_from(browser: &Browser, path: &str) {
    for _ in 0..100 {
        if !browser.path().await.starts_with(path) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!(
        "the browser stayed on {path}: {}",
        browser.page_text().await
    );
}

#[tokio::test]
async fn officer_person_checker_and_analyst_one_after_the_other() {
    let server = TestServer::start().await;
    let Some(browser) = Browser::start(&server.base_url).await else {
        return;
    };
    let (item_id, _) = open_review_item(&server);

    // The officer: sign in, state the purpose and case, find the person, open the profile and
    // a status explanation.
    sign_in_to_the_console(&browser, "i.petrova").await;
    browser
        .find("#purpose")
        .await
        .select_by_value("stay_control")
        .await
        .expect("the purpose is chosen");
    browser.fill("#case_ref", CASE).await;
    press_enter_in(&browser, "#case_ref").await;
    browser.fill("#document", DOCUMENT).await;
    press_enter_in(&browser, "#document").await;
    browser.click(".results a").await;
    browser.find("#statuses-heading").await;
    press_enter_in(&browser, "table.statuses details summary").await;
    let explanation = browser.text("table.statuses details").await;
    assert!(explanation.contains("Records relied on"), "{explanation}");
    browser
        .assert_accessible("the officer's profile page")
        .await;

    // …and resolves a possible match.
    browser.goto(&format!("/officer/review/{item_id}")).await;
    browser
        .fill("#reason", "two men: different passports and SNILS")
        .await;
    browser.click("button[value=reject]").await;
    let notice = browser.text("p.notice.ok").await;
    assert!(
        notice.contains(&format!("Item {item_id} rejected")),
        "{notice}"
    );
    browser.click(".console-bar button").await;
    browser.find("#login").await;

    // The person: signs in and sees the read the officer just made, with its purpose and case.
    browser.goto("/my/sign-in?lang=en").await;
    browser.fill("#document_number", DOCUMENT).await;
    browser.fill("#birth_date", BIRTH_DATE).await;
    press_enter_in(&browser, "#birth_date").await;
    browser.find("#code").await;
    let person = server
        .store
        .find_by_identifier(Some(dprofile_domain::linking::KeyKind::Passport), DOCUMENT)
        .expect("the store answers")[0];
    let code = server.codes.last_for(person).expect("a code was sent");
    browser.fill("#code", &code).await;
    press_enter_in(&browser, "#code").await;
    wait_until_away_from(&browser, "/my/sign-in").await;
    browser.goto("/my/access-log").await;
    let log = browser.page_text().await;
    assert!(
        log.contains("officer i.petrova") && log.contains(CASE),
        "the officer's read is in the person's log: {log}"
    );
    browser.assert_accessible("the person's access log").await;

    // …makes a share code for an employer…
    browser.goto("/my/share-codes").await;
    browser.fill("#valid_days", "30").await;
    press_enter_in(&browser, "#valid_days").await;
    let created = browser.text("#new-code").await;
    let share_code = created
        .split_whitespace()
        .find(|word| word.len() == 11 && word.matches('-').count() == 2)
        .unwrap_or_else(|| panic!("a share code on the page: {created}"))
        .to_owned();

    // …and downloads the QR pass.
    browser.goto("/my/pass").await;
    browser.fill("#valid_days", "14").await;
    press_enter_in(&browser, "#valid_days").await;
    browser.find("figure.pass img").await;
    let png_base64 = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch(document.querySelector(arguments[0]).href)
               .then(r => r.arrayBuffer())
               .then(b => { let s = ''; new Uint8Array(b).forEach(x => s += String.fromCharCode(x)); done(btoa(s)); })
               .catch(e => done('error ' + e));",
            vec![json!("a.pass-png")],
        )
        .await
        .expect("the PNG is downloaded");
    let png = base64::engine::general_purpose::STANDARD
        .decode(png_base64.as_str().unwrap_or_default())
        .expect("the PNG's bytes");
    assert!(png.starts_with(b"\x89PNG"), "a PNG was downloaded");
    let pass_file =
        std::env::temp_dir().join(format!("dprofile-journey-{}.png", std::process::id()));
    std::fs::write(&pass_file, &png).expect("the pass is saved");

    // The checker: the share code with the birth date shows only the work purpose's fields.
    browser.goto("/check?lang=en").await;
    browser.fill("#code", &share_code).await;
    browser.fill("#birth_date", BIRTH_DATE).await;
    // Sent from the keyboard, as every form of the pages can be.
    press_enter_in(&browser, "#birth_date").await;
    browser.find("#verdict-heading").await;
    let verdict = browser.text(".verdict").await;
    assert!(verdict.contains("Purpose: right to work"), "{verdict}");
    for never in ["Tax", "Offence", "Entry ban", DOCUMENT] {
        assert!(
            !verdict.contains(never),
            "`{never}` is not the purpose's: {verdict}"
        );
    }
    browser
        .assert_accessible("the checker's code verdict")
        .await;

    // …and the downloaded pass verifies there (on a fresh page: the code's verdict must not be
    // mistaken for the pass's).
    browser.goto("/check?lang=en").await;
    browser
        .find("#pass")
        .await
        .send_keys(pass_file.to_str().expect("a path"))
        .await
        .expect("the file is chosen");
    browser.click("#check-pass-submit").await;
    assert_eq!(browser.text("#verdict-heading").await, "The pass is valid");
    browser
        .assert_accessible("the checker's pass verdict")
        .await;
    let _ = std::fs::remove_file(&pass_file);

    // The analyst: signs in and lands on the dashboard's charts.
    sign_in_to_the_console(&browser, "a.sokolov").await;
    browser.find("figure svg[role=img]").await;
    assert_eq!(browser.path().await, "/analytics");
    browser.assert_accessible("the analysts' dashboard").await;
    browser.finish().await;
}
