//! The mistakes real registers hold: typos in names, swapped name parts, birth dates with day
//! and month swapped, cut to the year, or one digit off, and mistyped identifiers.

use chrono::{Datelike, NaiveDate};
use rand::Rng;

use crate::random::Stream;

/// One letter dropped, doubled, or swapped with its neighbour. Short parts are left alone: a
/// two-letter name with a letter dropped would be another name, not a typo.
pub fn typo(text: &str, rng: &mut Stream) -> String {
    let mut characters: Vec<char> = text.chars().collect();
    let letters: Vec<usize> = characters
        .iter()
        .enumerate()
        .filter(|(_, character)| character.is_alphabetic())
        .map(|(position, _)| position)
        .collect();
    if letters.len() < 4 {
        return text.to_owned();
    }
    // Not the first letter: people rarely get the initial wrong.
    let position = letters[rng.random_range(1..letters.len())];
    match rng.random_range(0..3) {
        0 => {
            characters.remove(position);
        }
        1 => {
            let letter = characters[position];
            characters.insert(position, letter);
        }
        _ => {
            let previous = position - 1;
            if characters[previous].is_alphabetic() {
                characters.swap(previous, position);
            } else {
                characters.remove(position);
            }
        }
    }
    characters.into_iter().collect()
}

/// How a birth date reaches a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BirthDateNoise {
    Exact,
    YearOnly,
    YearMonth,
    DayMonthSwapped,
    OneDigitOff,
}

pub fn birth_date_noise(rng: &mut Stream, rate: f64) -> BirthDateNoise {
    let draw: f64 = rng.random();
    if draw >= rate {
        return BirthDateNoise::Exact;
    }
    match rng.random_range(0..4) {
        0 => BirthDateNoise::YearOnly,
        1 => BirthDateNoise::YearMonth,
        2 => BirthDateNoise::DayMonthSwapped,
        _ => BirthDateNoise::OneDigitOff,
    }
}

/// The birth date as the record writes it (`YYYY`, `YYYY-MM` or `YYYY-MM-DD`).
pub fn render_birth_date(date: NaiveDate, noise: BirthDateNoise, rng: &mut Stream) -> String {
    let (year, month, day) = (date.year(), date.month(), date.day());
    match noise {
        BirthDateNoise::Exact => format!("{year:04}-{month:02}-{day:02}"),
        BirthDateNoise::YearOnly => format!("{year:04}"),
        BirthDateNoise::YearMonth => format!("{year:04}-{month:02}"),
        BirthDateNoise::DayMonthSwapped => {
            if day <= 12 && day != month {
                format!("{year:04}-{day:02}-{month:02}")
            } else {
                format!("{year:04}-{month:02}-{day:02}")
            }
        }
        BirthDateNoise::OneDigitOff => {
            let exact = format!("{year:04}-{month:02}-{day:02}");
            // Digits a clerk can mistype without producing an impossible date: tried a few
            // times, the exact date kept if every try is impossible.
            for _ in 0..6 {
                let mut bytes = exact.clone().into_bytes();
                let position = *[2usize, 3, 5, 6, 8, 9]
                    .get(rng.random_range(0..6))
                    .unwrap_or(&9);
                let original = bytes[position];
                let replacement = b'0' + rng.random_range(0..10u8);
                if replacement == original {
                    continue;
                }
                bytes[position] = replacement;
                let candidate = String::from_utf8(bytes).unwrap_or_default();
                if NaiveDate::parse_from_str(&candidate, "%Y-%m-%d")
                    .is_ok_and(|parsed| parsed.year() >= 1900)
                {
                    return candidate;
                }
            }
            exact
        }
    }
}

/// One digit of a document number or identifier replaced by another digit.
pub fn digit_typo(text: &str, rng: &mut Stream) -> String {
    let positions: Vec<usize> = text
        .char_indices()
        .filter(|(_, character)| character.is_ascii_digit())
        .map(|(position, _)| position)
        .collect();
    if positions.is_empty() {
        return text.to_owned();
    }
    let position = positions[rng.random_range(0..positions.len())];
    let original = text.as_bytes()[position];
    let replacement = b'0' + ((original - b'0' + rng.random_range(1..10u8)) % 10);
    let mut bytes = text.as_bytes().to_vec();
    bytes[position] = replacement;
    String::from_utf8(bytes).unwrap_or_else(|_| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::stream;

    #[test]
    fn noise_keeps_values_well_formed() {
        let mut rng = stream(1, 2, 3);
        let date = NaiveDate::from_ymd_opt(1991, 7, 14).unwrap_or_default();
        for _ in 0..500 {
            let typoed = typo("Абдуллаев", &mut rng);
            assert!(typoed.chars().all(char::is_alphabetic));
            assert_ne!(typoed, "Абдуллаев".chars().rev().collect::<String>());
            let rendered = render_birth_date(date, BirthDateNoise::OneDigitOff, &mut rng);
            assert!(NaiveDate::parse_from_str(&rendered, "%Y-%m-%d").is_ok());
            let typoed_number = digit_typo("FA1234567", &mut rng);
            assert_ne!(typoed_number, "FA1234567");
            assert_eq!(typoed_number.len(), 9);
        }
        assert_eq!(
            render_birth_date(date, BirthDateNoise::DayMonthSwapped, &mut rng),
            "1991-07-14"
        );
        let date = NaiveDate::from_ymd_opt(1991, 7, 4).unwrap_or_default();
        assert_eq!(
            render_birth_date(date, BirthDateNoise::DayMonthSwapped, &mut rng),
            "1991-04-07"
        );
    }
}
