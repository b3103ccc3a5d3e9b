//! The keyless path end to end, shared by `sign` and `sign-blob`: the trust material, the identity token
//! (→ [`crate::oidc`]), ONE ephemeral P-256 key and ONE Fulcio certificate per run (→ [`crate::fulcio`]),
//! and the transparency log (→ [`crate::rekor`]) which key-based signing uses too.

use crate::error::Error;
use crate::fulcio::{Fulcio, SigningCertificate, TrustedCas};
use crate::gha::Ui;
use crate::http::{Http, HttpOptions};
use crate::oidc::{self, Claims, TokenSource};
use crate::rekor::{self, LogEntry, LogKey, Rekor};
use crate::signing::PrivateKey;
use crate::trust::TrustRoot;
use std::path::{Path, PathBuf};
use x509_cert::der::Decode;

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

/// The HTTP client for the token service, Fulcio and Rekor (the project's one client, default settings).
pub fn http_client() -> Result<Http, Error> {
    Http::new(HttpOptions::default()).map_err(|e| rekor::RekorError::from(e).into())
}

/// The trust material signing checks Fulcio's and Rekor's answers against (empty: trusts nothing).
#[derive(Clone, Debug, Default)]
pub struct Trust {
    /// the Fulcio CAs
    pub cas: TrustedCas,
    /// the Rekor keys (ECDSA P-256; other kinds are not used for signing)
    pub logs: Vec<LogKey>,
}

impl Trust {
    /// The trust material of a trusted_root.json, or of the public-good instance (embedded snapshot).
    pub fn load(path: Option<&Path>) -> Result<Trust, Error> {
        let root = TrustRoot::load(path)?;
        let chains = root
            .fulcio_chains()
            .into_iter()
            .map(|(_, chain)| chain)
            .collect();
        let mut logs = Vec::new();
        for log in &root.root().tlogs {
            // Rekor v1 logs sign with ECDSA P-256; others (Rekor v2) are not used for uploads here.
            if !log.public_key.key_details.as_str().contains("ECDSA_P256") {
                continue;
            }
            let key = LogKey::from_der(log.public_key.raw_bytes.as_bytes()).map_err(|e| {
                Error::Usage {
                    message: format!(
                        "{} lists a Rekor key that cannot be read: {e}",
                        root.source()
                    ),
                    hint: Some("check the trusted root file".into()),
                }
            })?;
            logs.push(key);
        }
        Ok(Trust {
            cas: TrustedCas {
                name: root.source().to_string(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_good_root_gives_fulcio_chains_and_the_rekor_v1_key() {
        let t = Trust::load(None).unwrap();
        assert!(!t.cas.chains.is_empty());
        // rekor.sigstore.dev's log ID
        assert!(
            t.logs
                .iter()
                .any(|l| l.log_id
                    == "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d"),
            "{:?}",
            t.logs.iter().map(|l| &l.log_id).collect::<Vec<_>>()
        );
    }

    #[test]
    fn private_repository_policy() {
        let (o, e) = (
            crate::gha::test_support::Buf::default(),
            crate::gha::test_support::Buf::default(),
        );
        let mut ui = Ui::new(false, Box::new(o.clone()), Box::new(e.clone()));
        let private: Claims = serde_json::from_value(serde_json::json!({
            "iss": "i", "sub": "s", "repository": "acme/app", "repository_visibility": "internal"
        }))
        .unwrap();
        check_private_repository(PrivateRepository::Warn, Some(&private), "x", &mut ui).unwrap();
        assert!(
            e.text().contains("acme/app is internal, and x"),
            "{}",
            e.text()
        );
        assert!(
            check_private_repository(PrivateRepository::Refuse, Some(&private), "x", &mut ui)
                .is_err()
        );
        check_private_repository(PrivateRepository::Allow, Some(&private), "x", &mut ui).unwrap();
        let public: Claims =
            serde_json::from_value(serde_json::json!({"repository_visibility": "public"})).unwrap();
        check_private_repository(PrivateRepository::Refuse, Some(&public), "x", &mut ui).unwrap();
    }
}
