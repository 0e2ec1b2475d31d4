//! Spellings of one name: the national alphabet, Russian Cyrillic, and the Latin
//! transliterations that agencies and passports actually use.
//!
//! Every scheme maps one lowercase letter at a time, looking only at the letter before it (for
//! the `ye` spelling of `е` after vowels): enough for the differences that matter when linking
//! records (`kh`/`x`/`h`, `zh`/`j`/`dj`, `u`/`ou`, `ia`/`ya`, `o‘`/`o`/`u`).

use crate::pools::Language;

/// How a record writes a person's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NameForm {
    /// The national spelling as in the pools: Uzbek, Tajik, Kyrgyz or Kazakh Cyrillic, or the
    /// native Latin of the Latin-script countries.
    Native,
    /// Russian Cyrillic, as Russian agencies type it.
    Russian,
    /// The Latin printed in the person's passport (national rules of the issuing country).
    Passport,
    /// ICAO 9303 transliteration of the Russian spelling (`ABDULLAEV`, `IU`, `IA`, `IE`).
    Icao,
    /// The older Russian MVD/GOST style (`YU`, `YA`, `KH`, `E` for every `е`).
    Gost,
    /// BGN/PCGN style (`YE` after vowels: `ABDULLAYEV`).
    Bgn,
    /// The national Latin alphabet (Uzbek `Jo‘rayev`, Kazakh `Nūrlan`, Azerbaijani `Məmmədov`).
    National,
    /// Old French-style spellings from Soviet-era documents (`Abdoullaev`, `Tchoriev`, `Djouraev`).
    French,
}

impl NameForm {
    pub fn index(self) -> usize {
        match self {
            NameForm::Native => 0,
            NameForm::Russian => 1,
            NameForm::Passport => 2,
            NameForm::Icao => 3,
            NameForm::Gost => 4,
            NameForm::Bgn => 5,
            NameForm::National => 6,
            NameForm::French => 7,
        }
    }

    /// Whether this form is written in Cyrillic for a person of `language`.
    pub fn is_cyrillic(self, language: Language) -> bool {
        match self {
            NameForm::Native => language.is_cyrillic(),
            NameForm::Russian => true,
            _ => false,
        }
    }
}

/// One letter-by-letter conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// National Cyrillic to Russian Cyrillic.
    RussianFrom(Language),
    Icao,
    Gost,
    Bgn,
    French,
    UzbekLatin,
    TajikLatin,
    TajikPassport,
    KyrgyzLatin,
    KazakhLatin,
    /// Native Latin with the letters that passports of the country print without marks.
    FoldLatin(Language),
}

fn is_vowel(character: char) -> bool {
    matches!(
        character,
        'а' | 'е'
            | 'ё'
            | 'и'
            | 'о'
            | 'у'
            | 'ы'
            | 'э'
            | 'ю'
            | 'я'
            | 'ў'
            | 'ӯ'
            | 'ӣ'
            | 'ө'
            | 'ү'
            | 'ә'
            | 'ұ'
            | 'і'
            | 'ъ'
            | 'ь'
    )
}

/// Letters every Latin scheme writes alike.
fn common_latin(letter: char) -> Option<&'static str> {
    Some(match letter {
        'а' => "a",
        'б' => "b",
        'в' => "v",
        'г' => "g",
        'д' => "d",
        'з' => "z",
        'и' => "i",
        'к' => "k",
        'л' => "l",
        'м' => "m",
        'н' => "n",
        'о' => "o",
        'п' => "p",
        'р' => "r",
        'с' => "s",
        'т' => "t",
        'ф' => "f",
        _ => return None,
    })
}

/// Plain Latin for the Central Asian letters, as ICAO-minded passport offices write them.
fn plain_central_asian(letter: char) -> Option<&'static str> {
    Some(match letter {
        'ў' | 'ӯ' | 'ү' | 'ұ' => "u",
        'қ' => "k",
        'ғ' => "g",
        'ҳ' | 'һ' => "h",
        'ҷ' => "j",
        'ӣ' | 'і' => "i",
        'ң' => "n",
        'ө' => "o",
        'ә' => "a",
        _ => return None,
    })
}

fn map_letter(scheme: Scheme, letter: char, previous: Option<char>) -> Option<&'static str> {
    let after_vowel_or_start = previous.is_none_or(is_vowel);
    let latin_scheme = !matches!(scheme, Scheme::RussianFrom(_) | Scheme::FoldLatin(_));
    if latin_scheme && let Some(common) = common_latin(letter) {
        return Some(common);
    }
    match scheme {
        Scheme::RussianFrom(language) => russian_from(language, letter, previous),
        Scheme::FoldLatin(language) => fold_latin(language, letter),
        Scheme::Icao => Some(match letter {
            'е' | 'ё' | 'э' => "e",
            'ж' => "zh",
            'й' => "i",
            'у' => "u",
            'х' => "kh",
            'ц' => "ts",
            'ч' => "ch",
            'ш' => "sh",
            'щ' => "shch",
            'ъ' => "ie",
            'ы' => "y",
            'ь' => "",
            'ю' => "iu",
            'я' => "ia",
            other => return plain_central_asian(other),
        }),
        Scheme::Gost => Some(match letter {
            'е' | 'ё' | 'э' => "e",
            'ж' => "zh",
            'й' | 'ы' => "y",
            'у' => "u",
            'х' => "kh",
            'ц' => "ts",
            'ч' => "ch",
            'ш' => "sh",
            'щ' => "shch",
            'ъ' | 'ь' => "",
            'ю' => "yu",
            'я' => "ya",
            other => return plain_central_asian(other),
        }),
        Scheme::Bgn => Some(match letter {
            'е' if after_vowel_or_start => "ye",
            'е' | 'э' => "e",
            'ё' => "yo",
            'ж' => "zh",
            'й' | 'ы' => "y",
            'у' => "u",
            'х' => "kh",
            'ц' => "ts",
            'ч' => "ch",
            'ш' => "sh",
            'щ' => "shch",
            'ъ' | 'ь' => "",
            'ю' => "yu",
            'я' => "ya",
            other => return plain_central_asian(other),
        }),
        Scheme::French => Some(match letter {
            'е' | 'э' => "e",
            'ё' => "io",
            // After `д` this gives the `dj` of `Djouraev`.
            'ж' => "j",
            'й' => "i",
            'у' => "ou",
            'х' => "kh",
            'ц' => "ts",
            'ч' => "tch",
            'ш' => "ch",
            'щ' => "chtch",
            'ъ' | 'ь' => "",
            'ы' => "y",
            'ю' => "iou",
            'я' => "ia",
            other => return plain_central_asian(other),
        }),
        Scheme::UzbekLatin => Some(match letter {
            'е' if after_vowel_or_start => "ye",
            'е' | 'э' => "e",
            'ё' => "yo",
            'ж' => "j",
            'й' => "y",
            'у' => "u",
            'х' => "x",
            'ц' => "ts",
            'ч' => "ch",
            'ш' | 'щ' => "sh",
            'ъ' => "ʼ",
            'ь' => "",
            'ы' => "i",
            'ю' => "yu",
            'я' => "ya",
            'ў' => "oʻ",
            'қ' => "q",
            'ғ' => "gʻ",
            'ҳ' => "h",
            _ => return None,
        }),
        Scheme::TajikLatin | Scheme::TajikPassport => {
            let passport = scheme == Scheme::TajikPassport;
            Some(match letter {
                'е' if after_vowel_or_start && !passport => "ye",
                'е' | 'э' => "e",
                'ё' => "yo",
                'ж' => "zh",
                'й' => "y",
                'у' => "u",
                'х' if passport => "kh",
                'х' => "x",
                'ц' => "ts",
                'ч' => "ch",
                'ш' | 'щ' => "sh",
                'ъ' if passport => "",
                'ъ' => "ʼ",
                'ь' => "",
                'ы' => "y",
                'ю' => "yu",
                'я' => "ya",
                'ғ' => "gh",
                'ӣ' if passport => "i",
                'ӣ' => "ī",
                'қ' => "q",
                'ӯ' if passport => "u",
                'ӯ' => "ū",
                'ҳ' => "h",
                'ҷ' => "j",
                _ => return None,
            })
        }
        Scheme::KyrgyzLatin => Some(match letter {
            'е' if previous.is_none() => "ye",
            'е' | 'э' => "e",
            'ё' => "yo",
            'ж' => "j",
            'й' | 'ы' => "y",
            'у' => "u",
            'х' => "h",
            'ц' => "ts",
            'ч' => "ch",
            'ш' | 'щ' => "sh",
            'ъ' | 'ь' => "",
            'ю' => "yu",
            'я' => "ya",
            'ң' => "ñ",
            'ө' => "ö",
            'ү' => "ü",
            _ => return None,
        }),
        Scheme::KazakhLatin => Some(match letter {
            'е' | 'э' => "e",
            'ё' => "io",
            'ж' => "j",
            'й' => "i",
            'у' => "u",
            'х' | 'һ' => "h",
            'ц' => "ts",
            'ч' => "ç",
            'ш' => "ş",
            'щ' => "şş",
            'ъ' | 'ь' => "",
            'ы' => "y",
            'ю' => "iu",
            'я' => "ia",
            'ә' => "ä",
            'ғ' => "ğ",
            'қ' => "q",
            'ң' => "ñ",
            'ө' => "ö",
            'ұ' => "ū",
            'ү' => "ü",
            'і' => "ı",
            _ => return None,
        }),
    }
}

fn russian_from(language: Language, letter: char, previous: Option<char>) -> Option<&'static str> {
    match language {
        Language::Uzbek => Some(match letter {
            'ў' => "у",
            'қ' => "к",
            'ғ' => "г",
            'ҳ' => "х",
            // Uzbek `ж` sounds as `дж`, and Russian clerks write it so (`Жўраев` → `Джураев`).
            'ж' if previous != Some('д') => "дж",
            _ => return None,
        }),
        Language::Tajik => Some(match letter {
            'ҷ' => "дж",
            'ӣ' => "и",
            'ӯ' => "у",
            'қ' => "к",
            'ғ' => "г",
            'ҳ' => "х",
            _ => return None,
        }),
        Language::Kyrgyz => Some(match letter {
            'ң' => "н",
            'ө' => "о",
            'ү' => "у",
            _ => return None,
        }),
        Language::Kazakh => Some(match letter {
            'ә' => "а",
            'ғ' => "г",
            'қ' => "к",
            'ң' => "н",
            'ө' => "о",
            'ұ' | 'ү' => "у",
            'һ' => "х",
            'і' => "и",
            _ => return None,
        }),
        _ => None,
    }
}

/// The marks that the passports of each Latin-script country drop.
fn fold_latin(language: Language, letter: char) -> Option<&'static str> {
    let digraphs = matches!(language, Language::Azerbaijani | Language::Turkmen);
    Some(match letter {
        'ə' | 'ä' | 'ă' | 'â' | 'à' | 'ạ' | 'ầ' | 'ấ' | 'ặ' => "a",
        'ı' | 'î' | 'ì' | 'ị' => "i",
        'ğ' => "g",
        'ş' | 'ș' if digraphs => "sh",
        'ş' | 'ș' => "s",
        'ç' if digraphs => "ch",
        'ç' => "c",
        'ž' => "zh",
        'ț' => "t",
        'ö' | 'õ' | 'ỗ' | 'ọ' | 'ơ' => "o",
        'ü' | 'ũ' | 'ù' | 'ú' | 'ữ' | 'ứ' | 'ư' => "u",
        'ý' | 'ỳ' => "y",
        'ň' => "n",
        'ê' | 'ễ' | 'ế' => "e",
        'đ' => "d",
        _ => return None,
    })
}

fn lowercase_letter(character: char) -> char {
    match character {
        // Turkish dotted capital I lowercases to two characters in Unicode; one is enough here.
        'İ' => 'i',
        other => other.to_lowercase().next().unwrap_or(other),
    }
}

/// Converts `text` letter by letter, keeping capitals where the source had them.
pub fn convert(text: &str, scheme: Scheme) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    let mut previous: Option<char> = None;
    for character in text.chars() {
        let letter = lowercase_letter(character);
        let capital = character != letter;
        match map_letter(scheme, letter, previous) {
            Some(mapped) => {
                let mut mapped_characters = mapped.chars();
                if capital && let Some(first) = mapped_characters.next() {
                    out.extend(first.to_uppercase());
                    out.push_str(mapped_characters.as_str());
                } else {
                    out.push_str(mapped);
                }
            }
            None => out.push(character),
        }
        previous = if matches!(character, ' ' | '-') {
            None
        } else {
            Some(letter)
        };
    }
    out
}

/// Upper case as passports and border systems print names (`ʻ` and `’` kept as they are).
pub fn upper(text: &str) -> String {
    text.chars()
        .map(|character| match character {
            'i' => 'I',
            other => other,
        })
        .flat_map(char::to_uppercase)
        .collect()
}

/// Drops the apostrophes of `o‘`, `g‘` and `ʼ`: Uzbek passports print `JORAYEV`, not `JO‘RAYEV`.
pub fn drop_apostrophes(text: &str) -> String {
    text.chars()
        .filter(|character| !matches!(character, 'ʻ' | 'ʼ' | '‘' | '’' | '\''))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_give_the_expected_spellings() {
        let cases = [
            ("Абдуллаев", Scheme::Icao, "Abdullaev"),
            ("Абдуллаев", Scheme::Bgn, "Abdullayev"),
            ("Абдуллаев", Scheme::French, "Abdoullaev"),
            ("Джураев", Scheme::French, "Djouraev"),
            ("Чориев", Scheme::French, "Tchoriev"),
            ("Жўраев", Scheme::UzbekLatin, "Joʻrayev"),
            ("Жўраев", Scheme::RussianFrom(Language::Uzbek), "Джураев"),
            (
                "Аҳмаджонов",
                Scheme::RussianFrom(Language::Uzbek),
                "Ахмаджонов",
            ),
            ("Шуҳрат ўғли", Scheme::UzbekLatin, "Shuhrat oʻgʻli"),
            ("Ҷӯраев", Scheme::RussianFrom(Language::Tajik), "Джураев"),
            ("Ҷӯраев", Scheme::TajikPassport, "Juraev"),
            ("Хуҷандӣ", Scheme::TajikLatin, "Xujandī"),
            ("Жеңиш", Scheme::KyrgyzLatin, "Jeñish"),
            ("Нұрланұлы", Scheme::KazakhLatin, "Nūrlanūly"),
            (
                "Нұрланұлы",
                Scheme::RussianFrom(Language::Kazakh),
                "Нурланулы",
            ),
            ("Юлдашев", Scheme::Icao, "Iuldashev"),
            ("Юлдашев", Scheme::Gost, "Yuldashev"),
            (
                "Məmmədov",
                Scheme::FoldLatin(Language::Azerbaijani),
                "Mammadov",
            ),
            (
                "Nguyễn Văn",
                Scheme::FoldLatin(Language::Vietnamese),
                "Nguyen Van",
            ),
        ];
        for (text, scheme, expected) in cases {
            assert_eq!(convert(text, scheme), expected, "{text} in {scheme:?}");
        }
        assert_eq!(upper("Çelik"), "ÇELIK");
        assert_eq!(drop_apostrophes(&upper("Joʻrayev")), "JORAYEV");
    }
}
