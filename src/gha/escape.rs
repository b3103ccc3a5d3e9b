//! Escaping for workflow commands, exactly as the official toolkit (`@actions/core`) does it.
//!
//! This is security code: an unescaped newline in a value lets the value start a command of its own.

/// Escapes the message part of a workflow command (`::name::message`).
pub(crate) fn data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_the_toolkit() {
        assert_eq!(data("a%b\r\nc"), "a%25b%0D%0Ac");
        assert_eq!(data("x\n::add-mask::y"), "x%0A::add-mask::y");
        assert_eq!(data("%0A"), "%250A");
    }
}
