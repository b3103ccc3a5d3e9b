//! The keyless path end to end, shared by `sign` and `sign-blob`: the trust material, the identity token
//! (→ [`crate::oidc`]), ONE ephemeral P-256 key and ONE Fulcio certificate per run (→ [`crate::fulcio`]),
//! and the transparency log (→ [`crate::rekor`]) which key-based signing uses too.

use crate::error::Error;
use crate::fulcio::{Fulcio, SigningCertificate, TrustedCas};
use crate::gha::Ui;
use crate::http::Http;
use crate::oidc::{self, Claims, TokenSource};
use crate::rekor::{self, LogEntry, LogKey, Rekor};
use crate::signing::{KeyError, PrivateKey};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use std::path::{Path, PathBuf};

/// What to do when the repository is private and identity data would go to public logs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PrivateRepository {
    /// Warn and go on (the default).
    #[default]
    Warn,
    /// Refuse to sign.
    Refuse,
    /// Go on silently (the user knows).
    Allow,
}

/// The Sigstore instance to use.
#[derive(Clone, Debug)]
pub struct Instance {
    /// Fulcio's URL
    pub fulcio_url: String,
    /// Rekor's URL
    pub rekor_url: String,
    /// a trusted_root.json; `None`: the public-good instance's
    pub trusted_root: Option<PathBuf>,
    /// the private repository policy
    pub private_repository: PrivateRepository,
}

impl Default for Instance {
    fn default() -> Self {
        Instance {
            fulcio_url: crate::fulcio::DEFAULT_URL.into(),
            rekor_url: rekor::DEFAULT_URL.into(),
            trusted_root: None,
            private_repository: PrivateRepository::Warn,
        }
    }
}

/// The trust material signing checks Fulcio's and Rekor's answers against (empty: trusts nothing).
#[derive(Clone, Debug, Default)]
pub struct Trust {
    /// the Fulcio CAs
    pub cas: TrustedCas,
    /// the Rekor keys (ECDSA P-256; other kinds are not used for signing)
    pub logs: Vec<LogKey>,
}

fn trust_error(name: &str, reason: impl std::fmt::Display) -> Error {
    Error::Usage {
        message: format!("cannot use the trusted root {name}: {reason}"),
        hint: Some("pass a trusted_root.json (application/vnd.dev.sigstore.trustedroot+json) with --trusted-root".into()),
    }
}

impl Trust {
    /// Loads a trusted_root.json, or the public-good instance's root.
    pub fn load(path: Option<&Path>) -> Result<Trust, Error> {
        let Some(path) = path else {
            return Err(Error::NotAvailable {
                message: "the public-good Sigstore trusted root is not embedded in this build yet"
                    .into(),
                hint: "pass the instance's trusted root with --trusted-root FILE".into(),
            });
        };
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            context: "cannot read the trusted root",
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json(&text, &path.display().to_string())
    }

    /// Reads the parts signing needs from a trusted root's JSON: the CA chains and the Rekor keys.
    pub fn from_json(text: &str, name: &str) -> Result<Trust, Error> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| trust_error(name, format!("not JSON: {e}")))?;
        let media = v["mediaType"].as_str().unwrap_or_default();
        if !media.starts_with("application/vnd.dev.sigstore.trustedroot") {
            return Err(trust_error(name, format!("its mediaType is `{media}`")));
        }
        let b64 = |s: &serde_json::Value| B64.decode(s.as_str().unwrap_or_default()).ok();
        let mut chains = Vec::new();
        for ca in v["certificateAuthorities"].as_array().into_iter().flatten() {
            let certs: Option<Vec<Vec<u8>>> = ca["certChain"]["certificates"]
                .as_array()
                .map(|a| a.iter().map(|c| b64(&c["rawBytes"])).collect::<Option<_>>())
                .unwrap_or(None);
            match certs {
                Some(c) if !c.is_empty() => chains.push(c),
                _ => {
                    return Err(trust_error(
                        name,
                        "a certificate authority has no readable certificate chain",
                    ))
                }
            }
        }
        let mut logs = Vec::new();
        for log in v["tlogs"].as_array().into_iter().flatten() {
            let details = log["publicKey"]["keyDetails"].as_str().unwrap_or_default();
            if !details.contains("ECDSA_P256") {
                continue;
            }
            let der = b64(&log["publicKey"]["rawBytes"])
                .ok_or_else(|| trust_error(name, "a transparency log key is not base64"))?;
            logs.push(LogKey::from_der(&der).map_err(|e: KeyError| trust_error(name, e))?);
        }
        Ok(Trust {
            cas: TrustedCas {
                name: format!("the trusted root {name}"),
                chains,
            },
            logs,
        })
    }
}

/// Whether the repository the run belongs to is private, from the token's claims or the event payload.
pub fn repository_is_private(claims: Option<&Claims>) -> Option<String> {
    if let Some(c) = claims {
        if let Some(v) = c
            .repository_visibility
            .as_deref()
            .filter(|v| *v != "public")
        {
            return Some(format!(
                "{} is {v}",
                c.repository.as_deref().unwrap_or("the repository")
            ));
        }
    }
    let path = std::env::var(crate::inputs::ENV_GITHUB_EVENT_PATH).ok()?;
    let event: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    if event["repository"]["private"].as_bool() == Some(true) {
        let name = event["repository"]["full_name"]
            .as_str()
            .unwrap_or("the repository");
        return Some(format!("{name} is private"));
    }
    None
}

/// Applies the private repository policy before anything is published. `what` says what goes public.
pub fn check_private_repository(
    policy: PrivateRepository,
    claims: Option<&Claims>,
    what: &str,
    ui: &mut Ui,
) -> Result<(), Error> {
    if policy == PrivateRepository::Allow {
        return Ok(());
    }
    let Some(why) = repository_is_private(claims) else {
        return Ok(());
    };
    let message = format!("{why}, and {what}");
    if policy == PrivateRepository::Refuse {
        return Err(Error::Usage {
            message: format!("refusing to sign: {message}"),
            hint: Some("sign with a key and --tlog-upload=false to publish nothing, or pass --private-repository=allow".into()),
        });
    }
    ui.warn(&format!(
        "{message} (--private-repository=refuse stops this, =allow silences it)"
    ));
    Ok(())
}

/// An ephemeral key and its Fulcio certificate: one per run, whatever the number of signatures.
#[derive(Debug)]
pub struct KeylessSigner {
    key: PrivateKey,
    cert: SigningCertificate,
}

impl KeylessSigner {
    /// Gets the token, applies the private repository policy, makes the key and gets the certificate.
    pub async fn obtain(
        token: &TokenSource,
        instance: &Instance,
        trust: &Trust,
        http: &Http,
        ui: &mut Ui,
    ) -> Result<Self, Error> {
        let token = oidc::identity_token(token, http, ui).await?;
        check_private_repository(
            instance.private_repository,
            Some(&token.claims),
            "its name, workflow, ref and commit become public in the signing certificate (certificate transparency) and the Rekor log",
            ui,
        )?;
        if !token.claims.has_audience(oidc::AUDIENCE) {
            ui.warn(&format!(
                "the identity token's audience does not include `{}`: Fulcio will likely refuse it",
                oidc::AUDIENCE
            ));
        }
        ui.info(&format!(
            "Signing keylessly as {} (OIDC issuer {})",
            token.claims.identity(),
            token.claims.iss
        ));
        let key = PrivateKey::generate();
        let cert = Fulcio::new(http.clone(), &instance.fulcio_url)
            .certificate(&token, &key, &trust.cas)
            .await?;
        if let Ok(c) = x509_cert::Certificate::from_der(&cert.leaf_der) {
            if !crate::fulcio::has_embedded_sct(&c) {
                ui.warn("the certificate has no embedded SCT: verifiers will need --insecure-ignore-sct");
            }
        }
        ui.info(&format!(
            "Fulcio certificate for {} (issuer {}), valid for {} seconds",
            cert.identity,
            cert.issuer,
            cert.not_after - cert.not_before
        ));
        Ok(KeylessSigner { key, cert })
    }

    /// Signs a message (SHA-256); DER signature.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.key.sign(message)
    }

    /// Signs a SHA-256 digest; DER signature.
    pub fn sign_digest(&self, digest: &[u8; 32]) -> Result<Vec<u8>, Error> {
        self.key
            .sign_digest(digest)
            .map_err(|e| Error::key("cannot sign with the ephemeral key", e))
    }

    /// The certificate.
    pub fn certificate(&self) -> &SigningCertificate {
        &self.cert
    }
}

use x509_cert::der::Decode;

/// The transparency log: uploads, then checks the answer against the trusted log keys.
#[derive(Clone, Debug)]
pub struct Tlog {
    rekor: Rekor,
    logs: Vec<LogKey>,
}

impl Tlog {
    /// The log at `url`, checked with `trust`'s keys.
    pub fn new(http: &Http, url: &str, trust: &Trust) -> Self {
        Tlog {
            rekor: Rekor::new(http.clone(), url),
            logs: trust.logs.clone(),
        }
    }

    /// The log's URL.
    pub fn url(&self) -> &str {
        self.rekor.url()
    }

    /// Records a signature over `digest` made by the key in `verifier_pem` (a certificate or public key),
    /// and checks the entry: it is ours, and the log's SET, proof and checkpoint verify.
    pub async fn record(
        &self,
        digest: &[u8; 32],
        signature: &[u8],
        verifier_pem: &str,
    ) -> Result<LogEntry, Error> {
        let proposed = rekor::hashedrekord(digest, signature, verifier_pem);
        let entry = self.rekor.upload(&proposed).await?;
        entry.check_body(&proposed)?;
        let Some(key) = self.logs.iter().find(|k| k.log_id == entry.log_id) else {
            return Err(rekor::RekorError::Unverified(format!(
                "the entry is signed by log {}, which the trusted root does not list",
                entry.log_id
            ))
            .into());
        };
        entry.verify(key)?;
        Ok(entry)
    }
}
