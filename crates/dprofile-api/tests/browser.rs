//! The web pages in a real browser: headless Chromium (Debian's `chromium`, driven through
//! `chromedriver` over WebDriver) against the real server on port 0 with a fresh SQLite store
//! holding a synthetic population. Each flow also runs axe-core in the page and fails on any
//! serious or critical accessibility violation.
//!
//! Without Chromium and chromedriver the tests are skipped with a loud notice; with `CI=true`
//! they fail instead. `DPROFILE_SCREENSHOTS=DIR` saves a screenshot of each area (README's).

mod browser {
    pub mod support;

    mod checker;
    mod dashboard;
    mod journey;
    mod officer;
    mod portal;
}
