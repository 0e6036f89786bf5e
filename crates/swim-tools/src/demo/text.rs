//! Turning untrusted names and metadata bytes into text that is safe to put on a terminal.

use std::fmt;
use std::time::SystemTime;

/// Values longer than this many characters (after hex encoding) are cut and end in `…`.
pub const MAX_VALUE_CHARS: usize = 64;

/// A metadata value ready to show: its UTF-8 text, or its bytes in hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisplayValue {
    /// The value is UTF-8 text without control characters.
    Text(String),
    /// The value is shown as lower-case hex.
    Hex(String),
}

impl DisplayValue {
    /// Whether the value is shown in hex.
    pub fn is_hex(&self) -> bool {
        matches!(self, DisplayValue::Hex(_))
    }

    /// The text to show.
    pub fn as_str(&self) -> &str {
        match self {
            DisplayValue::Text(s) | DisplayValue::Hex(s) => s,
        }
    }
}

impl fmt::Display for DisplayValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Shows `bytes` as text when they are UTF-8 without control characters, otherwise as hex
/// (a control character would move the cursor or clear the screen of whoever looks).
pub fn display_value(bytes: &[u8]) -> DisplayValue {
    match std::str::from_utf8(bytes) {
        Ok(text) if !text.chars().any(char::is_control) => {
            DisplayValue::Text(truncate(text.chars(), MAX_VALUE_CHARS))
        }
        _ => {
            // Two hex digits per byte: encode one byte more than can be shown, so that a
            // longer value is seen to be cut.
            let shown = &bytes[..bytes.len().min(MAX_VALUE_CHARS / 2 + 1)];
            DisplayValue::Hex(truncate(hex::encode(shown).chars(), MAX_VALUE_CHARS))
        }
    }
}

/// At most `max` characters of `chars`; when there are more, the last one kept is `…`.
fn truncate(chars: impl Iterator<Item = char>, max: usize) -> String {
    let mut chars = chars.peekable();
    let mut out = String::new();
    for n in 1..=max {
        match chars.next() {
            Some(c) if n < max || chars.peek().is_none() => out.push(c),
            Some(_) => out.push('…'),
            None => break,
        }
    }
    out
}

/// `text` with every control character replaced by `�`.
pub fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

/// The UTC time of day of `at` as `HH:MM:SS.mmm` (times before 1970 show as midnight).
pub fn time_of_day(at: SystemTime) -> String {
    let since_epoch = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since_epoch.as_secs() % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        since_epoch.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn utf8_text_is_shown_as_text() {
        assert_eq!(display_value(b"hello"), DisplayValue::Text("hello".into()));
        assert_eq!(display_value("héllo ✓".as_bytes()).as_str(), "héllo ✓");
        assert_eq!(display_value(b""), DisplayValue::Text(String::new()));
    }

    #[test]
    fn invalid_utf8_and_control_characters_are_hex() {
        assert_eq!(
            display_value(&[0xff, 0x01]),
            DisplayValue::Hex("ff01".into())
        );
        assert_eq!(
            display_value(b"a\x1b[2J"),
            DisplayValue::Hex("611b5b324a".into())
        );
        let token = [0xabu8; 16];
        assert_eq!(display_value(&token).as_str(), "ab".repeat(16));
    }

    #[test]
    fn long_values_are_cut_with_an_ellipsis() {
        let long = "x".repeat(1000);
        let shown = display_value(long.as_bytes());
        assert_eq!(shown.as_str().chars().count(), MAX_VALUE_CHARS);
        assert!(shown.as_str().ends_with("x…"));
        let exact = "y".repeat(MAX_VALUE_CHARS);
        assert_eq!(display_value(exact.as_bytes()).as_str(), exact);
        let bytes = vec![0xffu8; 1000];
        let hex = display_value(&bytes);
        assert_eq!(hex.as_str().chars().count(), MAX_VALUE_CHARS);
        assert!(hex.as_str().ends_with('…'));
        let exact_hex = vec![0xeeu8; MAX_VALUE_CHARS / 2];
        assert_eq!(
            display_value(&exact_hex).as_str(),
            "ee".repeat(MAX_VALUE_CHARS / 2)
        );
    }

    #[test]
    fn sanitize_replaces_control_characters() {
        assert_eq!(sanitize("a\nb\x1bc"), "a\u{fffd}b\u{fffd}c");
        assert_eq!(sanitize("127.0.0.1:2001"), "127.0.0.1:2001");
    }

    #[test]
    fn time_of_day_is_utc_with_millis() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(86_400_000 * 3 + 3_723_045);
        assert_eq!(time_of_day(at), "01:02:03.045");
        let before = SystemTime::UNIX_EPOCH - Duration::from_secs(5);
        assert_eq!(time_of_day(before), "00:00:00.000");
    }
}
