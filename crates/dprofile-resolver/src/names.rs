//! Name forms the resolver compares: a folded, script-independent form of each name part and
//! a coarse phonetic key for blocking, each behind one function so that the domain's proper
//! cross-script normaliser can replace them in one place.

/// The folded form of a name part (any script, any transliteration) that comparisons use:
/// each word folded by the domain's cross-script fold, the words run together so that
/// `Abdul Aziz` and `Abdulaziz` agree, a letter doubled across the joint written once as the
/// fold writes it within a word.
pub fn fold_name(part: &str) -> String {
    let mut folded = String::with_capacity(part.len() + 4);
    for word in
        part.split(|character: char| !character.is_alphanumeric() && !is_apostrophe(character))
    {
        if word.is_empty() {
            continue;
        }
        for letter in dprofile_domain::names::fold(word).chars() {
            if letter.is_ascii_lowercase() && !folded.ends_with(letter) {
                folded.push(letter);
            }
        }
    }
    folded
}

/// Apostrophes belong to the word: the Uzbek oʻ and gʻ are letters.
fn is_apostrophe(character: char) -> bool {
    matches!(character, 'ʻ' | '‘' | '’' | '\'' | 'ʼ' | '`')
}

/// A coarse phonetic key of a folded name for blocking (the domain's key: the first sound,
/// then the consonant skeleton with voiced/voiceless pairs merged, at most five classes).
/// Spellings that differ in a vowel or one voicing (`abdulaev`/`abdullaev`/`abdulayev`) agree.
pub fn phonetic_key(folded: &str) -> String {
    dprofile_domain::names::phonetic_key(folded)
}

/// Longest strings the allocation-free metrics handle; longer or non-ASCII ones go to strsim.
const FAST_LENGTH: usize = 64;

/// Jaro-Winkler similarity (prefix boost above 0.7, as strsim and Splink apply it). Folded
/// names are short ASCII, compared millions of times: matched letters are tracked in two
/// 64-bit masks instead of allocated vectors.
pub fn jaro_winkler(left: &str, right: &str) -> f64 {
    let (left, right) = (left.as_bytes(), right.as_bytes());
    if left.len() > FAST_LENGTH
        || right.len() > FAST_LENGTH
        || !left.is_ascii()
        || !right.is_ascii()
    {
        return strsim::jaro_winkler(
            &String::from_utf8_lossy(left),
            &String::from_utf8_lossy(right),
        );
    }
    if left.is_empty() && right.is_empty() {
        return 1.0;
    }
    if left.is_empty() || right.is_empty() {
        return 0.0;
    }
    let window = (left.len().max(right.len()) / 2).saturating_sub(1);
    let (mut left_matched, mut right_matched) = (0u64, 0u64);
    let mut matches = 0usize;
    for (left_index, left_byte) in left.iter().enumerate() {
        let low = left_index.saturating_sub(window);
        let high = (left_index + window + 1).min(right.len());
        for (right_index, right_byte) in right.iter().enumerate().take(high).skip(low) {
            if right_matched & (1 << right_index) == 0 && right_byte == left_byte {
                right_matched |= 1 << right_index;
                left_matched |= 1 << left_index;
                matches += 1;
                break;
            }
        }
    }
    if matches == 0 {
        return 0.0;
    }
    let mut half_transpositions = 0usize;
    let mut right_cursor = 0usize;
    for (left_index, left_byte) in left.iter().enumerate() {
        if left_matched & (1 << left_index) == 0 {
            continue;
        }
        while right_matched & (1 << right_cursor) == 0 {
            right_cursor += 1;
        }
        if right[right_cursor] != *left_byte {
            half_transpositions += 1;
        }
        right_cursor += 1;
    }
    let matches = matches as f64;
    let transpositions = (half_transpositions / 2) as f64;
    let jaro = (matches / left.len() as f64
        + matches / right.len() as f64
        + (matches - transpositions) / matches)
        / 3.0;
    if jaro <= 0.7 {
        return jaro;
    }
    let prefix = left
        .iter()
        .zip(right)
        .take(4)
        .take_while(|(left, right)| left == right)
        .count() as f64;
    jaro + 0.1 * prefix * (1.0 - jaro)
}

/// Damerau-Levenshtein distance (optimal string alignment), stopped early: returns
/// `limit + 1` when the lengths alone differ by more than `limit`.
pub fn bounded_damerau_levenshtein(left: &str, right: &str, limit: usize) -> usize {
    if left.len().abs_diff(right.len()) > limit {
        return limit + 1;
    }
    let (left, right) = (left.as_bytes(), right.as_bytes());
    if left.len() > FAST_LENGTH
        || right.len() > FAST_LENGTH
        || !left.is_ascii()
        || !right.is_ascii()
    {
        return strsim::damerau_levenshtein(
            &String::from_utf8_lossy(left),
            &String::from_utf8_lossy(right),
        );
    }
    // Three rows on the stack: the one two back is needed for transpositions.
    let mut before_previous = [0usize; FAST_LENGTH + 1];
    let mut previous = [0usize; FAST_LENGTH + 1];
    let mut current = [0usize; FAST_LENGTH + 1];
    for (index, slot) in previous.iter_mut().enumerate().take(right.len() + 1) {
        *slot = index;
    }
    for left_index in 1..=left.len() {
        current[0] = left_index;
        let mut row_minimum = current[0];
        for right_index in 1..=right.len() {
            let cost = usize::from(left[left_index - 1] != right[right_index - 1]);
            let mut best = (previous[right_index] + 1)
                .min(current[right_index - 1] + 1)
                .min(previous[right_index - 1] + cost);
            if left_index > 1
                && right_index > 1
                && left[left_index - 1] == right[right_index - 2]
                && left[left_index - 2] == right[right_index - 1]
            {
                best = best.min(before_previous[right_index - 2] + 1);
            }
            current[right_index] = best;
            row_minimum = row_minimum.min(best);
        }
        if row_minimum > limit {
            return limit + 1;
        }
        // Rotate the rows instead of copying them.
        std::mem::swap(&mut before_previous, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[right.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_same_key(words: &[&str]) {
        let keys: Vec<String> = words
            .iter()
            .map(|word| phonetic_key(&fold_name(word)))
            .collect();
        assert!(
            keys.iter().all(|key| key == &keys[0]),
            "{words:?} -> {keys:?}"
        );
    }

    #[test]
    fn spellings_share_a_phonetic_key() {
        check_same_key(&["Абдуллаев", "ABDULLAYEV", "ABDOULLAEV", "Abdulaev"]);
        check_same_key(&["Хужаев", "Khujaev", "Xujayev", "Hodjaev"]);
        check_same_key(&["Гулнора", "Gulnora", "GULNORA", "Гульнора"]);
        check_same_key(&["Курбанов", "Qurbonov", "Kurbanov"]);
    }

    #[test]
    fn different_names_have_different_keys() {
        for (left, right) in [
            ("Ivanov", "Petrov"),
            ("Karimov", "Rahimov"),
            ("Olim", "Salim"),
        ] {
            assert_ne!(
                phonetic_key(&fold_name(left)),
                phonetic_key(&fold_name(right)),
                "{left} {right}"
            );
        }
    }

    #[test]
    fn metrics_agree_with_strsim() {
        let words = [
            "",
            "a",
            "martha",
            "marhta",
            "dixon",
            "dicksonx",
            "abdulaev",
            "abdulaiev",
            "karimov",
            "rahimov",
            "jellyfish",
            "smellyfish",
            "ab",
            "ba",
            "kurbanov",
        ];
        for left in words {
            for right in words {
                let expected = strsim::jaro_winkler(left, right);
                assert!(
                    (jaro_winkler(left, right) - expected).abs() < 1e-9,
                    "{left} {right}"
                );
                let distance = strsim::osa_distance(left, right);
                assert_eq!(
                    bounded_damerau_levenshtein(left, right, 64),
                    distance,
                    "{left} {right}"
                );
                assert_eq!(
                    bounded_damerau_levenshtein(left, right, 1) <= 1,
                    distance <= 1,
                    "{left} {right}"
                );
            }
        }
    }

    #[test]
    fn folding_crosses_scripts() {
        for (left, right) in [("Абдуллаев", "ABDULLAYEV"), ("Шухратович", "Shukhratovich")]
        {
            assert_eq!(fold_name(left), fold_name(right));
        }
    }
}
