//! Where keys and passwords come from: a path or `env://VAR` (read by the front-end into the request),
//! and a password given (`COSIGN_PASSWORD`, Action inputs), asked for on the terminal through
//! [`Ui::prompt_password`], or generated.

use super::{keyfile, KeyError, PrivateKey, PublicKey};
use crate::gha::Ui;
use crate::secret::SecretString;
use std::path::PathBuf;

/// A reference to a key: a file path, or the PEM text of an environment variable (`env://VAR`).
#[derive(Clone, Debug)]
pub(crate) enum KeyRef {
    /// A file.
    File(PathBuf),
    /// The PEM text of an environment variable, read by the front-end.
    Env {
        /// the variable's name
        var: String,
        /// its value (secret)
        text: SecretString,
    },
}

impl KeyRef {
    /// Parses a key reference, `PATH` or `env://VAR`; `lookup` reads the variable (the front-ends pass
    /// the environment). Errors: an empty reference, another `scheme://`, an unset variable.
    pub(crate) fn parse(
        s: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, KeyError> {
        if is_key_text(s) {
            return Err(KeyError::TextNotReference);
        }
        if let Some(var) = s.strip_prefix("env://") {
            if var.is_empty() {
                return Err(KeyError::UnsupportedRef("env://".into()));
            }
            let text = lookup(var).ok_or_else(|| KeyError::EnvUnset(var.to_string()))?;
            return Ok(KeyRef::Env {
                var: var.to_string(),
                text: SecretString::from(text),
            });
        }
        if let Some((scheme, _)) = s.split_once("://") {
            return Err(KeyError::UnsupportedRef(format!("{scheme}://…")));
        }
        if s.is_empty() {
            return Err(KeyError::NotFound);
        }
        Ok(KeyRef::File(PathBuf::from(s)))
    }
}

/// True when `s` is key text rather than a reference: a PEM armour line, or several lines (no path or
/// variable name has a line break). Such a value is a secret: callers mask it and never echo it.
pub(crate) fn is_key_text(s: &str) -> bool {
    s.contains("-----BEGIN") || s.contains('\n') || s.contains('\r')
}

impl std::fmt::Display for KeyRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyRef::File(p) => write!(f, "{}", p.display()),
            KeyRef::Env { var, .. } => write!(f, "env://{var}"),
        }
    }
}

impl KeyRef {
    /// Reads the referenced text (a private key's text stays secret).
    pub(crate) fn read(&self) -> Result<SecretString, KeyError> {
        let text = match self {
            KeyRef::File(p) => SecretString::from(
                crate::fsutil::read_limited(p, crate::fsutil::KEY_FILE)
                    .map_err(|e| match e.kind() {
                        std::io::ErrorKind::NotFound => KeyError::NotFound,
                        _ => KeyError::Unreadable(e.to_string()),
                    })
                    .and_then(|bytes| String::from_utf8(bytes).map_err(|_| KeyError::NotPem))?,
            ),
            KeyRef::Env { text, .. } => text.clone(),
        };
        if text.expose().trim().is_empty() {
            return Err(KeyError::Empty);
        }
        Ok(text)
    }

    /// Reads and decrypts a private key with the password from `password` (asked through `ui` when
    /// it is to be prompted for).
    pub(crate) fn load_private(
        &self,
        password: &PasswordSource,
        ui: &mut Ui,
    ) -> Result<PrivateKey, KeyError> {
        let text = self.read()?;
        let pw = password.get(false, ui)?;
        keyfile::decrypt(text.expose(), pw.expose().as_bytes())
    }

    /// Reads a public key: a `PUBLIC KEY` PEM (the public half of an encrypted private key is not
    /// accepted; cosign does not either).
    pub(crate) fn load_public(&self) -> Result<PublicKey, KeyError> {
        let text = self.read()?;
        PublicKey::from_pem(text.expose())
    }
}

/// Where a private key's password comes from (decided by the front-end).
#[derive(Debug, Clone)]
pub(crate) enum PasswordSource {
    /// A value in hand (`COSIGN_PASSWORD`, which may be empty).
    Given(SecretString),
    /// Ask on the terminal; an error when there is none.
    Prompt,
    /// A new key pair stored as secrets: 43 random characters (nobody types it; the store keeps it).
    Generate,
}

impl PasswordSource {
    /// The password; `confirm` asks twice when prompting (for a new key). [`PasswordSource::Generate`]
    /// makes a new one.
    pub(crate) fn get(&self, confirm: bool, ui: &mut Ui) -> Result<SecretString, KeyError> {
        match self {
            PasswordSource::Given(p) => Ok(p.clone()),
            PasswordSource::Generate => Ok(generate_password()),
            PasswordSource::Prompt => {
                let first = ui
                    .prompt_password("Enter password for private key: ")
                    .ok_or(KeyError::NoPassword)?;
                if confirm {
                    let again = ui
                        .prompt_password("Enter password for private key again: ")
                        .ok_or(KeyError::NoPassword)?;
                    if again.expose() != first.expose() {
                        return Err(KeyError::PasswordMismatch);
                    }
                }
                Ok(first)
            }
        }
    }
}

/// 43 random characters (32 bytes from the operating system, URL-safe base64 without padding).
pub(crate) fn generate_password() -> SecretString {
    use base64::Engine;
    use rand_core::RngCore;
    let mut buf = zeroize::Zeroizing::new([0u8; 32]);
    rand_core::OsRng.fill_bytes(buf.as_mut());
    SecretString::from(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_refs() {
        let env = |name: &str| (name == "X").then(|| "PEM".to_string());
        assert!(matches!(
            KeyRef::parse("env://X", env).unwrap(),
            KeyRef::Env { ref var, ref text } if var == "X" && text.expose() == "PEM"
        ));
        assert!(matches!(
            KeyRef::parse("env://Y", env),
            Err(KeyError::EnvUnset(v)) if v == "Y"
        ));
        assert!(matches!(
            KeyRef::parse("a/cosign.key", env).unwrap(),
            KeyRef::File(p) if p == std::path::Path::new("a/cosign.key")
        ));
        assert!(matches!(
            KeyRef::parse("gcpkms://x", env),
            Err(KeyError::UnsupportedRef(_))
        ));
        assert!(KeyRef::parse("env://", env).is_err());
        let pem = "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nc2VjcmV0\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n";
        assert!(matches!(
            KeyRef::parse(pem, env),
            Err(KeyError::TextNotReference)
        ));
        assert!(matches!(
            KeyRef::parse("c2VjcmV0\nc2VjcmV0", env),
            Err(KeyError::TextNotReference)
        ));
    }

    #[test]
    fn generated_passwords_are_long_and_differ() {
        let a = generate_password();
        let b = generate_password();
        assert!(a.expose().len() >= 32, "{}", a.expose().len());
        assert_ne!(a.expose(), b.expose());
        assert!(a
            .expose()
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }
}
