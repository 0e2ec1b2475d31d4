//! A person's full name in every form a record may use, built once per person.

use crate::pools::{CountryPool, Language, split_entry};
use crate::translit::{NameForm, Scheme, convert, drop_apostrophes};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    pub fn code(self) -> &'static str {
        match self {
            Sex::Male => "M",
            Sex::Female => "F",
        }
    }
}

/// One spelling of a full name. Latin forms are kept in title case; writers upper-case them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameSpelling {
    pub family: String,
    pub given: String,
    pub patronymic: Option<String>,
}

/// Which pool entries make up a person's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameChoice {
    pub country: usize,
    pub sex: Sex,
    pub family: usize,
    pub given: usize,
    /// The father's given name (a male pool entry), for the patronymic.
    pub father: usize,
}

/// Every spelling of one person's name, indexed by [`NameForm::index`].
#[derive(Debug, Clone)]
pub struct PersonNames {
    pub spellings: [NameSpelling; 8],
}

impl PersonNames {
    pub fn get(&self, form: NameForm) -> &NameSpelling {
        &self.spellings[form.index()]
    }
}

fn native_and_russian(entry: &'static str, language: Language) -> (String, String) {
    let (native, russian) = split_entry(entry);
    let russian = match russian {
        Some(russian) => russian.to_owned(),
        None if language.is_cyrillic() => convert(native, Scheme::RussianFrom(language)),
        // Latin-script pools always carry the Russian spelling; fall back to the native one.
        None => native.to_owned(),
    };
    (native.to_owned(), russian)
}

/// `Абдуллаев` → `Абдуллаева`, `Məmmədov` → `Məmmədova`, `Orazow` → `Orazowa`.
fn feminine_family(family: &str) -> String {
    const MASCULINE_ENDINGS: [&str; 9] = ["ов", "ев", "ёв", "ин", "ын", "ov", "ev", "ow", "ew"];
    if MASCULINE_ENDINGS
        .iter()
        .any(|ending| family.ends_with(ending))
    {
        let feminine_ending = if family.chars().last().is_some_and(|last| last.is_ascii()) {
            "a"
        } else {
            "а"
        };
        format!("{family}{feminine_ending}")
    } else {
        family.to_owned()
    }
}

/// Russian patronymic from the father's Russian given name: `Шухрат` → `Шухратович`.
fn russian_patronymic(father: &str, sex: Sex) -> String {
    let (stem, soft) = match father.chars().last() {
        Some('й' | 'ь') => (&father[..father.len() - 'й'.len_utf8()], true),
        Some('а' | 'о' | 'и' | 'у' | 'е' | 'я') => (father, true),
        _ => (father, false),
    };
    let ending = match (soft, sex) {
        (false, Sex::Male) => "ович",
        (false, Sex::Female) => "овна",
        (true, Sex::Male) => "евич",
        (true, Sex::Female) => "евна",
    };
    format!("{stem}{ending}")
}

fn native_patronymic(father_native: &str, language: Language, sex: Sex) -> Option<String> {
    let male = sex == Sex::Male;
    Some(match language {
        Language::Uzbek => format!("{father_native} {}", if male { "ўғли" } else { "қизи" }),
        Language::Tajik => russian_patronymic(father_native, sex),
        Language::Kyrgyz => format!("{father_native} {}", if male { "уулу" } else { "кызы" }),
        Language::Kazakh => format!("{father_native}{}", if male { "ұлы" } else { "қызы" }),
        Language::Azerbaijani => format!("{father_native} {}", if male { "oğlu" } else { "qızı" }),
        Language::Turkmen | Language::Moldovan | Language::Turkish | Language::Vietnamese => {
            return None;
        }
    })
}

fn russian_patronymic_for(father_russian: &str, language: Language, sex: Sex) -> Option<String> {
    match language {
        Language::Uzbek
        | Language::Tajik
        | Language::Kyrgyz
        | Language::Kazakh
        | Language::Turkmen => Some(russian_patronymic(father_russian, sex)),
        Language::Azerbaijani => Some(format!(
            "{father_russian} {}",
            if sex == Sex::Male {
                "оглы"
            } else {
                "кызы"
            }
        )),
        Language::Moldovan | Language::Turkish | Language::Vietnamese => None,
    }
}

fn map_spelling(spelling: &NameSpelling, transform: impl Fn(&str) -> String) -> NameSpelling {
    NameSpelling {
        family: transform(&spelling.family),
        given: transform(&spelling.given),
        patronymic: spelling.patronymic.as_deref().map(&transform),
    }
}

impl PersonNames {
    pub fn build(pool: &CountryPool, choice: NameChoice) -> PersonNames {
        let language = pool.language;
        let given_list = match choice.sex {
            Sex::Male => pool.male_given,
            Sex::Female => pool.female_given,
        };
        let (family_native, family_russian) =
            native_and_russian(pool.family[choice.family], language);
        let (given_native, given_russian) = native_and_russian(given_list[choice.given], language);
        let (father_native, father_russian) =
            native_and_russian(pool.male_given[choice.father], language);
        let (family_native, family_russian) =
            if choice.sex == Sex::Female && language.has_gendered_family_names() {
                (
                    feminine_family(&family_native),
                    feminine_family(&family_russian),
                )
            } else {
                (family_native, family_russian)
            };
        let native = NameSpelling {
            family: family_native,
            given: given_native,
            patronymic: native_patronymic(&father_native, language, choice.sex),
        };
        let russian = NameSpelling {
            family: family_russian,
            given: given_russian,
            patronymic: russian_patronymic_for(&father_russian, language, choice.sex),
        };
        let from_russian = |scheme: Scheme| map_spelling(&russian, |part| convert(part, scheme));
        let national = match language {
            Language::Uzbek => map_spelling(&native, |part| convert(part, Scheme::UzbekLatin)),
            Language::Tajik => map_spelling(&native, |part| convert(part, Scheme::TajikLatin)),
            Language::Kyrgyz => map_spelling(&native, |part| convert(part, Scheme::KyrgyzLatin)),
            Language::Kazakh => map_spelling(&native, |part| convert(part, Scheme::KazakhLatin)),
            _ => native.clone(),
        };
        let passport = match language {
            Language::Uzbek => map_spelling(&national, drop_apostrophes),
            Language::Tajik => map_spelling(&native, |part| convert(part, Scheme::TajikPassport)),
            Language::Kyrgyz => map_spelling(&native, |part| convert(part, Scheme::Icao)),
            Language::Kazakh => map_spelling(&native, |part| convert(part, Scheme::Bgn)),
            // Turkish and Moldovan passports print their letters with the marks.
            Language::Turkish | Language::Moldovan => native.clone(),
            other => map_spelling(&native, |part| convert(part, Scheme::FoldLatin(other))),
        };
        // Passports carry no patronymic in the Latin line.
        let passport = NameSpelling {
            patronymic: None,
            ..passport
        };
        let icao = NameSpelling {
            patronymic: None,
            ..from_russian(Scheme::Icao)
        };
        let french = NameSpelling {
            patronymic: None,
            ..from_russian(Scheme::French)
        };
        let gost = from_russian(Scheme::Gost);
        let bgn = from_russian(Scheme::Bgn);
        // For the Latin-script countries the native spelling is the national Latin one.
        PersonNames {
            spellings: [native, russian, passport, icao, gost, bgn, national, french],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pools::{COUNTRIES, UZBEKISTAN, position_of};

    #[test]
    fn demo_name_spellings() {
        let pool = &COUNTRIES[UZBEKISTAN];
        let choice = NameChoice {
            country: UZBEKISTAN,
            sex: Sex::Male,
            family: position_of(pool.family, "Абдуллаев").unwrap_or_default(),
            given: position_of(pool.male_given, "Рустам").unwrap_or_default(),
            father: position_of(pool.male_given, "Шуҳрат").unwrap_or_default(),
        };
        let names = PersonNames::build(pool, choice);
        let russian = names.get(NameForm::Russian);
        assert_eq!(russian.family, "Абдуллаев");
        assert_eq!(russian.patronymic.as_deref(), Some("Шухратович"));
        assert_eq!(
            names.get(NameForm::Native).patronymic.as_deref(),
            Some("Шуҳрат ўғли")
        );
        assert_eq!(names.get(NameForm::Passport).family, "Abdullayev");
        assert_eq!(names.get(NameForm::Icao).family, "Abdullaev");
        assert_eq!(names.get(NameForm::French).family, "Abdoullaev");
        assert_eq!(names.get(NameForm::National).given, "Rustam");
    }

    #[test]
    fn feminine_forms_and_patronymics() {
        assert_eq!(feminine_family("Каримов"), "Каримова");
        assert_eq!(feminine_family("Шарифзода"), "Шарифзода");
        assert_eq!(feminine_family("Əliyev"), "Əliyeva");
        assert_eq!(russian_patronymic("Абдулла", Sex::Male), "Абдуллаевич");
        assert_eq!(russian_patronymic("Андрей", Sex::Female), "Андреевна");
    }
}
