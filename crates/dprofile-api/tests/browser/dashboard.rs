//! Browser tests of the analysts' dashboard: the analyst (signed in over the API, the session
//! put in the browser's cookie) sees charts and tables with small counts suppressed, the CSV
//! downloads suppress the same counts, and an officer without the `aggregate` action is
//! refused.

use serde_json::{Value, json};

use super::support::{Browser, OFFICER_PASSWORD, TestServer};

/// The dashboard's minimum count in the test server (the default).
const MIN_COUNT: u64 = 10;

/// An officer's session token from `POST /v1/officer/sign-in`.
async fn officer_token(server: &TestServer, login: &str) -> String {
    let body: Value = reqwest::Client::new()
        .post(server.url("/v1/officer/sign-in"))
        .json(&json!({"login": login, "password": OFFICER_PASSWORD}))
        .send()
        .await
        .expect("the sign-in answers")
        .json()
        .await
        .expect("a JSON answer");
    body["token"].as_str().expect("a session token").to_owned()
}

async fn get_with_session(server: &TestServer, token: &str, path: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(server.url(path))
        .header("cookie", format!("dp_officer={token}"))
        .send()
        .await
        .expect("the page answers")
}

/// Whether a shown count is allowed: a suppression marker, zero, or at least the minimum.
fn allowed_count(text: &str) -> bool {
    let text = text.trim();
    if text == format!("<{MIN_COUNT}") || text == "suppressed" || text == "…" {
        return true;
    }
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    match digits.parse::<u64>() {
        Ok(count) => count == 0 || count >= MIN_COUNT,
        Err(_) => false,
    }
}

#[tokio::test]
async fn small_counts_are_suppressed_in_every_csv_download() {
    let server = TestServer::start().await;
    let token = officer_token(&server, "a.sokolov").await;
    let mut markers = 0;
    for table in [
        "citizenship",
        "region",
        "stay-basis",
        "status",
        "crossings",
        "expiring",
    ] {
        let response = get_with_session(&server, &token, &format!("/analytics/{table}.csv")).await;
        assert_eq!(response.status(), 200, "{table}.csv");
        assert!(
            response
                .headers()
                .get("content-type")
                .and_then(|value| value.to_str().ok())
                .is_some_and(|value| value.starts_with("text/csv")),
            "{table}.csv is CSV"
        );
        let csv = response.text().await.expect("the CSV");
        let mut lines = csv.lines();
        assert!(
            lines
                .next()
                .is_some_and(|header| header.starts_with("group,")),
            "{table}.csv has a header: {csv}"
        );
        for line in lines {
            for count in line.split(',').skip(1) {
                assert!(
                    allowed_count(count),
                    "{table}.csv shows a count below {MIN_COUNT}: `{line}`"
                );
                if count == format!("<{MIN_COUNT}") {
                    markers += 1;
                }
            }
        }
    }
    assert!(
        markers > 0,
        "a population of 300 has small groups, and they are marked"
    );
    // An unknown table is a clear 404.
    let response = get_with_session(&server, &token, "/analytics/persons.csv").await;
    assert_eq!(response.status(), 404);
    // A migration officer's role has no `aggregate` action: refused, and told why.
    let officer = officer_token(&server, "i.petrova").await;
    let refused = get_with_session(&server, &officer, "/analytics").await;
    assert_eq!(refused.status(), 403);
    let page = refused.text().await.expect("the refusal page");
    assert!(
        page.contains("policy.action_not_granted") || page.contains("policy.purpose_not_granted"),
        "{page}"
    );
    let refused_csv = get_with_session(&server, &officer, "/analytics/citizenship.csv").await;
    assert_eq!(refused_csv.status(), 403);
    // Every view is in the access log: aggregate, statistics, no person.
    let entries = server.store.access_rows(0, 10_000).expect("the access log");
    let aggregates: Vec<_> = entries
        .iter()
        .filter_map(dprofile_store::AccessRow::entry)
        .filter(|entry| entry.action == dprofile_audit::AccessAction::Aggregate)
        .collect();
    assert!(
        aggregates.len() >= 8,
        "six downloads and two refusals are logged"
    );
    for entry in aggregates {
        assert_eq!(entry.purpose, "statistics");
        assert_eq!(entry.person, None);
    }
}

#[tokio::test]
async fn the_analyst_sees_charts_and_tables_with_small_counts_suppressed() {
    let server = TestServer::start().await;
    let token = officer_token(&server, "a.sokolov").await;
    let Some(browser) = Browser::start(&server.base_url).await else {
        return;
    };
    // A cookie belongs to a site: visit one of its pages first.
    browser.goto("/check?lang=en").await;
    // As the registry sets it; without a SameSite the driver sends `None`, which Chromium
    // refuses on a cookie that is not `Secure`.
    let cookie = fantoccini::cookies::Cookie::parse(format!(
        "dp_officer={token}; Path=/; Domain=127.0.0.1; HttpOnly; SameSite=Strict"
    ))
    .expect("a cookie");
    browser
        .client
        .add_cookie(cookie)
        .await
        .expect("the session cookie is set");
    browser.goto("/analytics").await;
    assert_eq!(browser.text("h1").await, "Migration picture");
    let charts = browser
        .client
        .find_all(fantoccini::Locator::Css("figure svg[role=img] title"))
        .await
        .expect("the charts");
    assert_eq!(charts.len(), 6, "one chart per table");
    let tables = browser
        .client
        .find_all(fantoccini::Locator::Css("table.data-table"))
        .await
        .expect("the tables");
    assert_eq!(tables.len(), 6, "a table beside each chart");
    let cells = browser
        .client
        .find_all(fantoccini::Locator::Css("table.data-table td.num"))
        .await
        .expect("the cells");
    let mut markers = 0;
    for cell in cells {
        let text = cell.text().await.expect("a cell's text");
        assert!(
            allowed_count(&text),
            "a count below {MIN_COUNT} is shown: `{text}`"
        );
        if text.trim() == format!("<{MIN_COUNT}") {
            markers += 1;
        }
    }
    assert!(markers > 0, "the small groups carry the suppression marker");
    assert!(
        browser
            .find("a.csv-link[href='/analytics/citizenship.csv']")
            .await
            .text()
            .await
            .expect("the link's text")
            .contains("CSV")
    );
    browser.assert_accessible("/analytics").await;
    browser.screenshot("analytics").await;
    browser.finish().await;
}
