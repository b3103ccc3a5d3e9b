//! The signer both signing operations share: a cosign key, or (keyless) ONE ephemeral P-256 key and ONE
//! Fulcio certificate per run, whatever the number of signatures; and the transparency log, which
//! key-based signing uses too.
//!
//! The identity token comes from [`crate::sigstore::oidc`], the certificate from
//! [`crate::sigstore::fulcio`], the log entry from [`crate::sigstore::rekor`]. The private repository
//! policy is applied here, before anything is published.

use super::{Instance, PrivateRepository, SignWith, VerifyWith};
use crate::error::Error;
use crate::gha::Ui;
use crate::net::{Http, HttpOptions};
use crate::oci::layout::SignatureLayer;
use crate::signing::{PrivateKey, PublicKey};
use crate::sigstore::fulcio::{Fulcio, SigningCertificate, TrustedCas};
use crate::sigstore::oidc::{self, Claims, TokenSource};
use crate::sigstore::rekor::{self, LogKey, Rekor, RekorEntry};
use crate::sigstore::trust::TrustRoot;
use crate::sigstore::verify::{KeylessPolicy, Matcher};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use sha2::Digest;
use std::path::Path;
use x509_cert::der::Decode;

/// The HTTP client for the token service, Fulcio and Rekor (the project's one client, default settings).
pub fn http_client() -> Result<Http, Error> {
    Http::new(HttpOptions::default()).map_err(|e| rekor::RekorError::from(e).into())
}

/// The trust material signing checks Fulcio's and Rekor's answers against (empty: trusts nothing).
#[derive(Clone, Debug, Default)]
pub struct SigningTrust {
    /// the Fulcio CAs
    pub cas: TrustedCas,
    /// the Rekor keys (ECDSA P-256; other kinds are not used for signing)
    pub logs: Vec<LogKey>,
}

impl SigningTrust {
    /// The trust material of a trusted_root.json, or of the public-good instance (embedded snapshot).
    pub fn load(path: Option<&Path>) -> Result<SigningTrust, Error> {
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
                Error::input(
                    format!(
                        "{} lists a Rekor key that cannot be read: {e}",
                        root.source()
                    ),
                    "check the trusted root file",
                )
            })?;
            logs.push(key);
        }
        Ok(SigningTrust {
            cas: TrustedCas {
                name: root.source().to_string(),
                chains,
            },
            logs,
        })
    }
}

/// Why the repository is private, from the token's claims or (as the front-end read it) the event.
fn repository_is_private(claims: Option<&Claims>, by_event: Option<&str>) -> Option<String> {
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
    by_event.map(str::to_string)
}

/// Applies the private repository policy before anything is published. `what` says what goes public.
pub fn check_private_repository(
    instance: &Instance,
    claims: Option<&Claims>,
    what: &str,
    ui: &mut Ui,
) -> Result<(), Error> {
    if instance.private_repository == PrivateRepository::Allow {
        return Ok(());
    }
    let Some(why) = repository_is_private(claims, instance.private_by_event.as_deref()) else {
        return Ok(());
    };
    let message = format!("{why}, and {what}");
    if instance.private_repository == PrivateRepository::Refuse {
        return Err(Error::Refused {
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
pub struct CertifiedKey {
    key: PrivateKey,
    cert: SigningCertificate,
}

impl CertifiedKey {
    /// Gets the token, applies the private repository policy, makes the key and gets the certificate.
    pub async fn obtain(
        token: &TokenSource,
        instance: &Instance,
        trust: &SigningTrust,
        http: &Http,
        ui: &mut Ui,
    ) -> Result<Self, Error> {
        let token = oidc::identity_token(token, http, ui).await?;
        check_private_repository(
            instance,
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
            if !crate::sigstore::fulcio::has_embedded_sct(&c) {
                ui.warn("the certificate has no embedded SCT: verifiers will need --insecure-ignore-sct");
            }
        }
        ui.info(&format!(
            "Fulcio certificate for {} (issuer {}), valid for {} seconds",
            cert.identity,
            cert.issuer,
            cert.not_after - cert.not_before
        ));
        Ok(CertifiedKey { key, cert })
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
    pub fn new(http: &Http, url: &str, trust: &SigningTrust) -> Self {
        Tlog {
            rekor: Rekor::new(http.clone(), url),
            logs: trust.logs.clone(),
        }
    }

    /// Records a signature over `digest` made by the key in `verifier_pem` (a certificate or public key),
    /// and checks the entry: it is ours, and the log's SET, proof and checkpoint verify.
    pub async fn record(
        &self,
        digest: &[u8; 32],
        signature: &[u8],
        verifier_pem: &str,
    ) -> Result<RekorEntry, Error> {
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

/// Who signed, as reports name it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "mode", rename_all = "kebab-case")]
pub enum SignedBy {
    /// A private key.
    Key {
        /// hex SHA-256 of the DER public key
        key_fingerprint: String,
    },
    /// A short-lived Fulcio certificate for the workflow's identity.
    Keyless {
        /// the certificate's subject (SAN), e.g. the workflow URL
        certificate_identity: String,
        /// the OIDC issuer
        certificate_oidc_issuer: String,
    },
}

impl SignedBy {
    /// `key` or `keyless`.
    pub fn mode(&self) -> &'static str {
        match self {
            SignedBy::Key { .. } => "key",
            SignedBy::Keyless { .. } => "keyless",
        }
    }
}

/// What holds the signing key.
#[derive(Debug)]
enum Holder {
    /// A cosign key.
    Key { key: PrivateKey, public: PublicKey },
    /// An ephemeral key and its certificate.
    Keyless(CertifiedKey),
}

/// A signer made ready once per run (the key loaded, or the token, ephemeral key and certificate),
/// with the Rekor log when uploading; then used for any number of signatures.
#[derive(Debug)]
pub struct Signer {
    holder: Holder,
    tlog: Option<Tlog>,
}

impl Signer {
    /// Loads the key, or gets the token and certificate; `what_goes_public` names what the log would
    /// publish (for the private repository policy with a key).
    pub async fn prepare(
        sign_with: &SignWith,
        instance: &Instance,
        tlog_upload: bool,
        what_goes_public: &str,
        ui: &mut Ui,
    ) -> Result<Signer, Error> {
        let keyless = matches!(sign_with, SignWith::Keyless(_));
        let trust = if keyless || tlog_upload {
            SigningTrust::load(instance.trusted_root.as_deref())?
        } else {
            SigningTrust::default()
        };
        let http = http_client()?;
        let tlog = tlog_upload.then(|| Tlog::new(&http, &instance.rekor_url, &trust));
        let holder = match sign_with {
            SignWith::Key { key, password } => {
                let loaded = key.load_private(password, ui).map_err(|e| {
                    Error::key(format!("cannot load the private key from {key}"), e)
                })?;
                if tlog.is_some() {
                    check_private_repository(instance, None, what_goes_public, ui)?;
                }
                let public = loaded.public_key();
                Holder::Key {
                    key: loaded,
                    public,
                }
            }
            SignWith::Keyless(token) => {
                Holder::Keyless(CertifiedKey::obtain(token, instance, &trust, &http, ui).await?)
            }
        };
        Ok(Signer { holder, tlog })
    }

    /// The public key of a key signer (a fresh key each keyless run has none worth naming).
    pub fn public_key(&self) -> Option<&PublicKey> {
        match &self.holder {
            Holder::Key { public, .. } => Some(public),
            Holder::Keyless(_) => None,
        }
    }

    /// The certificate of a keyless signer.
    pub fn certificate(&self) -> Option<&SigningCertificate> {
        match &self.holder {
            Holder::Key { .. } => None,
            Holder::Keyless(c) => Some(c.certificate()),
        }
    }

    /// Who signs, for reports.
    pub fn signed_by(&self) -> SignedBy {
        match &self.holder {
            Holder::Key { public, .. } => SignedBy::Key {
                key_fingerprint: public.fingerprint(),
            },
            Holder::Keyless(c) => SignedBy::Keyless {
                certificate_identity: c.cert.identity.clone(),
                certificate_oidc_issuer: c.cert.issuer.clone(),
            },
        }
    }

    /// What a consumer verifies this signer's signatures with: its public key, or exactly its
    /// certificate's identity and issuer.
    pub fn as_verifier(&self) -> VerifyWith {
        match &self.holder {
            Holder::Key { public, .. } => VerifyWith::PublicKey(public.clone()),
            Holder::Keyless(c) => VerifyWith::Keyless(KeylessPolicy {
                identity: Matcher::Exact(c.cert.identity.clone()),
                issuer: Matcher::Exact(c.cert.issuer.clone()),
                insecure_ignore_sct: false,
                insecure_ignore_tlog: false,
            }),
        }
    }

    /// Whether signatures go to the transparency log.
    pub fn logs(&self) -> bool {
        self.tlog.is_some()
    }

    /// Signs a SHA-256 digest; returns the DER signature and the PEM Rekor checks it with (the public
    /// key, or the certificate).
    pub fn sign_digest(&self, digest: &[u8; 32]) -> Result<(Vec<u8>, String), Error> {
        let (key, pem) = match &self.holder {
            Holder::Key { key, public } => (key, public.to_pem()),
            Holder::Keyless(c) => (&c.key, c.cert.leaf_pem.clone()),
        };
        let sig = key
            .sign_digest(digest)
            .map_err(|e| Error::key("cannot sign", e))?;
        Ok((sig, pem))
    }

    /// Records a signature in the log, when uploading.
    pub async fn record(
        &self,
        digest: &[u8; 32],
        signature: &[u8],
        verifier_pem: &str,
    ) -> Result<Option<RekorEntry>, Error> {
        match &self.tlog {
            Some(t) => t.record(digest, signature, verifier_pem).await.map(Some),
            None => Ok(None),
        }
    }

    /// Signs an image payload into its `.sig` layer: the base64 signature, for keyless signing the
    /// certificate and chain, and cosign's Rekor bundle when the log is used.
    pub async fn sign_layer(&self, payload: &[u8]) -> Result<SignatureLayer, Error> {
        let digest: [u8; 32] = sha2::Sha256::digest(payload).into();
        let (sig, pem) = self.sign_digest(&digest)?;
        let mut layer = SignatureLayer::new(payload.to_vec(), B64.encode(&sig));
        if let Holder::Keyless(c) = &self.holder {
            layer.certificate = Some(c.cert.leaf_pem.clone());
            layer.chain = Some(c.cert.chain_pem.clone());
        }
        if let Some(entry) = self.record(&digest, &sig, &pem).await? {
            layer.bundle = Some(entry.cosign_bundle_annotation());
        }
        Ok(layer)
    }

    /// How logs name the signer (`key sha256:…`, or the keyless identity).
    pub fn describe(&self) -> String {
        match &self.holder {
            Holder::Key { public, .. } => format!("key sha256:{}", public.fingerprint()),
            Holder::Keyless(c) => format!("keyless {} (issuer {})", c.cert.identity, c.cert.issuer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_good_root_gives_fulcio_chains_and_the_rekor_v1_key() {
        let t = SigningTrust::load(None).unwrap();
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
        let with = |policy| Instance {
            private_repository: policy,
            ..Instance::default()
        };
        check_private_repository(&with(PrivateRepository::Warn), Some(&private), "x", &mut ui)
            .unwrap();
        assert!(
            e.text().contains("acme/app is internal, and x"),
            "{}",
            e.text()
        );
        let refused = check_private_repository(
            &with(PrivateRepository::Refuse),
            Some(&private),
            "x",
            &mut ui,
        )
        .unwrap_err();
        assert_eq!(refused.exit_code(), 1, "a refusal is not a usage error");
        check_private_repository(
            &with(PrivateRepository::Allow),
            Some(&private),
            "x",
            &mut ui,
        )
        .unwrap();
        let public: Claims =
            serde_json::from_value(serde_json::json!({"repository_visibility": "public"})).unwrap();
        check_private_repository(
            &with(PrivateRepository::Refuse),
            Some(&public),
            "x",
            &mut ui,
        )
        .unwrap();
        // The event payload's verdict, as the front-end read it, counts as well.
        let by_event = Instance {
            private_repository: PrivateRepository::Refuse,
            private_by_event: Some("acme/app is private".into()),
            ..Instance::default()
        };
        assert!(check_private_repository(&by_event, None, "x", &mut ui).is_err());
    }

    #[tokio::test]
    async fn a_key_signer_signs_the_payload() {
        let (o, e) = (
            crate::gha::test_support::Buf::default(),
            crate::gha::test_support::Buf::default(),
        );
        let mut ui = Ui::new(false, Box::new(o), Box::new(e));
        let dir = tempfile::tempdir().unwrap();
        let pem = crate::signing::keyfile::encrypt(&PrivateKey::generate(), b"pw").unwrap();
        let path = dir.path().join("k.key");
        std::fs::write(&path, pem.expose()).unwrap();
        let with = SignWith::Key {
            key: crate::signing::KeyRef::File(path),
            password: crate::signing::PasswordSource::Given("pw".to_string().into()),
        };
        let s = Signer::prepare(&with, &Instance::default(), false, "x", &mut ui)
            .await
            .unwrap();
        let layer = s.sign_layer(b"payload").await.unwrap();
        let der = B64.decode(&layer.signature).unwrap();
        s.public_key().unwrap().verify(b"payload", &der).unwrap();
        assert_eq!(layer.payload, b"payload");
        assert!(layer.bundle.is_none());
        assert!(s.describe().starts_with("key sha256:"));
    }
}
