//! Where keys and passwords come from: a path or `env://VAR` (read by the front-end into the request),
//! and a password given (`COSIGN_PASSWORD`, Action inputs), asked for on the terminal or read from
//! stdin through [`Ui`] (cosign's order: `cmd/cosign/cli/generate/generate_key_pair.go`
//! `readPasswordFn`), or generated.

use super::{keyfile, KeyError, PrivateKey, PublicKey};
use crate::gha::{StdinPassword, Ui};
use crate::secret::{SecretBytes, SecretString};
use std::path::PathBuf;

/// The largest key file read (docs/inputs.md P10): a cosign key file is under 4 KiB even for RSA-4096.
pub(crate) const MAX_KEY_BYTES: u64 = 64 * 1024;

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
        if let Some(e) = refused_scheme(s) {
            return Err(e);
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

/// The key reference schemes cosign reads that ferrosign refuses, with the reason and what to do
/// (docs/inputs.md K6, K8–K13).
fn refused_scheme(s: &str) -> Option<KeyError> {
    let scheme = s.split_once("://").map(|(k, _)| k).unwrap_or_default();
    let bad_ref = |message: String, hint: &str| KeyError::BadRef {
        message,
        hint: hint.to_string(),
    };
    let on_purpose = |message: String, hint: &str| KeyError::OnPurpose {
        message,
        hint: hint.to_string(),
    };
    Some(match scheme {
        "file" => bad_ref(
            format!("`{s}`: file:// is not a key reference (cosign refuses it too)"),
            "pass the path without file://",
        ),
        "github" => bad_ref(
            format!("`{s}`: GitHub Actions secrets cannot be read back (cosign refuses github:// keys too)"),
            "secrets are write-only: in a workflow pass the secret through the environment, --key env://COSIGN_PRIVATE_KEY (or env://COSIGN_PUBLIC_KEY)",
        ),
        "gitlab" => on_purpose(
            format!("`{s}`: gitlab:// keys are not supported: ferrosign has no GitLab client"),
            "export the CI/CD variable and pass --key env://COSIGN_PRIVATE_KEY (or env://COSIGN_PUBLIC_KEY)",
        ),
        "awskms" | "gcpkms" | "azurekms" | "hashivault" => on_purpose(
            format!("KMS keys ({scheme}://…) are not supported: cloud credential chains and remote signing are outside ferrosign"),
            "sign with cosign for KMS keys, or use a cosign key file",
        ),
        "http" if !is_loopback_url(s) => on_purpose(
            format!("refusing to fetch the key over plain HTTP: {s} (the key decides what is trusted, and anyone on the path could choose it)"),
            "use https://, or download it and pass the file",
        ),
        _ if s.starts_with("pkcs11:") => on_purpose(
            "hardware keys (pkcs11:) are not supported: they need native libraries a static binary does not carry".into(),
            "sign with cosign for hardware keys, or use a cosign key file",
        ),
        _ => return None,
    })
}

/// True for `http://localhost…`, `http://127.…` and `http://[::1]…` (tests, local mirrors).
fn is_loopback_url(s: &str) -> bool {
    let rest = s.split_once("://").map(|(_, r)| r).unwrap_or_default();
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit_once('@').map(|(_, h)| h).unwrap_or(host);
    let name = if let Some(v6) = host.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host.split(':').next().unwrap_or_default()
    };
    name == "localhost"
        || name == "::1"
        || name
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|a| a.is_loopback())
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
    /// Reads the referenced bytes (a private key's stay secret), at most [`MAX_KEY_BYTES`].
    pub(crate) fn read(&self) -> Result<SecretBytes, KeyError> {
        let bytes = match self {
            KeyRef::File(p) => SecretBytes::new(
                crate::fsutil::read_limited(p, crate::fsutil::KEY_FILE).map_err(|e| {
                    match e.kind() {
                        std::io::ErrorKind::NotFound => KeyError::NotFound,
                        // read_limited's error for a file over the limit
                        std::io::ErrorKind::InvalidData => KeyError::TooLarge {
                            limit: crate::fsutil::KEY_FILE.max,
                        },
                        _ => KeyError::Unreadable(e.to_string()),
                    }
                })?,
            ),
            KeyRef::Env { text, .. } => SecretBytes::new(text.expose().as_bytes().to_vec()),
        };
        if bytes.expose().len() as u64 > MAX_KEY_BYTES {
            return Err(KeyError::TooLarge {
                limit: MAX_KEY_BYTES,
            });
        }
        if bytes.expose().trim_ascii().is_empty() {
            return Err(KeyError::Empty);
        }
        Ok(bytes)
    }

    /// Reads and decrypts a private key with the password from `password` (asked through `ui` when
    /// it is to be prompted for or read from stdin).
    pub(crate) fn load_private(
        &self,
        password: &PasswordSource,
        ui: &mut Ui,
    ) -> Result<PrivateKey, KeyError> {
        let text = self.read()?;
        let pw = password.get(false, ui)?;
        decrypt_key(text.expose(), &pw)
    }

    /// Reads a public key: the first PEM block, `PUBLIC KEY` (PKIX) or `RSA PUBLIC KEY` (PKCS#1), as
    /// cosign reads it (the public half of an encrypted private key is not accepted; cosign does not
    /// either).
    pub(crate) fn load_public(&self) -> Result<PublicKey, KeyError> {
        let text = self.read()?;
        PublicKey::from_pem_bytes(text.expose())
    }
}

/// Decrypts the text of a cosign key file with `pw` ([`keyfile::decrypt`]); a wrong password read from
/// stdin that ends in a newline is [`KeyError::WrongPasswordNewline`] (the newline is part of it).
pub(crate) fn decrypt_key(text: &[u8], pw: &Password) -> Result<PrivateKey, KeyError> {
    match keyfile::decrypt(text, pw.bytes.expose()) {
        Err(KeyError::WrongPassword) if pw.from_stdin && pw.bytes.expose().ends_with(b"\n") => {
            Err(KeyError::WrongPasswordNewline)
        }
        other => other,
    }
}

/// Where a private key's password comes from (decided by the front-end).
#[derive(Debug, Clone)]
pub(crate) enum PasswordSource {
    /// A value in hand: `COSIGN_PASSWORD` (set, even empty; bytes as they are, UTF-8 or not), an
    /// Action input.
    Given(SecretBytes),
    /// `COSIGN_PASSWORD` is not set: ask on the terminal, or when stdin is a pipe or a file read it to
    /// its end, bytes verbatim (a trailing newline is part of the password, as in cosign).
    Prompt,
    /// Stdin carries something else (`sign-blob -` reads the file from it): only the terminal.
    PromptNoStdin,
    /// A new key pair stored as secrets: 43 random characters (nobody types it; the store keeps it).
    Generate,
}

/// A password and where it came from.
pub(crate) struct Password {
    /// the password's bytes
    pub(crate) bytes: SecretBytes,
    /// read from stdin (for the trailing newline hint)
    pub(crate) from_stdin: bool,
}

impl Password {
    /// The password as text, when it is UTF-8 (to mask it, or to store it as a secret).
    pub(crate) fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(self.bytes.expose()).ok()
    }
}

impl PasswordSource {
    /// The password; `confirm` asks twice when prompting on a terminal (for a new key; a password read
    /// from stdin is read once, as cosign does). [`PasswordSource::Generate`] makes a new one.
    pub(crate) fn get(&self, confirm: bool, ui: &mut Ui) -> Result<Password, KeyError> {
        let given = |bytes: SecretBytes| Password {
            bytes,
            from_stdin: false,
        };
        match self {
            PasswordSource::Given(p) => Ok(given(p.clone())),
            PasswordSource::Generate => Ok(given(SecretBytes::new(
                generate_password().expose().as_bytes().to_vec(),
            ))),
            PasswordSource::PromptNoStdin => Err(KeyError::NoPasswordStdinTaken),
            PasswordSource::Prompt => {
                match Ui::stdin_password() {
                    StdinPassword::Terminal => {}
                    StdinPassword::Read(bytes) => {
                        return Ok(Password {
                            bytes,
                            from_stdin: true,
                        })
                    }
                    StdinPassword::Failed(e) => return Err(KeyError::Unreadable(e)),
                    StdinPassword::Unusable => return Err(KeyError::NoPassword),
                }
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
                Ok(given(SecretBytes::new(first.expose().as_bytes().to_vec())))
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
            Err(KeyError::OnPurpose { .. })
        ));
        for on_purpose in [
            "gitlab://p",
            "awskms://k",
            "pkcs11:token=x",
            "http://example.com/k.pub",
        ] {
            assert!(
                matches!(
                    KeyRef::parse(on_purpose, env),
                    Err(KeyError::OnPurpose { .. })
                ),
                "{on_purpose}"
            );
        }
        for refused in ["file:///k.pub", "github://acme/app"] {
            assert!(
                matches!(KeyRef::parse(refused, env), Err(KeyError::BadRef { .. })),
                "{refused}"
            );
        }
        assert!(is_loopback_url("http://127.0.0.1:8080/k.pub"));
        assert!(is_loopback_url("http://[::1]:1/k"));
        assert!(is_loopback_url("http://localhost/k"));
        assert!(!is_loopback_url("http://127.0.0.1.example.com/k"));
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
