//! What deterministic linking compares: strong identifiers that name one person, and the
//! folded name keys that person search uses. The probabilistic resolver builds on these.

use std::fmt;

use serde::Serialize;

use crate::subject::Subject;

/// Kinds of strong identifier. A person may hold several passports over a lifetime (renewals),
/// but only one SNILS, one personal INN and one ESIA account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    Passport,
    NationalId,
    Snils,
    Inn,
    Esia,
}

impl KeyKind {
    pub const ALL: [KeyKind; 5] = [
        KeyKind::Passport,
        KeyKind::NationalId,
        KeyKind::Snils,
        KeyKind::Inn,
        KeyKind::Esia,
    ];

    pub fn code(self) -> &'static str {
        match self {
            KeyKind::Passport => "passport",
            KeyKind::NationalId => "national_id",
            KeyKind::Snils => "snils",
            KeyKind::Inn => "inn",
            KeyKind::Esia => "esia",
        }
    }

    pub fn from_code(code: &str) -> Option<KeyKind> {
        KeyKind::ALL.into_iter().find(|kind| kind.code() == code)
    }

    /// Whether one person holds at most one value of this kind; two values of such a kind
    /// meeting in one person mean two people, never a merge.
    pub fn one_per_person(self) -> bool {
        matches!(self, KeyKind::Snils | KeyKind::Inn | KeyKind::Esia)
    }
}

/// One strong identifier in normal form: `passport` + `UZB:FA1234567`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct StrongKey {
    pub kind: KeyKind,
    pub value: String,
}

impl StrongKey {
    pub fn new(kind: KeyKind, value: impl Into<String>) -> StrongKey {
        StrongKey {
            kind,
            value: value.into(),
        }
    }
}

impl fmt::Display for StrongKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}:{}", self.kind.code(), self.value)
    }
}

/// The strong identifiers of a subject, deduplicated and sorted.
pub fn strong_keys(subject: &Subject) -> Vec<StrongKey> {
    let mut keys = Vec::new();
    for document in &subject.documents {
        let kind = match document.kind {
            crate::subject::DocumentKind::Passport => KeyKind::Passport,
            crate::subject::DocumentKind::NationalId => KeyKind::NationalId,
            _ => continue,
        };
        keys.push(StrongKey::new(
            kind,
            format!("{}:{}", document.country, document.number.as_str()),
        ));
    }
    let identifiers = &subject.identifiers;
    if let Some(snils) = &identifiers.snils {
        keys.push(StrongKey::new(KeyKind::Snils, snils.as_str()));
    }
    // An organisation's 10-digit INN is no person's identifier.
    if let Some(inn) = identifiers.inn.as_ref().filter(|inn| inn.is_person()) {
        keys.push(StrongKey::new(KeyKind::Inn, inn.as_str()));
    }
    if let Some(esia) = &identifiers.esia_id {
        keys.push(StrongKey::new(KeyKind::Esia, esia.as_str()));
    }
    keys.sort();
    keys.dedup();
    keys
}

pub fn is_combining_mark(character: char) -> bool {
    matches!(character, '\u{0300}'..='\u{036F}')
}

/// Plain Latin for one Cyrillic letter (Russian and the Central Asian letters), lowercase.
fn cyrillic_to_latin(character: char) -> Option<&'static str> {
    let latin = match character {
        'а' => "a",
        'б' => "b",
        'в' => "v",
        'г' | 'ғ' => "g",
        'д' => "d",
        'е' | 'э' | 'ә' => "e",
        'ё' => "yo",
        'ж' => "zh",
        'з' => "z",
        'и' | 'ӣ' | 'і' => "i",
        'й' => "y",
        'к' | 'қ' => "k",
        'л' => "l",
        'м' => "m",
        'н' | 'ң' => "n",
        'о' | 'ө' => "o",
        'п' => "p",
        'р' => "r",
        'с' => "s",
        'т' => "t",
        'у' | 'ў' | 'ӯ' | 'ү' | 'ұ' => "u",
        'ф' => "f",
        'х' | 'ҳ' | 'һ' => "kh",
        'ц' => "ts",
        'ч' | 'ҷ' => "ch",
        'ш' => "sh",
        'щ' => "shch",
        'ъ' | 'ь' => "",
        'ы' => "y",
        'ю' => "yu",
        'я' => "ya",
        _ => return None,
    };
    Some(latin)
}

/// A coarse, script-independent key of one name word, for person search: `Абдуллаев`,
/// `ABDULLAYEV` and `ABDOULLAEV` all give `abdulaev`. Folds the commonest transliteration
/// differences (y/i before vowels, kh/h/x, ts/tc, ou/u, q/k, doubled letters).
pub fn name_word_key(word: &str) -> String {
    let mut latin = String::with_capacity(word.len());
    for character in word.chars().flat_map(char::to_lowercase) {
        if let Some(mapped) = cyrillic_to_latin(character) {
            latin.push_str(mapped);
        } else if character.is_ascii_lowercase() {
            latin.push(character);
        } else {
            match character {
                'ö' | 'ó' | 'ò' | 'ô' | 'ő' => latin.push('o'),
                'ü' | 'ú' | 'ù' | 'û' => latin.push('u'),
                'ğ' => latin.push('g'),
                'ş' => latin.push_str("sh"),
                'ç' => latin.push_str("ch"),
                'ı' | 'í' | 'ì' | 'î' => latin.push('i'),
                'é' | 'è' | 'ê' | 'ë' => latin.push('e'),
                'á' | 'à' | 'â' | 'ä' => latin.push('a'),
                'ñ' => latin.push('n'),
                _ => {}
            }
        }
    }
    let replacements = [
        ("shch", "sh"),
        ("tch", "ch"),
        ("dzh", "j"),
        ("dj", "j"),
        ("zh", "j"),
        ("kh", "h"),
        ("x", "h"),
        ("tc", "c"),
        ("ts", "c"),
        ("ou", "u"),
        ("q", "k"),
        ("yu", "u"),
        ("iu", "u"),
        ("ya", "a"),
        ("ia", "a"),
        ("ye", "e"),
        ("ie", "e"),
        ("yo", "o"),
        ("io", "o"),
        ("w", "v"),
        ("y", "i"),
    ];
    let mut folded = latin;
    for (from, to) in replacements {
        if folded.contains(from) {
            folded = folded.replace(from, to);
        }
    }
    let mut key = String::with_capacity(folded.len());
    for character in folded.chars() {
        if key.ends_with(character) {
            continue;
        }
        key.push(character);
    }
    key
}

/// The name keys of a subject: one per word of every family and given name, sorted, unique.
pub fn name_keys(subject: &Subject) -> Vec<String> {
    let mut keys: Vec<String> = subject
        .names
        .iter()
        .flat_map(|name| [&name.family, &name.given].into_iter().flatten())
        .flat_map(|part| {
            part.0
                .split([' ', '-'])
                .map(name_word_key)
                .collect::<Vec<_>>()
        })
        .filter(|key| key.len() >= 2)
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// The keys of a free-text name query, in the same form as [`name_keys`].
pub fn query_name_keys(query: &str) -> Vec<String> {
    let mut keys: Vec<String> = query
        .split([' ', '-', ','])
        .map(name_word_key)
        .filter(|key| key.len() >= 2)
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_family_name_share_a_key() {
        let spellings = [
            "Абдуллаев",
            "ABDULLAYEV",
            "ABDOULLAEV",
            "Abdullaev",
            "Абдулаев",
        ];
        let keys: Vec<String> = spellings.iter().map(|word| name_word_key(word)).collect();
        assert!(keys.iter().all(|key| key == &keys[0]), "{keys:?}");
        assert_eq!(name_word_key("Khodjaev"), name_word_key("Ходжаев"));
        assert_eq!(name_word_key("Qodirov"), name_word_key("Кодиров"));
        assert_ne!(name_word_key("Ivanov"), name_word_key("Petrov"));
    }
}
