//! The pages' languages: Project Fluent messages (`locales/<lang>/*.ftl`, embedded) for Russian,
//! English, Uzbek, Tajik and Kyrgyz, the language a request is answered in (the switcher's
//! choice, else the browser's `Accept-Language`, else Russian), and dates and numbers written
//! as each locale writes them.

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::http::HeaderMap;
use chrono::{Datelike, NaiveDate};
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

/// The portal's languages, in the order the switcher lists them.
pub(crate) const LOCALES: [&str; 5] = ["ru", "en", "uz", "tg", "ky"];
/// The language when nothing else says: the registry's working language.
pub(crate) const DEFAULT_LOCALE: &str = "ru";
/// The cookie keeping the switcher's choice.
pub(crate) const LANG_COOKIE: &str = "dp_lang";

/// Every message file, per language: one file per area, so that areas do not edit one file.
macro_rules! message_files {
    ($($lang:literal),*) => {
        &[$(
            ($lang, &[
                include_str!(concat!("../../locales/", $lang, "/common.ftl")),
                include_str!(concat!("../../locales/", $lang, "/portal.ftl")),
                include_str!(concat!("../../locales/", $lang, "/checker.ftl")),
            ]),
        )*]
    };
}
const MESSAGE_FILES: &[(&str, &[&str])] = message_files!("ru", "en", "uz", "tg", "ky");

/// Every language's bundle of messages.
pub(crate) struct Localizer {
    bundles: HashMap<&'static str, FluentBundle<FluentResource>>,
}

/// The shipped messages, parsed once. A message file that does not parse is a build defect,
/// caught by the tests: the pages then show the message ids.
pub(crate) fn localizer() -> &'static Localizer {
    static LOCALIZER: OnceLock<Localizer> = OnceLock::new();
    LOCALIZER.get_or_init(|| Localizer::from_sources(MESSAGE_FILES))
}

impl Localizer {
    fn from_sources(files: &[(&'static str, &[&str])]) -> Localizer {
        let bundles = files
            .iter()
            .map(|(lang, sources)| {
                let id: LanguageIdentifier = lang.parse().unwrap_or_default();
                let mut bundle = FluentBundle::new_concurrent(vec![id]);
                // The pages are HTML, escaped by the templates: no invisible isolation marks
                // around placeables.
                bundle.set_use_isolating(false);
                for source in *sources {
                    match FluentResource::try_new((*source).to_owned()) {
                        Ok(resource) => {
                            if let Err(errors) = bundle.add_resource(resource) {
                                tracing::error!(lang, ?errors, "duplicate messages in a locale");
                            }
                        }
                        Err((resource, errors)) => {
                            tracing::error!(lang, ?errors, "a message file does not parse");
                            let _ = bundle.add_resource(resource);
                        }
                    }
                }
                (*lang, bundle)
            })
            .collect();
        Localizer { bundles }
    }

    /// The message `id` in `lang` with `args`, or `None` when the language lacks it.
    pub(crate) fn message(
        &self,
        lang: &str,
        id: &str,
        args: Option<&FluentArgs>,
    ) -> Option<String> {
        let bundle = self.bundles.get(lang)?;
        let pattern = bundle.get_message(id)?.value()?;
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, args, &mut errors);
        if !errors.is_empty() {
            tracing::warn!(lang, id, ?errors, "a message could not be filled in");
        }
        Some(text.into_owned())
    }

    /// The message, or a visible `⟦id⟧` marker (which the page tests look for) when missing.
    pub(crate) fn text(&self, lang: &str, id: &str, args: Option<&FluentArgs>) -> String {
        self.message(lang, id, args).unwrap_or_else(|| {
            tracing::warn!(lang, id, "a message is missing");
            format!("⟦{id}⟧")
        })
    }

    /// The ids of every message of `lang`, for the completeness test.
    #[cfg(test)]
    pub(crate) fn message_ids(lang: &str) -> Vec<String> {
        MESSAGE_FILES
            .iter()
            .filter(|(file_lang, _)| *file_lang == lang)
            .flat_map(|(_, sources)| sources.iter())
            .filter_map(|source| FluentResource::try_new((*source).to_owned()).ok())
            .flat_map(|resource| {
                resource
                    .entries()
                    .filter_map(|entry| match entry {
                        fluent_syntax::ast::Entry::Message(message) => {
                            Some(message.id.name.to_owned())
                        }
                        _ => None,
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

/// Turns template arguments into Fluent arguments.
pub(crate) fn fluent_args<'a>(
    pairs: impl IntoIterator<Item = (String, FluentValue<'a>)>,
) -> FluentArgs<'a> {
    let mut args = FluentArgs::new();
    for (name, value) in pairs {
        args.set(name, value);
    }
    args
}

/// The language to answer in: `?lang=` (the switcher), the language cookie, the browser's
/// `Accept-Language` (by weight), else [`DEFAULT_LOCALE`].
pub(crate) fn negotiate(query_lang: Option<&str>, headers: &HeaderMap) -> &'static str {
    if let Some(lang) = query_lang.and_then(known_locale) {
        return lang;
    }
    if let Some(lang) = super::session::cookie(headers, LANG_COOKIE).and_then(known_locale) {
        return lang;
    }
    let accepted = headers
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let mut ranges: Vec<(f32, &str)> = accepted
        .split(',')
        .filter_map(|range| {
            let mut parts = range.trim().split(';');
            let tag = parts.next()?.trim();
            let weight = parts
                .find_map(|part| part.trim().strip_prefix("q="))
                .and_then(|weight| weight.parse::<f32>().ok())
                .unwrap_or(1.0);
            Some((weight, tag))
        })
        .collect();
    // Stable: equal weights keep the browser's order.
    ranges.sort_by(|left, right| right.0.total_cmp(&left.0));
    ranges
        .into_iter()
        .filter(|(weight, _)| *weight > 0.0)
        .find_map(|(_, tag)| known_locale(tag.split(['-', '_']).next().unwrap_or(tag)))
        .unwrap_or(DEFAULT_LOCALE)
}

/// `tag` as one of [`LOCALES`], if it is one (case-insensitive).
pub(crate) fn known_locale(tag: &str) -> Option<&'static str> {
    LOCALES
        .iter()
        .copied()
        .find(|lang| lang.eq_ignore_ascii_case(tag.trim()))
}

/// A date as the locale writes it (CLDR's medium or short form): `26 Nov 2026` in English,
/// `26.11.2026` in Russian and Kyrgyz, `26/11/2026` in Uzbek and Tajik.
pub(crate) fn format_date(lang: &str, date: NaiveDate) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    match lang {
        "en" => format!(
            "{} {} {}",
            date.day(),
            MONTHS[date.month0() as usize],
            date.year()
        ),
        "uz" | "tg" => date.format("%d/%m/%Y").to_string(),
        _ => date.format("%d.%m.%Y").to_string(),
    }
}

/// A whole number with the locale's grouping: `12,345` in English, `12 345` (no-break space)
/// in the others.
pub(crate) fn format_number(lang: &str, number: i64) -> String {
    let separator = if lang == "en" { ',' } else { '\u{a0}' };
    let digits = number.unsigned_abs().to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if number < 0 {
        grouped.push('-');
    }
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(separator);
        }
        grouped.push(digit);
    }
    grouped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_locale_has_every_message_of_every_other() {
        let all: std::collections::BTreeSet<String> = LOCALES
            .iter()
            .flat_map(|lang| Localizer::message_ids(lang))
            .collect();
        assert!(!all.is_empty(), "no messages at all");
        for lang in LOCALES {
            let own: std::collections::BTreeSet<String> =
                Localizer::message_ids(lang).into_iter().collect();
            let missing: Vec<&String> = all.difference(&own).collect();
            assert!(missing.is_empty(), "{lang} lacks {missing:?}");
        }
    }

    #[test]
    fn every_message_file_parses() {
        for (lang, sources) in MESSAGE_FILES {
            for source in *sources {
                if let Err((_, errors)) = FluentResource::try_new((*source).to_owned()) {
                    panic!("{lang}: {errors:?}");
                }
            }
        }
    }

    #[test]
    fn the_language_follows_the_switcher_then_the_browser() {
        let mut headers = HeaderMap::new();
        headers.insert(
            axum::http::header::ACCEPT_LANGUAGE,
            "de-DE,ky;q=0.9,en;q=0.8".parse().expect("a header"),
        );
        assert_eq!(negotiate(None, &headers), "ky");
        assert_eq!(negotiate(Some("tg"), &headers), "tg");
        assert_eq!(negotiate(Some("fr"), &headers), "ky");
        assert_eq!(negotiate(None, &HeaderMap::new()), DEFAULT_LOCALE);
        headers.insert(
            axum::http::header::COOKIE,
            "dp_lang=uz".parse().expect("a header"),
        );
        assert_eq!(negotiate(None, &headers), "uz");
    }

    #[test]
    fn dates_and_numbers_follow_the_locale() {
        let date = NaiveDate::from_ymd_opt(2026, 11, 6).expect("a date");
        assert_eq!(format_date("en", date), "6 Nov 2026");
        assert_eq!(format_date("ru", date), "06.11.2026");
        assert_eq!(format_date("uz", date), "06/11/2026");
        assert_eq!(format_number("en", 1_234_567), "1,234,567");
        assert_eq!(format_number("ru", -12_345), "-12\u{a0}345");
        assert_eq!(format_number("ky", 999), "999");
    }
}
