//! Where keys and passwords come from: a path, `env://VAR`, `COSIGN_PASSWORD`, or a terminal prompt.

use super::{keyfile, KeyError, PrivateKey, PublicKey};
use crate::secret::SecretString;
use std::io::IsTerminal;
use std::path::PathBuf;

/// The environment variable cosign reads the key password from.
pub const ENV_PASSWORD: &str = "COSIGN_PASSWORD";
/// The environment variable the Action reads the private key from.
pub const ENV_PRIVATE_KEY: &str = "COSIGN_PRIVATE_KEY";

/// A reference to a key: a file path or `env://VAR`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyRef {
    /// A file.
    File(PathBuf),
    /// The PEM text in an environment variable.
    Env(String),
}

impl std::str::FromStr for KeyRef {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, KeyError> {
        if let Some(var) = s.strip_prefix("env://") {
            if var.is_empty() {
                return Err(KeyError::UnsupportedRef("env://".into()));
            }
            return Ok(KeyRef::Env(var.to_string()));
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

impl std::fmt::Display for KeyRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyRef::File(p) => write!(f, "{}", p.display()),
            KeyRef::Env(v) => write!(f, "env://{v}"),
        }
    }
}

impl KeyRef {
    /// Reads the referenced text (a private key's text stays secret).
    pub fn read(&self) -> Result<SecretString, KeyError> {
        let text = match self {
            KeyRef::File(p) => std::fs::read(p)
                .map_err(|e| match e.kind() {
                    std::io::ErrorKind::NotFound => KeyError::NotFound,
                    _ => KeyError::Unreadable(e.to_string()),
                })
                .and_then(|bytes| String::from_utf8(bytes).map_err(|_| KeyError::NotPem))?,
            KeyRef::Env(v) => std::env::var(v).map_err(|e| match e {
                std::env::VarError::NotPresent => KeyError::EnvUnset(v.clone()),
                std::env::VarError::NotUnicode(_) => KeyError::NotPem,
            })?,
        };
        if text.trim().is_empty() {
            return Err(KeyError::Empty);
        }
        Ok(SecretString::from(text))
    }

    /// Reads and decrypts a private key with the password from `password`.
    pub fn load_private(&self, password: &PasswordSource) -> Result<PrivateKey, KeyError> {
        let text = self.read()?;
        let pw = password.get(false)?;
        keyfile::decrypt(text.expose(), pw.expose().as_bytes())
    }

    /// Reads a public key: a `PUBLIC KEY` PEM, or the public half of an encrypted private key is not
    /// accepted (cosign does not either).
    pub fn load_public(&self) -> Result<PublicKey, KeyError> {
        let text = self.read()?;
        PublicKey::from_pem(text.expose())
    }
}

/// Where the private key's password comes from.
#[derive(Debug)]
pub enum PasswordSource {
    /// `COSIGN_PASSWORD`, else a prompt on the terminal, else an error.
    EnvOrPrompt,
    /// A value already in hand (the Action's inputs, tests).
    Given(SecretString),
}

impl PasswordSource {
    /// The password; `confirm` asks twice when prompting (for a new key).
    pub fn get(&self, confirm: bool) -> Result<SecretString, KeyError> {
        match self {
            PasswordSource::Given(p) => Ok(p.clone()),
            PasswordSource::EnvOrPrompt => {
                if let Ok(p) = std::env::var(ENV_PASSWORD) {
                    return Ok(SecretString::from(p));
                }
                if !std::io::stdin().is_terminal() {
                    return Err(KeyError::NoPassword);
                }
                let first = SecretString::from(
                    rpassword::prompt_password("Enter password for private key: ")
                        .map_err(|_| KeyError::NoPassword)?,
                );
                if confirm {
                    let again = SecretString::from(
                        rpassword::prompt_password("Enter password for private key again: ")
                            .map_err(|_| KeyError::NoPassword)?,
                    );
                    if again.expose() != first.expose() {
                        return Err(KeyError::PasswordMismatch);
                    }
                }
                Ok(first)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_refs() {
        assert_eq!(
            "env://X".parse::<KeyRef>().unwrap(),
            KeyRef::Env("X".into())
        );
        assert_eq!(
            "a/cosign.key".parse::<KeyRef>().unwrap(),
            KeyRef::File("a/cosign.key".into())
        );
        assert!(matches!(
            "gcpkms://x".parse::<KeyRef>(),
            Err(KeyError::UnsupportedRef(_))
        ));
        assert!("env://".parse::<KeyRef>().is_err());
    }
}
