//! Browser tests of the checker's page: a share code the person made through the API, checked
//! on `/check` with the birth date, shows the verdict and only the purpose's fields; the PNG of
//! a QR pass the person downloaded verifies when uploaded.

use dprofile_store::Store;
use serde_json::{Value, json};

use super::support::{Browser, TestServer};

/// A person of the population who can sign in: (id, document number, birth date, family name).
fn a_person(store: &dyn Store) -> (i64, String, String, String) {
    for person in 1..=50 {
        let Ok(versions) = store.person_versions(person) else {
            continue;
        };
        for version in versions {
            let Ok(raw) = serde_json::from_slice::<Value>(&version.raw) else {
                continue;
            };
            let subject = &raw["subject"];
            let birth_date = subject["birth_date"].as_str().unwrap_or_default();
            let passport = subject["documents"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|document| document["kind"] == "passport")
                .and_then(|document| document["number"].as_str());
            let family = subject["names"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|name| name["script"] == "Latn")
                .and_then(|name| name["family"].as_str());
            if let (Some(number), Some(family)) = (passport, family)
                && birth_date.len() == 10
            {
                return (
                    person,
                    number.to_owned(),
                    birth_date.to_owned(),
                    family.to_owned(),
                );
            }
        }
    }
    panic!("no person with a passport and a full birth date in the population");
}

/// Signs the person in over the API (`/v1/me/sign-in`, the captured code, `/v1/me/verify`)
/// and answers a client carrying the session.
async fn person_session(
    server: &TestServer,
    person: i64,
    document: &str,
    birth_date: &str,
) -> reqwest::Client {
    let http = reqwest::Client::new();
    let started: Value = http
        .post(server.url("/v1/me/sign-in"))
        .json(&json!({"document_number": document, "birth_date": birth_date}))
        .send()
        .await
        .expect("the sign-in answers")
        .json()
        .await
        .expect("a JSON answer");
    let sign_in_id = started["sign_in_id"].as_str().expect("a sign-in id");
    let code = server.codes.last_for(person).expect("a code was sent");
    let session: Value = http
        .post(server.url("/v1/me/verify"))
        .json(&json!({"sign_in_id": sign_in_id, "code": code}))
        .send()
        .await
        .expect("the verification answers")
        .json()
        .await
        .expect("a JSON answer");
    let token = session["token"].as_str().expect("a session token");
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().expect("a header"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("a client")
}

#[tokio::test]
async fn a_share_code_shows_the_verdict_and_only_the_purposes_fields() {
    let server = TestServer::start().await;
    let (person, document, birth_date, family) = a_person(server.store.as_ref());
    let session = person_session(&server, person, &document, &birth_date).await;
    let created: Value = session
        .post(server.url("/v1/me/share-codes"))
        .json(&json!({"purpose": "work"}))
        .send()
        .await
        .expect("the code is created")
        .json()
        .await
        .expect("a JSON answer");
    let code = created["code"].as_str().expect("a code").to_owned();
    let Some(browser) = Browser::start(&server.base_url).await else {
        return;
    };
    browser.goto("/check?lang=en").await;
    browser.assert_accessible("/check").await;

    // A wrong birth date: not confirmed, nothing shown.
    browser.fill("#code", &code).await;
    browser.fill("#birth_date", "1900-01-01").await;
    browser.click("#check-code-submit").await;
    let text = browser.text("#verdict-heading").await;
    assert_eq!(text, "Not confirmed");
    assert!(browser.page_text().await.contains("do not match"));
    assert!(!browser.page_text().await.contains("Right to work"));

    // A malformed birth date: the error is next to the field, naming the rule.
    browser.fill("#birth_date", "14.07.1991").await;
    browser.click("#check-code-submit").await;
    let error = browser.text("#birth-date-error").await;
    assert!(
        error.starts_with("Birth date: it must be a full date"),
        "{error}"
    );
    browser.assert_accessible("/check/code with an error").await;

    // The right birth date: the work purpose's view and nothing else.
    browser.fill("#birth_date", &birth_date).await;
    browser.fill("#checker", "Stroy LLC").await;
    browser.click("#check-code-submit").await;
    let heading = browser.text("#verdict-heading").await;
    assert!(
        heading == "Confirmed" || heading == "Checked: the answer is no",
        "{heading}"
    );
    let verdict = browser.text(".verdict").await;
    assert!(verdict.contains("Purpose: right to work"), "{verdict}");
    assert!(verdict.contains("Right to work"), "{verdict}");
    assert!(
        verdict.to_uppercase().contains(&family.to_uppercase()),
        "the work view names the person: {verdict}"
    );
    for never in ["Tax", "Offence", "Entry ban", "Document number", &document] {
        assert!(
            !verdict.contains(never),
            "`{never}` is not the purpose's: {verdict}"
        );
    }
    browser
        .assert_accessible("/check/code with a verdict")
        .await;
    browser.screenshot("checker").await;

    // The check is in the person's access log, under the organisation the checker named.
    let log: Value = session
        .get(server.url("/v1/me/access-log"))
        .send()
        .await
        .expect("the access log answers")
        .json()
        .await
        .expect("a JSON answer");
    let entries = log["entries"].as_array().cloned().unwrap_or_default();
    assert!(
        entries
            .iter()
            .any(|entry| entry.to_string().contains("Stroy LLC")),
        "the check is logged for the person: {log}"
    );
    browser.finish().await;
}

#[tokio::test]
async fn a_downloaded_qr_pass_verifies_on_the_checkers_page() {
    let server = TestServer::start().await;
    let (person, document, birth_date, _) = a_person(server.store.as_ref());
    let session = person_session(&server, person, &document, &birth_date).await;
    let pass: Value = session
        .post(server.url("/v1/me/passes"))
        .json(&json!({"view": "status_only"}))
        .send()
        .await
        .expect("the pass is issued")
        .json()
        .await
        .expect("a JSON answer");
    let png_path = pass["png"].as_str().expect("the PNG's path");
    let png = session
        .get(server.url(png_path))
        .send()
        .await
        .expect("the PNG answers")
        .bytes()
        .await
        .expect("the PNG's bytes");
    let directory = tempfile_dir();
    let pass_file = directory.join("pass.png");
    std::fs::write(&pass_file, &png).expect("the pass is saved");
    let Some(browser) = Browser::start(&server.base_url).await else {
        return;
    };
    browser.goto("/check?lang=en").await;
    // A real PNG with no QR code in it: a picture of the page itself.
    let not_a_pass = directory.join("page.png");
    let page = browser.client.screenshot().await.expect("a screenshot");
    std::fs::write(&not_a_pass, page).expect("the picture is saved");

    // A picture with no QR code in it: said next to the field.
    let upload = browser.find("#pass").await;
    upload
        .send_keys(not_a_pass.to_str().expect("a path"))
        .await
        .expect("the file is chosen");
    browser.click("#check-pass-submit").await;
    let error = browser.text("#pass-error").await;
    assert!(error.contains("no QR code was found"), "{error}");

    let upload = browser.find("#pass").await;
    upload
        .send_keys(pass_file.to_str().expect("a path"))
        .await
        .expect("the file is chosen");
    browser.click("#check-pass-submit").await;
    assert_eq!(browser.text("#verdict-heading").await, "The pass is valid");
    let verdict = browser.text(".verdict").await;
    assert!(verdict.contains("Lawful stay"), "{verdict}");
    assert!(
        !verdict.contains(&document),
        "a status-only pass shows no identity: {verdict}"
    );
    browser
        .assert_accessible("/check/pass with a verdict")
        .await;
    browser.finish().await;
    let _ = std::fs::remove_dir_all(&directory);
}

/// A fresh directory for the test's files.
fn tempfile_dir() -> std::path::PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or_default();
    let directory =
        std::env::temp_dir().join(format!("dprofile-checker-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&directory).expect("a temporary directory");
    directory
}
