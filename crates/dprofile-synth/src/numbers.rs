//! Identifier numbers that are unique per person by construction, with valid check digits.
//!
//! Random numbers would collide between persons once populations reach a few hundred thousand,
//! and two persons sharing a passport or a SNILS would make the ground truth contradict itself.
//! So every number is a keyed permutation of a slot (the person index, times the number of
//! documents a person may hold): distinct slots give distinct numbers, yet the numbers look
//! random.

/// SplitMix64's finaliser: a bijection on `u64` that scatters neighbouring inputs.
pub fn mix64(mut value: u64) -> u64 {
    value = (value ^ (value >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    value = (value ^ (value >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    value ^ (value >> 31)
}

/// A keyed permutation of `0..domain`: `permute(slot)` differs for every distinct slot below
/// `domain`. Slots past the domain wrap around (numbers then repeat; the domains used here hold
/// tens of millions of persons at least).
pub fn permute(slot: u64, domain: u64, key: u64) -> u64 {
    debug_assert!(domain >= 4);
    let bits = (64 - (domain - 1).leading_zeros()).max(2);
    // A balanced Feistel network needs an even number of bits.
    let bits = bits + bits % 2;
    let half = bits / 2;
    let mask = (1u64 << half) - 1;
    let mut value = slot % domain;
    // Cycle walking: the network permutes 0..2^bits, and at most three quarters of that lies
    // outside the domain, so a few steps suffice.
    loop {
        let mut left = value >> half;
        let mut right = value & mask;
        for round in 0..4u64 {
            let round_key = key.rotate_left((round * 17) as u32) ^ round;
            let scrambled = mix64(right ^ round_key) & mask;
            let next_right = left ^ scrambled;
            left = right;
            right = next_right;
        }
        value = (left << half) | right;
        if value < domain {
            return value;
        }
    }
}

/// Like [`permute`], but keeps `reserved` (a fixed number given to the demo person in slot 0)
/// for slot 0 alone: the slot that would have drawn it gets slot 0's number instead.
pub fn permute_reserving(slot: u64, domain: u64, key: u64, reserved: Option<u64>) -> u64 {
    let value = permute(slot, domain, key);
    match reserved {
        Some(reserved) if slot == 0 => reserved,
        Some(reserved) if value == reserved => permute(0, domain, key),
        _ => value,
    }
}

/// Appends `value` as exactly `width` digits.
pub fn push_digits(out: &mut String, value: u64, width: u32) {
    let mut divisor = 10u64.pow(width - 1);
    while divisor > 0 {
        out.push(char::from(b'0' + ((value / divisor) % 10) as u8));
        divisor /= 10;
    }
}

pub fn digits(value: u64, width: u32) -> String {
    let mut out = String::with_capacity(width as usize);
    push_digits(&mut out, value, width);
    out
}

/// The two SNILS check digits of a 9-digit body (the pension fund's published rule).
pub fn snils_check(body: u64) -> u64 {
    let text = digits(body, 9);
    let sum: u64 = text
        .bytes()
        .zip((1..=9u64).rev())
        .map(|(byte, weight)| u64::from(byte - b'0') * weight)
        .sum();
    match sum {
        0..=99 => sum,
        100 | 101 => 0,
        _ => {
            let remainder = sum % 101;
            if remainder == 100 { 0 } else { remainder }
        }
    }
}

/// SNILS in its printed form `XXX-XXX-XXX YY`.
pub fn format_snils(body: u64, check: u64) -> String {
    let text = digits(body, 9);
    format!(
        "{}-{}-{} {:02}",
        &text[0..3],
        &text[3..6],
        &text[6..9],
        check
    )
}

fn inn_check_digit(digits: &[u8], weights: &[u64]) -> u8 {
    let sum: u64 = digits
        .iter()
        .zip(weights)
        .map(|(digit, weight)| u64::from(*digit) * weight)
        .sum();
    ((sum % 11) % 10) as u8
}

fn to_digit_bytes(text: &str) -> Vec<u8> {
    text.bytes().map(|byte| byte - b'0').collect()
}

/// A person's 12-digit INN from its first 10 digits, both check digits appended.
pub fn person_inn(first_ten: &str) -> String {
    let mut all = to_digit_bytes(first_ten);
    all.push(inn_check_digit(&all, &[7, 2, 4, 10, 3, 5, 9, 4, 6, 8]));
    all.push(inn_check_digit(&all, &[3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]));
    all.iter().map(|digit| char::from(b'0' + digit)).collect()
}

/// An organisation's 10-digit INN from its first 9 digits, check digit appended.
pub fn organisation_inn(first_nine: &str) -> String {
    let mut all = to_digit_bytes(first_nine);
    all.push(inn_check_digit(&all, &[2, 4, 10, 3, 5, 9, 4, 6, 8]));
    all.iter().map(|digit| char::from(b'0' + digit)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_is_a_bijection_on_its_domain() {
        let domain = 1_000;
        let mut seen = vec![false; domain as usize];
        for slot in 0..domain {
            let value = permute(slot, domain, 42);
            assert!(value < domain);
            assert!(!seen[value as usize], "{value} drawn twice");
            seen[value as usize] = true;
        }
    }

    #[test]
    fn reserved_number_stays_with_slot_zero() {
        let domain = 100;
        let reserved = permute(37, domain, 7);
        let values: Vec<u64> = (0..domain)
            .map(|slot| permute_reserving(slot, domain, 7, Some(reserved)))
            .collect();
        assert_eq!(values[0], reserved);
        let mut sorted = values.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), values.len());
    }

    #[test]
    fn check_digits_match_known_numbers() {
        assert_eq!(snils_check(123_456_789), 64);
        assert_eq!(format_snils(123_456_789, 64), "123-456-789 64");
        // The tax service's own examples.
        assert_eq!(organisation_inn("770708389"), "7707083893");
        assert_eq!(person_inn("5001007322"), "500100732259");
    }
}
