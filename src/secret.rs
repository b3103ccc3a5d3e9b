//! `Secret<T>`: a value that cannot be printed and is zeroized when dropped.
//!
//! Private keys, passwords and tokens live in this wrapper from the moment they are read until they are
//! dropped. It has no `Display`; its `Debug` prints `Secret(<redacted>)`. The only way to the inner value is
//! [`Secret::expose`], which makes every use greppable.

use std::fmt;
use zeroize::Zeroize;

/// A secret value: redacted in `Debug`, no `Display`, zeroized on drop.
pub(crate) struct Secret<T: Zeroize>(T);

/// A secret string (password, PEM text, token).
pub(crate) type SecretString = Secret<String>;
/// Secret bytes (key material, decrypted plaintext).
pub(crate) type SecretBytes = Secret<Vec<u8>>;

impl<T: Zeroize> Secret<T> {
    /// Wraps a value.
    pub(crate) fn new(value: T) -> Self {
        Secret(value)
    }

    /// Borrows the secret value. Callers must not print or log it.
    pub(crate) fn expose(&self) -> &T {
        &self.0
    }
}

impl<T: Zeroize + Clone> Clone for Secret<T> {
    fn clone(&self) -> Self {
        Secret(self.0.clone())
    }
}

impl<T: Zeroize> Drop for Secret<T> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl<T: Zeroize> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<Vec<u8>> for SecretBytes {
    fn from(value: Vec<u8>) -> Self {
        Secret(value)
    }
}

/// `text` with the credentials of every URL in it (`scheme://user:password@host…`) replaced by `***`:
/// `https://***@host/path`. Anything that is not a URL is left as it is. Every message ferrosign
/// shows passes through this ([`crate::gha::Ui`]), so a URL given with credentials never echoes them.
pub(crate) fn redact_url_credentials(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains("://") || !text.contains('@') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        // The authority ends at the path, query, fragment, or anything that cannot be in a URL.
        let end = tail
            .find(|c: char| {
                matches!(c, '/' | '?' | '#' | '`' | '\'' | '"' | '<' | '>') || c.is_whitespace()
            })
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => {
                out.push_str("***");
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_credentials_are_redacted_wherever_they_are() {
        assert_eq!(
            redact_url_credentials("cannot reach https://user:pw@rekor.example/api?x=1: refused"),
            "cannot reach https://***@rekor.example/api?x=1: refused"
        );
        assert_eq!(
            redact_url_credentials("`http://tok@127.0.0.1:9` and https://a:b@c"),
            "`http://***@127.0.0.1:9` and https://***@c"
        );
        // no credentials: unchanged, including an @ in the path or in plain text
        for same in [
            "https://example.com/@scope/pkg",
            "mail a@b.c",
            "ghcr.io/acme/app@sha256:00",
            "no url here",
        ] {
            assert_eq!(redact_url_credentials(same), same);
        }
    }

    #[test]
    fn debug_is_redacted() {
        let s = SecretString::from("hunter2".to_string());
        let shown = format!("{s:?}");
        assert_eq!(shown, "Secret(<redacted>)");
        assert!(!shown.contains("hunter2"));
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn dropping_a_secret_zeroizes_it() {
        use std::cell::Cell;
        use std::rc::Rc;
        /// A value that records being zeroized (reading freed memory would need `unsafe`).
        struct Recorded(Rc<Cell<bool>>);
        impl Zeroize for Recorded {
            fn zeroize(&mut self) {
                self.0.set(true);
            }
        }
        let zeroized = Rc::new(Cell::new(false));
        let s = Secret::new(Recorded(zeroized.clone()));
        assert!(!zeroized.get());
        drop(s);
        assert!(zeroized.get(), "Secret's Drop did not zeroize the value");
    }
}
