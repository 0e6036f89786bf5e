//! The text typed in the demo window, which becomes the local metadata key `typed`.

use std::collections::VecDeque;

/// The metadata key holding what was typed.
pub const TYPED_KEY: &str = "typed";

/// How many of the most recently typed characters are kept (as in the seed).
pub const TYPED_MAX_CHARS: usize = 30;

/// The last [`TYPED_MAX_CHARS`] printable characters typed, editable with Backspace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TypedBuffer {
    chars: VecDeque<char>,
}

impl TypedBuffer {
    /// An empty buffer.
    pub fn new() -> Self {
        TypedBuffer::default()
    }

    /// Appends `c` if it is printable (not a control character), dropping the oldest character
    /// beyond the limit. Returns whether the buffer changed.
    pub fn push(&mut self, c: char) -> bool {
        if c.is_control() {
            return false;
        }
        if self.chars.len() == TYPED_MAX_CHARS {
            self.chars.pop_front();
        }
        self.chars.push_back(c);
        true
    }

    /// Appends the printable characters of `text`. Returns whether the buffer changed.
    pub fn push_str(&mut self, text: &str) -> bool {
        let mut changed = false;
        for c in text.chars() {
            changed |= self.push(c);
        }
        changed
    }

    /// Removes the last character. Returns whether there was one.
    pub fn backspace(&mut self) -> bool {
        self.chars.pop_back().is_some()
    }

    /// Whether nothing is typed.
    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    /// The typed text.
    pub fn text(&self) -> String {
        self.chars.iter().collect()
    }

    /// The value of the metadata key `typed`: the text, or `None` (no key) when empty.
    pub fn metadata_value(&self) -> Option<Vec<u8>> {
        (!self.is_empty()).then(|| self.text().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(text: &str) -> TypedBuffer {
        let mut buffer = TypedBuffer::new();
        for c in text.chars() {
            buffer.push(c);
        }
        buffer
    }

    #[test]
    fn keeps_the_last_thirty_characters() {
        let buffer = typed("abcdefghijklmnopqrstuvwxyz0123456789");
        assert_eq!(buffer.text(), "ghijklmnopqrstuvwxyz0123456789");
        assert_eq!(buffer.text().chars().count(), TYPED_MAX_CHARS);
        let wide = typed(&"é".repeat(40));
        assert_eq!(wide.text(), "é".repeat(30));
    }

    #[test]
    fn control_characters_are_refused() {
        let mut buffer = typed("hi");
        for c in ['\n', '\r', '\t', '\x1b', '\x7f', '\0'] {
            assert!(!buffer.push(c));
        }
        assert_eq!(buffer.text(), "hi");
        assert!(buffer.push(' '));
        assert_eq!(buffer.text(), "hi ");
    }

    #[test]
    fn backspace_removes_the_last_character() {
        let mut buffer = typed("héllo");
        assert!(buffer.backspace());
        assert_eq!(buffer.text(), "héll");
        assert!(
            buffer.backspace() && buffer.backspace() && buffer.backspace() && buffer.backspace()
        );
        assert!(buffer.is_empty());
        assert!(!buffer.backspace());
        assert_eq!(buffer.text(), "");
        assert_eq!(buffer.metadata_value(), None);
    }

    #[test]
    fn push_str_reports_changes_and_metadata_value_is_utf8() {
        let mut buffer = TypedBuffer::new();
        assert!(!buffer.push_str("\n\t"));
        assert!(buffer.push_str("a\nb"));
        assert_eq!(buffer.metadata_value(), Some(b"ab".to_vec()));
    }
}
