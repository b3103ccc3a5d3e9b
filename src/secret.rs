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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = SecretString::from("hunter2".to_string());
        let shown = format!("{s:?}");
        assert_eq!(shown, "Secret(<redacted>)");
        assert!(!shown.contains("hunter2"));
        assert_eq!(s.expose(), "hunter2");
    }
}
