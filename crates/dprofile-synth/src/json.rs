//! A small JSON writer for the envelope lines: one `String` per line, written in place.
//!
//! `serde_json::Value` per record would cost a map allocation per field; the generator writes a
//! million lines in a few seconds only because every line is appended straight into one buffer.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};

/// Appends `text` as a JSON string literal, escaping only what JSON requires.
pub fn push_string(out: &mut String, text: &str) {
    out.push('"');
    if text
        .bytes()
        .all(|byte| byte >= 0x20 && byte != b'"' && byte != b'\\')
    {
        out.push_str(text);
    } else {
        for character in text.chars() {
            match character {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                control if (control as u32) < 0x20 => {
                    out.push_str(&format!("\\u{:04x}", control as u32));
                }
                other => out.push(other),
            }
        }
    }
    out.push('"');
}

/// Appends `value` zero-padded to `width` digits; callers pass values that fit.
fn push_padded(out: &mut String, value: u32, width: u32) {
    let mut divisor = 10u32.pow(width - 1);
    while divisor > 0 {
        out.push(char::from(b'0' + ((value / divisor) % 10) as u8));
        divisor /= 10;
    }
}

/// Appends the unquoted `YYYY-MM-DD` form of a date.
pub fn push_date_digits(out: &mut String, date: NaiveDate) {
    push_padded(out, date.year().clamp(0, 9999) as u32, 4);
    out.push('-');
    push_padded(out, date.month(), 2);
    out.push('-');
    push_padded(out, date.day(), 2);
}

pub fn push_integer(out: &mut String, value: i64) {
    if value < 0 {
        out.push('-');
    }
    let magnitude = value.unsigned_abs();
    if magnitude == 0 {
        out.push('0');
        return;
    }
    let mut digits = [0u8; 20];
    let mut length = 0;
    let mut rest = magnitude;
    while rest > 0 {
        digits[length] = b'0' + (rest % 10) as u8;
        rest /= 10;
        length += 1;
    }
    for digit in digits[..length].iter().rev() {
        out.push(char::from(*digit));
    }
}

/// One JSON object being written; `end` closes it.
pub struct JsonObject<'buffer> {
    out: &'buffer mut String,
    empty: bool,
}

impl<'buffer> JsonObject<'buffer> {
    pub fn begin(out: &'buffer mut String) -> JsonObject<'buffer> {
        out.push('{');
        JsonObject { out, empty: true }
    }

    fn key(&mut self, key: &str) {
        if !self.empty {
            self.out.push(',');
        }
        self.empty = false;
        self.out.push('"');
        self.out.push_str(key);
        self.out.push_str("\":");
    }

    pub fn string(&mut self, key: &str, value: &str) -> &mut Self {
        self.key(key);
        push_string(self.out, value);
        self
    }

    pub fn optional_string(&mut self, key: &str, value: Option<&str>) -> &mut Self {
        if let Some(value) = value {
            self.string(key, value);
        }
        self
    }

    pub fn date(&mut self, key: &str, value: NaiveDate) -> &mut Self {
        self.key(key);
        self.out.push('"');
        push_date_digits(self.out, value);
        self.out.push('"');
        self
    }

    pub fn optional_date(&mut self, key: &str, value: Option<NaiveDate>) -> &mut Self {
        if let Some(value) = value {
            self.date(key, value);
        }
        self
    }

    /// An RFC 3339 instant in UTC, `2026-03-01T09:00:00Z`.
    pub fn date_time(&mut self, key: &str, value: NaiveDateTime) -> &mut Self {
        self.key(key);
        self.out.push('"');
        push_date_digits(self.out, value.date());
        self.out.push('T');
        push_padded(self.out, value.hour(), 2);
        self.out.push(':');
        push_padded(self.out, value.minute(), 2);
        self.out.push(':');
        push_padded(self.out, value.second(), 2);
        self.out.push_str("Z\"");
        self
    }

    pub fn integer(&mut self, key: &str, value: i64) -> &mut Self {
        self.key(key);
        push_integer(self.out, value);
        self
    }

    /// Roubles from kopecks, always with two decimals (`-1250.00`), as the money type expects.
    pub fn money(&mut self, key: &str, minor_units: i64) -> &mut Self {
        self.key(key);
        if minor_units < 0 {
            self.out.push('-');
        }
        let magnitude = minor_units.unsigned_abs();
        push_integer(self.out, (magnitude / 100) as i64);
        self.out.push('.');
        push_padded(self.out, (magnitude % 100) as u32, 2);
        self
    }

    pub fn boolean(&mut self, key: &str, value: bool) -> &mut Self {
        self.key(key);
        self.out.push_str(if value { "true" } else { "false" });
        self
    }

    pub fn null(&mut self, key: &str) -> &mut Self {
        self.key(key);
        self.out.push_str("null");
        self
    }

    pub fn string_array(&mut self, key: &str, values: &[&str]) -> &mut Self {
        self.key(key);
        self.out.push('[');
        for (index, value) in values.iter().enumerate() {
            if index > 0 {
                self.out.push(',');
            }
            push_string(self.out, value);
        }
        self.out.push(']');
        self
    }

    /// A nested object under `key`; close it with [`JsonObject::end`] before writing on here.
    pub fn object(&mut self, key: &str) -> JsonObject<'_> {
        self.key(key);
        JsonObject::begin(self.out)
    }

    /// An array of objects under `key`; close it with [`JsonArray::end`].
    pub fn array(&mut self, key: &str) -> JsonArray<'_> {
        self.key(key);
        self.out.push('[');
        JsonArray {
            out: self.out,
            empty: true,
        }
    }

    /// A field whose value is already JSON (a payload written earlier).
    pub fn raw(&mut self, key: &str, json: &str) -> &mut Self {
        self.key(key);
        self.out.push_str(json);
        self
    }

    pub fn end(self) {
        self.out.push('}');
    }
}

/// One JSON array of objects being written.
pub struct JsonArray<'buffer> {
    out: &'buffer mut String,
    empty: bool,
}

impl JsonArray<'_> {
    pub fn object(&mut self) -> JsonObject<'_> {
        if !self.empty {
            self.out.push(',');
        }
        self.empty = false;
        JsonObject::begin(self.out)
    }

    pub fn end(self) {
        self.out.push(']');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_escaped_strings_dates_and_money() {
        let mut out = String::new();
        let mut object = JsonObject::begin(&mut out);
        object
            .string("name", "say \"hi\"\\")
            .date(
                "on",
                NaiveDate::from_ymd_opt(2026, 3, 1).unwrap_or_default(),
            )
            .money("balance", -125_050)
            .money("zero", 5)
            .integer("count", -42);
        let mut nested = object.object("inner");
        nested.boolean("ok", true);
        nested.end();
        object.end();
        assert_eq!(
            out,
            r#"{"name":"say \"hi\"\\","on":"2026-03-01","balance":-1250.50,"zero":0.05,"count":-42,"inner":{"ok":true}}"#
        );
    }
}
