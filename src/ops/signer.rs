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
use crate::signing::dsse::{self, Envelope};
use crate::signing::{PrivateKey, PublicKey};
use crate::sigstore::bundle::{
    self, Bundle, PublicKeyIdentifier, VerificationMaterial, X509Certificate,
};
use crate::sigstore::fulcio::{Fulcio, SigningCertificate};
use crate::sigstore::oidc::{self, Claims, TokenSource};
use crate::sigstore::rekor::{self, Logged, LoggedBy, Rekor, RekorEntry};
use crate::sigstore::trust::TrustRoot;
use crate::sigstore::verify::{KeylessPolicy, Matcher};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use sha2::Digest;

/// The HTTP client for the token service, Fulcio and Rekor (the project's one client, default settings).
pub(crate) fn http_client() -> Result<Http, Error> {
    Http::new(HttpOptions::default()).map_err(|e| rekor::RekorError::from(e).into())
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
pub(crate) fn check_private_repository(
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
pub(crate) struct CertifiedKey {
    key: PrivateKey,
    cert: SigningCertificate,
}

impl CertifiedKey {
    /// Gets the token, applies the private repository policy, makes the key and gets the certificate.
    pub(crate) async fn obtain(
        token: &TokenSource,
        instance: &Instance,
        trust: &TrustRoot,
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
            .certificate(&token, &key, trust)
            .await?;
        if !cert.has_sct {
            ui.warn(
                "the certificate has no embedded SCT: verifiers will need --insecure-ignore-sct",
            );
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
    pub(crate) fn certificate(&self) -> &SigningCertificate {
        &self.cert
    }
}

/// The transparency log: uploads, then checks the answer against the trusted root.
#[derive(Clone, Debug)]
pub(crate) struct Tlog {
    rekor: Rekor,
    trust: TrustRoot,
}

impl Tlog {
    /// The log at `url`, its answers checked against `trust`.
    pub(crate) fn new(http: &Http, url: &str, trust: TrustRoot) -> Self {
        Tlog {
            rekor: Rekor::new(http.clone(), url),
            trust,
        }
    }

    /// Records a signature over `digest` made by the key in `verifier_pem` (a certificate or public key),
    /// and checks the entry ([`RekorEntry::check`]): it is ours, and the log's SET, proof and checkpoint
    /// verify.
    pub(crate) async fn record(
        &self,
        digest: &[u8; 32],
        signature: &[u8],
        verifier_pem: &str,
        by: LoggedBy<'_>,
    ) -> Result<RekorEntry, Error> {
        let proposed = rekor::hashedrekord(digest, signature, verifier_pem);
        let entry = self.rekor.upload(&proposed).await?;
        entry.check(&self.trust, Logged::Digest { digest, signature }, by)?;
        Ok(entry)
    }

    /// Records a DSSE envelope as a `dsse` entry and checks it the same way, with the statement's
    /// subject digest as the artifact.
    pub(crate) async fn record_dsse(
        &self,
        envelope: &Envelope,
        subject: &[u8; 32],
        verifier_pem: &str,
        by: LoggedBy<'_>,
    ) -> Result<RekorEntry, Error> {
        let proposed = rekor::dsse(&envelope.to_json(), verifier_pem);
        let entry = self.rekor.upload(&proposed).await?;
        entry.check(&self.trust, Logged::Dsse { envelope, subject }, by)?;
        Ok(entry)
    }
}

/// Who signed, as reports name it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "mode", rename_all = "kebab-case")]
pub(crate) enum SignedBy {
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
    pub(crate) fn mode(&self) -> &'static str {
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
pub(crate) struct Signer {
    holder: Holder,
    tlog: Option<Tlog>,
}

impl Signer {
    /// Loads the key, or gets the token and certificate; `what_goes_public` names what the log would
    /// publish (for the private repository policy with a key).
    pub(crate) async fn prepare(
        sign_with: &SignWith,
        instance: &Instance,
        tlog_upload: bool,
        what_goes_public: &str,
        ui: &mut Ui,
    ) -> Result<Signer, Error> {
        let keyless = matches!(sign_with, SignWith::Keyless(_));
        // The trust material is read only when something is to be checked against it.
        let trust = if keyless || tlog_upload {
            Some(TrustRoot::load(instance.trusted_root.as_deref())?)
        } else {
            None
        };
        let http = http_client()?;
        let tlog = match (&trust, tlog_upload) {
            (Some(t), true) => Some(Tlog::new(&http, &instance.rekor_url, t.clone())),
            _ => None,
        };
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
                // Loaded above for keyless signing; loading it here would only repeat that.
                let root = match trust {
                    Some(t) => t,
                    None => TrustRoot::load(instance.trusted_root.as_deref())?,
                };
                Holder::Keyless(CertifiedKey::obtain(token, instance, &root, &http, ui).await?)
            }
        };
        Ok(Signer { holder, tlog })
    }

    /// The public key of a key signer (a fresh key each keyless run has none worth naming).
    pub(crate) fn public_key(&self) -> Option<&PublicKey> {
        match &self.holder {
            Holder::Key { public, .. } => Some(public),
            Holder::Keyless(_) => None,
        }
    }

    /// The certificate of a keyless signer.
    pub(crate) fn certificate(&self) -> Option<&SigningCertificate> {
        match &self.holder {
            Holder::Key { .. } => None,
            Holder::Keyless(c) => Some(c.certificate()),
        }
    }

    /// Who signs, for reports.
    pub(crate) fn signed_by(&self) -> SignedBy {
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
    pub(crate) fn as_verifier(&self) -> VerifyWith {
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

    /// Signs a SHA-256 digest; returns the DER signature and the PEM Rekor checks it with (the public
    /// key, or the certificate).
    pub(crate) fn sign_digest(&self, digest: &[u8; 32]) -> Result<(Vec<u8>, String), Error> {
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
    pub(crate) async fn record(
        &self,
        digest: &[u8; 32],
        signature: &[u8],
        verifier_pem: &str,
    ) -> Result<Option<RekorEntry>, Error> {
        let by = self.logged_by();
        match &self.tlog {
            Some(t) => t
                .record(digest, signature, verifier_pem, by)
                .await
                .map(Some),
            None => Ok(None),
        }
    }

    /// Signs an image payload into its `.sig` layer: the base64 signature, for keyless signing the
    /// certificate and chain, and cosign's Rekor bundle when the log is used.
    pub(crate) async fn sign_layer(&self, payload: &[u8]) -> Result<SignatureLayer, Error> {
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

    fn logged_by(&self) -> LoggedBy<'_> {
        match &self.holder {
            Holder::Key { public, .. } => LoggedBy::Key(public),
            Holder::Keyless(c) => LoggedBy::Certificate(&c.cert),
        }
    }

    /// Signs an in-toto statement (about `subject`, a SHA-256 digest) as a DSSE envelope, records it
    /// in the log as a `dsse` entry when the log is used, and returns the Sigstore bundle v0.3 cosign v3
    /// attaches to an image: the key's hint or the leaf certificate, the log entry (none without the
    /// log), the envelope. Also returns the entry's log index.
    pub(crate) async fn sign_statement(
        &self,
        statement: &[u8],
        subject: &[u8; 32],
    ) -> Result<SignedBundle, Error> {
        let pae = dsse::pae(dsse::IN_TOTO_PAYLOAD_TYPE, statement);
        let digest: [u8; 32] = sha2::Sha256::digest(&pae).into();
        let (sig, pem) = self.sign_digest(&digest)?;
        let envelope = Envelope::new(dsse::IN_TOTO_PAYLOAD_TYPE, statement, &sig);
        let by = self.logged_by();
        let entry = match &self.tlog {
            Some(t) => Some(t.record_dsse(&envelope, subject, &pem, by).await?),
            None => None,
        };
        let bundle = if let Some(e) = &entry {
            e.bundle(
                Logged::Dsse {
                    envelope: &envelope,
                    subject,
                },
                by,
            )
        } else {
            Bundle::for_envelope(unlogged_material(by), &envelope)
        };
        Ok(SignedBundle {
            json: bundle.to_json(),
            rekor_log_index: entry.and_then(|e| u64::try_from(e.log_index).ok()),
        })
    }
}

/// The verification material of a bundle without a log entry: the key's hint (cosign v3's
/// `publicKey.hint`), or the leaf certificate.
fn unlogged_material(by: LoggedBy<'_>) -> VerificationMaterial {
    match by {
        LoggedBy::Key(key) => VerificationMaterial {
            public_key: Some(PublicKeyIdentifier {
                hint: bundle::key_hint(key),
            }),
            ..Default::default()
        },
        LoggedBy::Certificate(cert) => VerificationMaterial {
            certificate: Some(X509Certificate {
                raw_bytes: B64.encode(&cert.leaf_der),
            }),
            ..Default::default()
        },
    }
}

/// A Sigstore bundle made by [`Signer::sign_statement`].
#[derive(Clone, Debug)]
pub(crate) struct SignedBundle {
    /// the bundle's JSON (what the OCI layer holds)
    pub(crate) json: Vec<u8>,
    /// the log index of its entry, when it has one
    pub(crate) rekor_log_index: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(matches!(s.signed_by(), SignedBy::Key { .. }));
    }
}
