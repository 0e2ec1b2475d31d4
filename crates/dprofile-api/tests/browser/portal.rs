//! The person's portal: every page in every language over plain HTTP (signed in through the
//! pages themselves), and the person's flow in a real browser — sign in with the one-time
//! code, see the officer who just looked, make a share code, get the QR pass, switch language,
//! notify an arrival — with axe-core on every page and the forms driven from the keyboard.

use dprofile_domain::linking::KeyKind;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};

use super::support::{Browser, OFFICER_PASSWORD, TestServer};

/// The demo person of the synthetic population (DESIGN.md's example).
const DOCUMENT: &str = "FA1234567";
const BIRTH_DATE: &str = "1991-07-14";
const LOCALES: [&str; 5] = ["ru", "en", "uz", "tg", "ky"];
/// Every page of the portal.
const PAGES: [&str; 7] = [
    "/my/sign-in",
    "/my",
    "/my/access-log",
    "/my/share-codes",
    "/my/pass",
    "/my/corrections",
    "/my/arrival",
];
/// WebDriver's Enter key.
const ENTER: &str = "\u{E007}";

fn demo_person(server: &TestServer) -> i64 {
    let holders = server
        .store
        .find_by_identifier(Some(KeyKind::Passport), DOCUMENT)
        .expect("the store answers");
    assert_eq!(holders.len(), 1, "one holder of {DOCUMENT}: {holders:?}");
    holders[0]
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client")
}

/// The value of the hidden input `name` in a page.
fn hidden_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no `{name}` field in {html}"))
        + marker.len();
    html[start..].split('"').next().expect("a value").to_owned()
}

/// Signs the demo person in through the portal's own forms; answers the `dp_person` cookie.
async fn sign_in_over_http(server: &TestServer) -> String {
    let http = client();
    let code_page = http
        .post(server.url("/my/sign-in"))
        .form(&[
            ("document_number", DOCUMENT),
            ("birth_date", "14.07.1991"),
            ("next", "/my"),
        ])
        .send()
        .await
        .expect("the sign-in answers");
    assert_eq!(code_page.status(), StatusCode::OK);
    let html = code_page.text().await.expect("the code page");
    let sign_in_id = hidden_value(&html, "sign_in_id");
    let code = server
        .codes
        .last_for(demo_person(server))
        .expect("a code was sent to the demo person");
    let wrong = http
        .post(server.url("/my/sign-in/code"))
        .form(&[("sign_in_id", sign_in_id.as_str()), ("code", "000000x")])
        .header(COOKIE, "dp_lang=en")
        .send()
        .await
        .expect("the code check answers");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let wrong_page = wrong.text().await.expect("the page");
    assert!(
        wrong_page.contains("id=\"code-error\"") && wrong_page.contains("attempts left"),
        "a wrong code is named next to the field: {wrong_page}"
    );
    let signed_in = http
        .post(server.url("/my/sign-in/code"))
        .form(&[
            ("sign_in_id", sign_in_id.as_str()),
            ("code", code.as_str()),
            ("next", "/my/access-log"),
        ])
        .send()
        .await
        .expect("the code check answers");
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        signed_in
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok()),
        Some("/my/access-log")
    );
    let cookie = signed_in
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with("dp_person="))
        .expect("a session cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    cookie
        .split(';')
        .next()
        .expect("the cookie pair")
        .to_owned()
}

/// Whether `text` shows a date written as `lang` writes dates (`6 Nov 2026`, `06.11.2026`,
/// `06/11/2026`).
fn has_locale_date(text: &str, lang: &str) -> bool {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    if lang == "en" {
        let words: Vec<&str> = text
            .split(|c: char| c.is_whitespace() || c == '<' || c == '>')
            .collect();
        return words.windows(3).any(|window| {
            window[0]
                .parse::<u32>()
                .is_ok_and(|day| (1..=31).contains(&day))
                && MONTHS.contains(&window[1])
                && window[2].len() == 4
                && window[2].parse::<u32>().is_ok()
        });
    }
    let separator = if lang == "uz" || lang == "tg" {
        '/'
    } else {
        '.'
    };
    let chars: Vec<char> = text.chars().collect();
    chars.windows(10).any(|window| {
        window.iter().enumerate().all(|(index, c)| match index {
            2 | 5 => *c == separator,
            _ => c.is_ascii_digit(),
        })
    })
}

/// Things on the pages that carry dates: a share code, a pass, a correction request, an
/// arrival notice.
async fn make_dated_things(server: &TestServer, cookie: &str) {
    let http = client();
    for (path, form) in [
        (
            "/my/share-codes",
            vec![("purpose", "rent"), ("valid_days", "")],
        ),
        (
            "/my/pass",
            vec![("view", "status_only"), ("valid_days", "10")],
        ),
        (
            "/my/arrival",
            vec![
                ("arrival_on", "2099-05-01"),
                ("departure_on", "2099-05-20"),
                ("purpose", "tourism"),
                ("address_region", "78"),
                ("address_city", "Санкт-Петербург"),
                ("address_street", "Невский пр., д. 1"),
                ("checkpoint", ""),
            ],
        ),
    ] {
        let answer = http
            .post(server.url(path))
            .header(COOKIE, cookie)
            .form(&form)
            .send()
            .await
            .expect("the form answers");
        assert!(
            answer.status().is_success() || answer.status() == StatusCode::SEE_OTHER,
            "{path}: {}",
            answer.text().await.unwrap_or_default()
        );
    }
    // A correction request about the first fact with a data field.
    let page = http
        .get(server.url("/my/corrections"))
        .header(COOKIE, cookie)
        .send()
        .await
        .expect("the page")
        .text()
        .await
        .expect("the page's text");
    let record = hidden_option(&page);
    let chosen = http
        .get(server.url(&format!("/my/corrections?record={record}")))
        .header(COOKIE, cookie)
        .send()
        .await
        .expect("the page")
        .text()
        .await
        .expect("the page's text");
    let field = hidden_value_of_checkbox(&chosen);
    let filed = http
        .post(server.url("/my/corrections"))
        .header(COOKIE, cookie)
        .form(&[
            ("record_id", record.as_str()),
            ("fields", field.as_str()),
            ("explanation", "the value is not mine"),
        ])
        .send()
        .await
        .expect("the filing answers");
    assert_eq!(
        filed.status(),
        StatusCode::SEE_OTHER,
        "{}",
        filed.text().await.unwrap_or_default()
    );
}

/// The first record offered in the correction form.
fn hidden_option(html: &str) -> String {
    let select = html.find("id=\"record\"").expect("the record choice");
    let start = html[select..]
        .find("<option value=\"")
        .expect("a record to choose")
        + select
        + 15;
    html[start..].split('"').next().expect("an id").to_owned()
}

/// The first field offered as a checkbox.
fn hidden_value_of_checkbox(html: &str) -> String {
    let marker = "name=\"fields\" value=\"";
    let start = html.find(marker).expect("a field to tick") + marker.len();
    // The page escapes `/` as HTML does; a browser would send it back unescaped.
    html[start..]
        .split('"')
        .next()
        .expect("a pointer")
        .replace("&#x2f;", "/")
}

#[tokio::test]
async fn signing_out_of_the_portal_ends_the_session_not_only_the_cookie() {
    let server = TestServer::start().await;
    let cookie = sign_in_over_http(&server).await;
    let http = client();
    let profile = |cookie: String| http.get(server.url("/my")).header(COOKIE, cookie).send();
    let before = profile(cookie.clone()).await.expect("the page answers");
    assert_eq!(before.status(), StatusCode::OK);

    let signed_out = http
        .post(server.url("/my/sign-out"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .expect("the sign-out answers");
    assert_eq!(signed_out.status(), StatusCode::SEE_OTHER);
    let cleared = signed_out
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.starts_with("dp_person=;") && value.contains("Max-Age=0"));
    assert!(cleared, "the cookie is cleared");
    // A copy of the cookie kept elsewhere (another tab's, a stolen one) opens nothing now.
    let after = profile(cookie).await.expect("the page answers");
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
    assert!(
        after
            .headers()
            .get(LOCATION)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|location| location.starts_with("/my/sign-in")),
        "{:?}",
        after.headers()
    );
}

#[tokio::test]
async fn every_portal_page_renders_in_every_language_with_dates_in_its_form() {
    let server = TestServer::start().await;
    let cookie = sign_in_over_http(&server).await;
    make_dated_things(&server, &cookie).await;
    let http = client();
    for lang in LOCALES {
        for path in PAGES {
            let answer = http
                .get(server.url(&format!("{path}?lang={lang}")))
                .header(COOKIE, &cookie)
                .send()
                .await
                .expect("the page answers");
            assert_eq!(answer.status(), StatusCode::OK, "{path} in {lang}");
            let remembered = answer
                .headers()
                .get_all(SET_COOKIE)
                .iter()
                .filter_map(|value| value.to_str().ok())
                .any(|value| value.starts_with(&format!("dp_lang={lang};")));
            assert!(remembered, "{path} in {lang}: the choice is remembered");
            // As a browser shows it: the templates escape `/` (`26/11/2026`) as `&#x2f;`.
            let html = answer
                .text()
                .await
                .expect("the page's text")
                .replace("&#x2f;", "/");
            assert!(
                html.contains(&format!("<html lang=\"{lang}\">")),
                "{path} in {lang}: the page's language"
            );
            assert!(
                !html.contains('⟦'),
                "{path} in {lang}: a message is missing: {}",
                html.split('⟦')
                    .nth(1)
                    .and_then(|rest| rest.split('⟧').next())
                    .unwrap_or("")
            );
            if path != "/my/sign-in" {
                assert!(
                    has_locale_date(&html, lang),
                    "{path} in {lang}: no date in the locale's form"
                );
            }
        }
    }
    // Without a session, the pages send the browser to sign in and come back afterwards.
    let away = http
        .get(server.url("/my/pass"))
        .send()
        .await
        .expect("an answer");
    assert_eq!(
        away.headers().get(LOCATION).and_then(|v| v.to_str().ok()),
        Some("/my/sign-in?next=%2Fmy%2Fpass")
    );
    // The arrival landed as a record of the person's own, through the pipeline.
    let person = demo_person(&server);
    let versions = server.store.person_versions(person).expect("versions");
    assert!(
        versions
            .iter()
            .any(|version| version.category.as_deref() == Some("planned_arrival")),
        "the notice is a record of the profile"
    );
}

#[tokio::test]
async fn the_arrival_form_names_each_wrong_field_in_the_persons_language() {
    let server = TestServer::start().await;
    let cookie = sign_in_over_http(&server).await;
    let answer = client()
        .post(server.url("/my/arrival"))
        .header(COOKIE, format!("{cookie}; dp_lang=ru"))
        .form(&[
            ("arrival_on", "2099-05-01"),
            ("departure_on", "2099-12-20"),
            ("purpose", "tourism"),
            ("address_region", "780"),
            ("address_city", ""),
            ("address_street", "Невский пр., д. 1"),
        ])
        .send()
        .await
        .expect("the form answers");
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    let html = answer.text().await.expect("the page");
    assert!(html.contains("id=\"address_city-error\""), "{html}");
    assert!(html.contains("Город: это поле обязательно"), "{html}");
    assert!(html.contains("aria-invalid=\"true\""));
    // Filled in, the dates are checked by the category's rules.
    let answer = client()
        .post(server.url("/my/arrival"))
        .header(COOKIE, format!("{cookie}; dp_lang=en"))
        .form(&[
            ("arrival_on", "2099-05-01"),
            ("departure_on", "2099-12-20"),
            ("purpose", "tourism"),
            ("address_region", "78"),
            ("address_city", "Saint Petersburg"),
            ("address_street", "Nevsky 1"),
        ])
        .send()
        .await
        .expect("the form answers");
    let html = answer.text().await.expect("the page");
    assert!(html.contains("id=\"departure_on-error\""), "{html}");
    assert!(html.contains("Departure date: the value is out of the allowed range"));
}

/// An officer of the test server reads the demo person through the API, as a real officer
/// would, so that the person has an access to see.
async fn officer_reads(server: &TestServer, person: i64) {
    let http = client();
    let session: Value = http
        .post(server.url("/v1/officer/sign-in"))
        .json(&json!({"login": "i.petrova", "password": OFFICER_PASSWORD}))
        .send()
        .await
        .expect("the sign-in answers")
        .json()
        .await
        .expect("a session");
    let token = session["token"].as_str().expect("a token");
    let read = http
        .get(server.url(&format!("/v1/persons/{person}")))
        .bearer_auth(token)
        .header("X-Purpose", "stay_control")
        .header("X-Case-Ref", "case-portal-7")
        .send()
        .await
        .expect("the read answers");
    assert_eq!(read.status(), StatusCode::OK);
}

/// The content type the link `css` answers, fetched by the page itself (with its cookie).
async fn link_content_type(browser: &Browser, css: &str) -> String {
    let answer = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const link = document.querySelector(arguments[0]);
             fetch(link.href).then(r => r.blob().then(b => done(r.status + ' ' + r.headers.get('content-type') + ' ' + b.size)))
                .catch(e => done('error ' + e));",
            vec![json!(css)],
        )
        .await
        .expect("the fetch runs");
    answer.as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn the_person_signs_in_sees_the_officer_and_shares_a_status_from_the_keyboard() {
    let server = TestServer::start().await;
    let Some(browser) = Browser::start(&server.base_url).await else {
        return;
    };
    let person = demo_person(&server);
    officer_reads(&server, person).await;

    // Sign in: the pages ask for it, and the forms go with Enter alone.
    browser.goto("/my/access-log").await;
    assert_eq!(browser.path().await, "/my/sign-in?next=%2Fmy%2Faccess-log");
    browser.assert_accessible("sign-in").await;
    browser.fill("#document_number", DOCUMENT).await;
    browser.fill("#birth_date", BIRTH_DATE).await;
    browser
        .find("#birth_date")
        .await
        .send_keys(ENTER)
        .await
        .expect("Enter");
    browser.find("#code").await;
    browser.assert_accessible("code").await;
    let code = server.codes.last_for(person).expect("a code was sent");
    browser.fill("#code", &code).await;
    browser
        .find("#code")
        .await
        .send_keys(ENTER)
        .await
        .expect("Enter");

    // Who looked: the officer who just read the profile, with the purpose and the case.
    browser.find("table").await;
    assert_eq!(browser.path().await, "/my/access-log");
    let log = browser.page_text().await;
    assert!(log.contains("officer i.petrova"), "{log}");
    assert!(
        log.contains("control of stay") && log.contains("case-portal-7"),
        "{log}"
    );
    browser.assert_accessible("access log").await;

    // The profile, every fact with its source.
    browser.goto("/my").await;
    assert!(
        browser
            .page_text()
            .await
            .contains("Ministry of Internal Affairs, migration")
    );
    browser.assert_accessible("profile").await;
    browser.screenshot("portal").await;

    // A share code for an employer, made from the keyboard.
    browser.goto("/my/share-codes").await;
    browser.assert_accessible("share codes").await;
    browser.fill("#valid_days", "30").await;
    browser
        .find("#valid_days")
        .await
        .send_keys(ENTER)
        .await
        .expect("Enter");
    let created = browser.text("#new-code").await;
    let code_text = created
        .split_whitespace()
        .find(|word| word.len() == 11 && word.matches('-').count() == 2)
        .unwrap_or_else(|| panic!("a share code on the page: {created}"));
    assert!(
        code_text
            .chars()
            .all(|c| c == '-' || c.is_ascii_alphanumeric())
    );
    browser.assert_accessible("share code made").await;

    // The QR pass: issued, shown inline, downloadable as PNG and SVG.
    browser.goto("/my/pass").await;
    browser.fill("#valid_days", "14").await;
    browser
        .find("#valid_days")
        .await
        .send_keys(ENTER)
        .await
        .expect("Enter");
    let image = browser.find("figure.pass img").await;
    let alt = image.attr("alt").await.expect("alt").unwrap_or_default();
    assert!(alt.contains("QR code of your pass"), "{alt}");
    let png = link_content_type(&browser, "a.pass-png").await;
    assert!(png.starts_with("200 image/png"), "{png}");
    let svg = link_content_type(&browser, "a.pass-svg").await;
    assert!(svg.starts_with("200 image/svg+xml"), "{svg}");
    browser.assert_accessible("pass").await;

    // Another language, chosen with the switcher and kept from page to page.
    browser
        .find("#lang-select")
        .await
        .select_by_value("uz")
        .await
        .expect("Uzbek is offered");
    browser
        .find("#lang-choose")
        .await
        .send_keys(ENTER)
        .await
        .expect("Enter");
    browser.find("html[lang=uz]").await;
    browser.goto("/my/arrival").await;
    browser.find("html[lang=uz]").await;
    browser.assert_accessible("arrival (uz)").await;
    for (field, value) in [
        ("#arrival_on", "01.05.2099"),
        ("#departure_on", "20.05.2099"),
        ("#address_region", "77"),
        ("#address_city", "Moskva"),
        ("#address_street", "Tverskaya 1"),
    ] {
        browser.fill(field, value).await;
    }
    browser
        .find("#address_street")
        .await
        .send_keys(ENTER)
        .await
        .expect("Enter");
    let sent = browser.text("p.notice.ok").await;
    assert!(!sent.is_empty());
    assert!(
        browser.page_text().await.contains("01/05/2099"),
        "a date in Uzbek form"
    );
    browser.assert_accessible("arrival sent (uz)").await;
    browser.goto("/my/corrections").await;
    browser.assert_accessible("corrections (uz)").await;
    browser.finish().await;
}
