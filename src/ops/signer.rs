//! The signer both signing operations share: a cosign key, or (keyless) ONE ephemeral P-256 key and ONE
//! Fulcio certificate per run, whatever the number of signatures; and the transparency log, which
//! key-based signing uses too.
//!
//! The identity token comes from [`crate::sigstore::oidc`], the certificate from
//! [`crate::sigstore::fulcio`], timestamps from [`crate::sigstore::tsa`], log entries from
//! [`crate::sigstore::rekor`] (v1) and [`crate::sigstore::rekor_v2`]. Which services, and the trusted
//! root their answers are checked against, come from [`crate::sigstore::trust::sources`]: a flag,
//! else the signing config (a file, else TUF); each is named in the log with where it came from. The
//! private repository policy is applied here, before anything is published.

use super::{Instance, PrivateRepository, SignWith, VerifyWith};
use crate::error::Error;
use crate::gha::Ui;
use crate::net::{Http, HttpOptions};
use crate::oci::layout::SignatureLayer;
use crate::signing::dsse::{self, Envelope};
use crate::signing::{Algorithm, Digest, HashAlg, KeyError, PrivateKey, PublicKey};
use crate::sigstore::bundle::{
    self, Bundle, PublicKeyIdentifier, VerificationMaterial, X509Certificate,
};
use crate::sigstore::fulcio::{Fulcio, SigningCertificate};
use crate::sigstore::oidc::{self, Claims, TokenSource};
use crate::sigstore::rekor::{self, Logged, LoggedBy, Rekor, RekorEntry};
use crate::sigstore::rekor_v2::{self, RekorV2};
use crate::sigstore::trust::signing_config::Service;
use crate::sigstore::trust::sources::{self, Needs};
use crate::sigstore::trust::TrustRoot;
use crate::sigstore::tsa::{SignedTimestamp, Tsa};
use crate::sigstore::verify::{KeylessPolicy, Matcher};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

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
        fulcio_url: &str,
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
        let cert = Fulcio::new(http.clone(), fulcio_url)
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

/// A transparency log to record signatures in: uploads, then checks the answer against the trusted root.
#[derive(Clone, Debug)]
pub(crate) enum Tlog {
    /// Rekor v1: `hashedrekord` 0.0.1, checked by its SET, proof and checkpoint
    V1(Rekor),
    /// Rekor v2: `hashedrekord` 0.0.2, checked by its proof and checkpoint, dated by the timestamps
    V2(RekorV2),
}

/// An entry in a transparency log, checked.
#[derive(Clone, Debug)]
pub(crate) enum LogEntry {
    /// a Rekor v1 entry
    V1(RekorEntry),
    /// a Rekor v2 entry: the bundle's `TransparencyLogEntry` as the log answered it
    V2(serde_json::Value),
}

impl LogEntry {
    /// The entry as a Sigstore bundle's `verificationMaterial.tlogEntries[]` item.
    pub(crate) fn bundle_entry(&self) -> serde_json::Value {
        match self {
            LogEntry::V1(e) => e.bundle_entry(),
            LogEntry::V2(v) => v.clone(),
        }
    }

    /// The entry's index in its log.
    pub(crate) fn log_index(&self) -> Option<u64> {
        match self {
            LogEntry::V1(e) => u64::try_from(e.log_index).ok(),
            LogEntry::V2(v) => rekor_v2::log_index(v),
        }
    }
}

impl Tlog {
    /// Records a signature over `digest` made by `by` (whose PEM is `verifier_pem`) and checks the
    /// answer against `trust` ([`RekorEntry::check`], [`rekor_v2::check`] with `timestamps`).
    async fn record(
        &self,
        trust: &TrustRoot,
        digest: &[u8; 32],
        signature: &[u8],
        verifier_pem: &str,
        by: LoggedBy<'_>,
        timestamps: &[SignedTimestamp],
    ) -> Result<LogEntry, Error> {
        match self {
            Tlog::V1(rekor) => {
                let proposed =
                    rekor::hashedrekord(&Digest::sha256(*digest), signature, verifier_pem);
                let entry = rekor.upload(&proposed).await?;
                entry.check(trust, Logged::Digest { digest, signature }, by)?;
                Ok(LogEntry::V1(entry))
            }
            Tlog::V2(rekor) => {
                let entry = rekor.upload(digest, signature, by).await?;
                rekor_v2::check(&entry, timestamps, trust, digest, signature, by)?;
                Ok(LogEntry::V2(entry))
            }
        }
    }

    /// Records a DSSE envelope and checks the answer against `trust` the same way, with the statement's
    /// subject digest as the artifact: Rekor v1 as a `dsse` entry; Rekor v2, which takes no `dsse`
    /// entries, as a `hashedrekord` v0.0.2 entry over the PAE's digest (SHA-256: the digest the
    /// envelope's signature covers) with the envelope's signature, as cosign v3.1.3 does
    /// ([`rekor_v2`]'s module documentation), checked with `timestamps` ([`rekor_v2::check_dsse`]).
    async fn record_dsse(
        &self,
        trust: &TrustRoot,
        dsse: &DsseToLog<'_>,
        verifier_pem: &str,
        by: LoggedBy<'_>,
        timestamps: &[SignedTimestamp],
    ) -> Result<LogEntry, Error> {
        let DsseToLog {
            envelope,
            subject,
            pae_digest,
            signature,
            algorithm,
        } = *dsse;
        match self {
            Tlog::V1(rekor) => {
                let proposed = rekor::dsse(&envelope.to_json(), verifier_pem);
                let entry = rekor.upload(&proposed).await?;
                entry.check(trust, Logged::Dsse { envelope, subject }, by)?;
                Ok(LogEntry::V1(entry))
            }
            Tlog::V2(rekor) => {
                // Signer::prepare refused any key but P-256 (SHA-256) with a Rekor v2 log.
                let digest: [u8; 32] = match pae_digest.alg {
                    HashAlg::Sha256 => pae_digest
                        .bytes
                        .as_slice()
                        .try_into()
                        .map_err(|_| Error::key("cannot sign", KeyError::Crypto))?,
                    other => {
                        return Err(Error::key(
                            "cannot sign",
                            logged_non_sha256_refused(algorithm, other),
                        ))
                    }
                };
                let entry = rekor.upload(&digest, signature, by).await?;
                rekor_v2::check_dsse(&entry, timestamps, trust, envelope, subject, by)?;
                Ok(LogEntry::V2(entry))
            }
        }
    }
}

/// A DSSE envelope to log: the envelope, its statement's subject (a SHA-256 digest), the digest its
/// signature covers (of the PAE, with the signer's hash), that signature (DER) and the key type.
#[derive(Clone, Copy)]
struct DsseToLog<'a> {
    envelope: &'a Envelope,
    subject: &'a [u8; 32],
    pae_digest: &'a Digest,
    signature: &'a [u8],
    algorithm: Algorithm,
}

/// What one signature became: the DER signature, the PEM that verifies it (key or certificate), its
/// timestamps and its log entries (both checked).
#[derive(Clone, Debug)]
pub(crate) struct Signed {
    /// the DER signature
    pub(crate) signature: Vec<u8>,
    /// the RFC 3161 timestamps over it, one per timestamp authority
    pub(crate) timestamps: Vec<SignedTimestamp>,
    /// its transparency log entries, one per log
    pub(crate) entries: Vec<LogEntry>,
}

/// Signing with an Ed25519 key where cosign would make Ed25519ph signatures, which no `cosign verify
/// --key` accepts (docs/inputs.md A5o): refused on purpose.
pub(crate) fn ed25519_refused(where_: &str) -> KeyError {
    KeyError::OnPurpose {
        message: format!(
            "signing {where_} with an Ed25519 key makes signatures cosign cannot verify (cosign signs them as Ed25519ph and verifies pure Ed25519)"
        ),
        hint: "use an ECDSA or RSA key (ferrosign generate-key-pair, or import-key-pair); blobs: sign-blob --tlog-upload=false signs pure Ed25519, which cosign verify-blob accepts".into(),
    }
}

/// Signing with a key cosign signs with another digest than SHA-256 (P-384: SHA-384, P-521: SHA-512)
/// and a transparency log entry: ferrosign checks every entry the log returns before relying on it
/// (with sigstore-verify), and that check knows only SHA-256 `hashedrekord` entries, so the entry would
/// be published but not checked. Refused on purpose, before anything is sent (docs/inputs.md A5m).
pub(crate) fn logged_non_sha256_refused(alg: Algorithm, hash: HashAlg) -> KeyError {
    KeyError::OnPurpose {
        message: format!(
            "signing with an {alg} key and a transparency log entry: cosign's signatures with this key are over a {} digest, and ferrosign cannot check the log's answer for those, so it does not publish one",
            hash.name()
        ),
        hint: format!(
            "sign with --tlog-upload=false (cosign verify then needs --signature-digest-algorithm {} --insecure-ignore-tlog), or use a P-256 or RSA key",
            hash.name()
        ),
    }
}

/// Signing with a key other than ECDSA P-256 and a Rekor v2 log: the answer could not be checked —
/// sigstore-verify 0.15.1 (sigstore-rekor's `RekorV2KeyDetails`) parses `hashedrekord` v0.0.2 bodies
/// naming `PKIX_ECDSA_P256_SHA_256` only, so an RSA entry (which Rekor v2 takes) would be published and
/// then fail the check. Refused on purpose, before anything is sent (docs/inputs.md A5r).
pub(crate) fn rekor_v2_key_refused(alg: Algorithm) -> KeyError {
    KeyError::OnPurpose {
        message: format!(
            "signing with an {alg} key and a Rekor v2 log: ferrosign writes Rekor v2 entries for ECDSA P-256 keys only"
        ),
        hint: "log to Rekor v1 (--rekor-version 1), sign with --tlog-upload=false, or use a P-256 key (ferrosign generate-key-pair)".into(),
    }
}

/// A Rekor v2 log and cosign's `.sig` layout (`sign --signature-format legacy`): the layer's bundle
/// annotation holds a Rekor v1 entry (SET, integrated time) and nothing else, so a Rekor v2 entry fits
/// only in a Sigstore bundle. cosign v3.1.3 does not write the `.sig` layout with a signing config
/// either (`signcommon.LoadTrustedMaterialAndSigningConfig`: "must provide --new-bundle-format"), and it
/// reaches Rekor v2 only through one. Refused before anything is signed (docs/inputs.md A5s).
pub(crate) fn rekor_v2_sig_layout_refused() -> Error {
    Error::NotAvailable {
        message: "the Rekor log chosen is a Rekor v2 log, whose entries only fit in a Sigstore bundle; --signature-format legacy writes cosign's .sig layout, whose bundle annotation holds a Rekor v1 entry".into(),
        hint: "sign with --signature-format bundle (or both, which then writes the bundle alone), or log to Rekor v1 (--rekor-version 1)".into(),
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
/// with its timestamp authorities and logs; then used for any number of signatures.
#[derive(Debug)]
pub(crate) struct Signer {
    holder: Holder,
    tsas: Vec<Tsa>,
    tlogs: Vec<Tlog>,
    trust: Option<TrustRoot>,
}

/// Where a service came from, for the log lines that name it.
fn from_flag(flag: &str) -> String {
    format!("given with {flag}")
}

impl Signer {
    /// Loads the key, or gets the token and certificate; finds the services (flags, else the signing
    /// config) and the trusted root (a file, else TUF), saying where each came from;
    /// `what_goes_public` names what the log would publish (for the private repository policy with a
    /// key). `rekor_v2` says whether the caller can carry Rekor v2 entries (a Sigstore bundle can;
    /// cosign's `.sig` layer annotation cannot).
    pub(crate) async fn prepare(
        sign_with: &SignWith,
        instance: &Instance,
        tlog_upload: bool,
        what_goes_public: &str,
        rekor_v2: bool,
        ui: &mut Ui,
    ) -> Result<Signer, Error> {
        let now = jiff::Timestamp::now();
        let keyless = matches!(sign_with, SignWith::Keyless(_));
        // With a key and no log nothing is published and nothing is checked: no trust material, no
        // signing config, no TUF (unless a timestamp authority is named explicitly).
        let needs = Needs {
            root: keyless || tlog_upload || instance.tsa_url.is_some(),
            config: (keyless && instance.fulcio_url.is_none())
                || (tlog_upload && instance.rekor_url.is_none()),
        };
        let loaded = sources::load(&instance.trust, needs, now).await?;
        for w in &loaded.warnings {
            ui.warn(w);
        }
        if let Some(root) = &loaded.root {
            let (source, age) = root.source().provenance(now);
            ui.info(&format!("Trusted root: {source}, {age}"));
        }
        let config = loaded.config.as_ref().map(|c| &c.config);
        let config_origin = config.map(|c| c.origin().to_string()).unwrap_or_default();
        let fulcio_url = match (&instance.fulcio_url, config, keyless) {
            (_, _, false) => None,
            (Some(url), _, true) => {
                ui.info(&format!("Fulcio: {url} ({})", from_flag("--fulcio-url")));
                Some(url.clone())
            }
            (None, Some(c), true) => {
                let s = c.fulcio(now)?;
                ui.info(&format!("Fulcio: {} (from {config_origin})", s.url));
                Some(s.url)
            }
            (None, None, true) => None,
        };
        let logs: Vec<Service> = match (&instance.rekor_url, config, tlog_upload) {
            (_, _, false) => Vec::new(),
            (Some(url), _, true) => {
                let version = instance.rekor_version.unwrap_or(1);
                ui.info(&format!(
                    "Rekor: {url} (API v{version}, {})",
                    from_flag("--rekor-url")
                ));
                vec![Service {
                    url: url.clone(),
                    version,
                    operator: None,
                }]
            }
            (None, Some(c), true) => {
                let chosen = c.rekor(instance.rekor_version, now)?;
                for s in &chosen {
                    ui.info(&format!(
                        "Rekor: {} (API v{}, from {config_origin})",
                        s.url, s.version
                    ));
                }
                chosen
            }
            (None, None, true) => Vec::new(),
        };
        // Timestamps: the one named with a flag, else those of the signing config in use.
        let tsa_urls: Vec<String> = match (&instance.tsa_url, config, needs.root) {
            (Some(url), _, _) => {
                ui.info(&format!(
                    "Timestamp authority: {url} ({})",
                    from_flag("--timestamp-server-url")
                ));
                vec![url.clone()]
            }
            (None, Some(c), true) => {
                let chosen = c.tsas(now)?;
                for s in &chosen {
                    ui.info(&format!(
                        "Timestamp authority: {} (from {config_origin})",
                        s.url
                    ));
                }
                chosen.into_iter().map(|s| s.url).collect()
            }
            _ => Vec::new(),
        };
        if logs.iter().any(|l| l.version == 2) {
            if !rekor_v2 {
                return Err(rekor_v2_sig_layout_refused());
            }
            if tsa_urls.is_empty() {
                return Err(Error::Usage {
                    message: "a Rekor v2 entry has no time of its own, and no timestamp authority is named: the signing config lists none".into(),
                    hint: Some("name one with --timestamp-server-url, or log to Rekor v1 (--rekor-version 1)".into()),
                });
            }
        }
        let http = http_client()?;
        let tsas = tsa_urls
            .iter()
            .map(|u| Tsa::new(u).map_err(Error::from))
            .collect::<Result<Vec<_>, _>>()?;
        let tlogs: Vec<Tlog> = logs
            .iter()
            .map(|l| {
                if l.version == 2 {
                    Tlog::V2(RekorV2::new(http.clone(), &l.url))
                } else {
                    Tlog::V1(Rekor::new(http.clone(), &l.url))
                }
            })
            .collect();
        let holder = match sign_with {
            SignWith::Key { key, password } => {
                let context = || format!("cannot load the private key from {key}");
                let text = key.read().map_err(|e| Error::key(context(), e))?;
                let pw = password
                    .get(false, ui)
                    .map_err(|e| Error::key(context(), e))?;
                // scrypt (64 MiB, a core for a while) on a blocking thread, so that what the caller
                // runs beside this preparation (the registry's first requests) goes on meanwhile.
                let loaded = tokio::task::spawn_blocking(move || {
                    crate::signing::source::decrypt_key(text.expose(), &pw)
                })
                .await
                .map_err(|e| Error::Refused {
                    message: format!("{}: the decryption stopped: {e}", context()),
                    hint: None,
                })?
                .map_err(|e| Error::key(context(), e))?;
                if loaded.algorithm() == Algorithm::Ed25519 && !tlogs.is_empty() {
                    return Err(Error::key(
                        format!("cannot sign with {key}"),
                        ed25519_refused("with a transparency log entry"),
                    ));
                }
                if loaded.signing_hash() != HashAlg::Sha256 && !tlogs.is_empty() {
                    return Err(Error::key(
                        format!("cannot sign with {key}"),
                        logged_non_sha256_refused(loaded.algorithm(), loaded.signing_hash()),
                    ));
                }
                if loaded.algorithm() != Algorithm::P256 && logs.iter().any(|l| l.version == 2) {
                    return Err(Error::key(
                        format!("cannot sign with {key}"),
                        rekor_v2_key_refused(loaded.algorithm()),
                    ));
                }
                if !tlogs.is_empty() {
                    check_private_repository(instance, None, what_goes_public, ui)?;
                }
                let public = loaded.public_key();
                Holder::Key {
                    key: loaded,
                    public,
                }
            }
            SignWith::Keyless(token) => {
                let (Some(root), Some(url)) = (&loaded.root, &fulcio_url) else {
                    // `needs` asked for both: the loader returns them or fails.
                    return Err(Error::input(
                        "no trusted root or certificate authority for keyless signing",
                        "pass --trusted-root and --fulcio-url, or --signing-config",
                    ));
                };
                Holder::Keyless(CertifiedKey::obtain(token, instance, url, root, &http, ui).await?)
            }
        };
        Ok(Signer {
            holder,
            tsas,
            tlogs,
            trust: loaded.root,
        })
    }

    /// The trusted root this signer checks answers against (none for a key without a log).
    pub(crate) fn trust(&self) -> Option<&TrustRoot> {
        self.trust.as_ref()
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

    fn key(&self) -> &PrivateKey {
        match &self.holder {
            Holder::Key { key, .. } => key,
            Holder::Keyless(c) => &c.key,
        }
    }

    /// The key type (keyless: the ephemeral ECDSA P-256 key).
    pub(crate) fn algorithm(&self) -> Algorithm {
        self.key().algorithm()
    }

    /// The digest this signer signs, as cosign picks it for the key type: SHA-256 for P-256 (and
    /// keyless) and RSA, SHA-384 for P-384, SHA-512 for P-521.
    pub(crate) fn digest_alg(&self) -> HashAlg {
        self.key().signing_hash()
    }

    /// The PEM Rekor checks this signer's signatures with (the public key, or the certificate).
    pub(crate) fn verifier_pem(&self) -> String {
        match &self.holder {
            Holder::Key { public, .. } => public.to_pem(),
            Holder::Keyless(c) => c.cert.leaf_pem.clone(),
        }
    }

    /// Signs a digest (of [`Self::digest_alg`]); returns the signature and the PEM Rekor checks it with.
    pub(crate) fn sign_digest(&self, digest: &Digest) -> Result<(Vec<u8>, String), Error> {
        let sig = self
            .key()
            .sign_prehash(digest)
            .map_err(|e| Error::key("cannot sign", e))?;
        Ok((sig, self.verifier_pem()))
    }

    /// Whether signatures go to a transparency log.
    pub(crate) fn logs(&self) -> bool {
        !self.tlogs.is_empty()
    }

    /// Whether a log is a Rekor v2 log (its entries fit only in a Sigstore bundle).
    pub(crate) fn logs_to_rekor_v2(&self) -> bool {
        self.tlogs.iter().any(|t| matches!(t, Tlog::V2(_)))
    }

    /// The base URL of the first log (the one an image's `.sig` layer names), when logging.
    pub(crate) fn log_url(&self) -> Option<&str> {
        self.tlogs.first().map(|t| match t {
            Tlog::V1(r) => r.url(),
            Tlog::V2(r) => r.url(),
        })
    }

    /// Signs a digest (of [`Self::digest_alg`]), has each timestamp authority date the signature, and
    /// records it in each log; every answer is checked against the trusted root before it is returned.
    /// A log takes SHA-256 digests only: [`Signer::prepare`] refused other keys with a log.
    pub(crate) async fn sign(&self, digest: &Digest) -> Result<Signed, Error> {
        let (signature, pem) = self.sign_digest(digest)?;
        self.publish(signature, &pem, Some(digest)).await
    }

    /// Signs a whole message: pure Ed25519 signs the message itself (never logged: [`Signer::prepare`]
    /// refused Ed25519 with a log); other keys hash it with [`Self::digest_alg`] as [`Self::sign`].
    pub(crate) async fn sign_message(&self, message: &[u8]) -> Result<Signed, Error> {
        if self.algorithm() != Algorithm::Ed25519 {
            return self.sign(&self.digest_alg().digest(message)).await;
        }
        let signature = self
            .key()
            .sign(message)
            .map_err(|e| Error::key("cannot sign", e))?;
        self.publish(signature, &self.verifier_pem(), None).await
    }

    /// Timestamps `signature` and records it (over `digest`) in each log.
    async fn publish(
        &self,
        signature: Vec<u8>,
        pem: &str,
        digest: Option<&Digest>,
    ) -> Result<Signed, Error> {
        let by = self.logged_by();
        let mut entries = Vec::new();
        let timestamps = self.timestamp(&signature).await?;
        if let Some(trust) = &self.trust {
            if !self.tlogs.is_empty() {
                let sha256: [u8; 32] = match digest {
                    Some(d) if d.alg == HashAlg::Sha256 => d
                        .bytes
                        .as_slice()
                        .try_into()
                        .map_err(|_| Error::key("cannot sign", KeyError::Crypto))?,
                    _ => {
                        return Err(Error::key(
                            "cannot sign",
                            logged_non_sha256_refused(self.algorithm(), self.digest_alg()),
                        ))
                    }
                };
                for log in &self.tlogs {
                    entries.push(
                        log.record(trust, &sha256, &signature, pem, by, &timestamps)
                            .await?,
                    );
                }
            }
        }
        Ok(Signed {
            signature,
            timestamps,
            entries,
        })
    }

    /// Signs an image payload into its `.sig` layer: the base64 signature, for keyless signing the
    /// certificate and chain, cosign's Rekor bundle when a log is used, and cosign's RFC 3161
    /// timestamp annotation when a timestamp authority is. (A layer holds one of each: the first.)
    pub(crate) async fn sign_layer(&self, payload: &[u8]) -> Result<SignatureLayer, Error> {
        if self.algorithm() == Algorithm::Ed25519 {
            return Err(Error::key(
                "cannot sign the image",
                ed25519_refused("on images"),
            ));
        }
        if self.logs_to_rekor_v2() {
            // sign_image writes no .sig layout with a Rekor v2 log (Signer::prepare refuses `legacy`).
            return Err(rekor_v2_sig_layout_refused());
        }
        let digest = self.digest_alg().digest(payload);
        let signed = self.sign(&digest).await?;
        let mut layer = SignatureLayer::new(payload.to_vec(), B64.encode(&signed.signature));
        if let Holder::Keyless(c) = &self.holder {
            layer.certificate = Some(c.cert.leaf_pem.clone());
            layer.chain = Some(c.cert.chain_pem.clone());
        }
        if let Some(LogEntry::V1(entry)) = signed.entries.first() {
            layer.bundle = Some(entry.cosign_bundle_annotation());
        }
        if let Some(ts) = signed.timestamps.first() {
            layer.extra.insert(
                crate::oci::layout::ANN_RFC3161_TIMESTAMP.into(),
                serde_json::json!({"SignedRFC3161Timestamp": B64.encode(&ts.response)}).to_string(),
            );
        }
        Ok(layer)
    }

    /// Has each timestamp authority date `signature` (the raw signature bytes: what sigstore-go's
    /// `sign.Bundle` and sigstore-python timestamp, for a message signature and a DSSE envelope alike),
    /// each answer checked against the trusted root ([`Tsa::timestamp`]). None without a TSA.
    async fn timestamp(&self, signature: &[u8]) -> Result<Vec<SignedTimestamp>, Error> {
        let mut timestamps = Vec::new();
        if let Some(trust) = &self.trust {
            for tsa in &self.tsas {
                timestamps.push(tsa.timestamp(signature, trust).await?);
            }
        }
        Ok(timestamps)
    }

    fn logged_by(&self) -> LoggedBy<'_> {
        match &self.holder {
            Holder::Key { public, .. } => LoggedBy::Key(public),
            Holder::Keyless(c) => LoggedBy::Certificate(&c.cert),
        }
    }

    /// Signs an in-toto statement (about `subject`, a SHA-256 digest) as a DSSE envelope, has each
    /// timestamp authority date the envelope's signature, records it in the log when the log is used
    /// (Rekor v1: a `dsse` entry; Rekor v2: a `hashedrekord` v0.0.2 entry over the PAE, as cosign
    /// v3.1.3), and returns the Sigstore bundle v0.3 cosign v3 attaches to an image: the key's
    /// hint or the leaf certificate, the log entry (none without the log), the RFC 3161 timestamps in
    /// `verificationMaterial.timestampVerificationData` (as cosign v3.1.3's `signcommon.
    /// NewAttestationBundle` → sigstore-go `sign.Bundle` writes them; none without a TSA), the envelope.
    /// Also returns the entry's log index and the timestamps.
    pub(crate) async fn sign_statement(
        &self,
        statement: &[u8],
        subject: &[u8; 32],
    ) -> Result<SignedBundle, Error> {
        if self.algorithm() == Algorithm::Ed25519 {
            return Err(Error::key(
                "cannot sign the image",
                ed25519_refused("on images"),
            ));
        }
        let pae = dsse::pae(dsse::IN_TOTO_PAYLOAD_TYPE, statement);
        // The PAE hashed as cosign does for the key type (SHA-384 for P-384, SHA-512 for P-521).
        let digest = self.digest_alg().digest(&pae);
        let (sig, pem) = self.sign_digest(&digest)?;
        let envelope = Envelope::new(dsse::IN_TOTO_PAYLOAD_TYPE, statement, &sig);
        let by = self.logged_by();
        // Timestamps first, then the logs, in sigstore-go's order.
        let timestamps = self.timestamp(&sig).await?;
        // Every log gets the entry (each answer checked); the bundle carries the first one.
        let mut entry = None;
        if let Some(trust) = &self.trust {
            for log in &self.tlogs {
                let dsse = DsseToLog {
                    envelope: &envelope,
                    subject,
                    pae_digest: &digest,
                    signature: &sig,
                    algorithm: self.algorithm(),
                };
                let recorded = log.record_dsse(trust, &dsse, &pem, by, &timestamps).await?;
                if entry.is_none() {
                    entry = Some(recorded);
                }
            }
        }
        let mut bundle = match &entry {
            Some(LogEntry::V1(e)) => e.bundle(
                Logged::Dsse {
                    envelope: &envelope,
                    subject,
                },
                by,
            ),
            Some(LogEntry::V2(e)) => {
                let mut material = unlogged_material(by);
                material.tlog_entries = vec![e.clone()];
                Bundle::for_envelope(material, &envelope)
            }
            None => Bundle::for_envelope(unlogged_material(by), &envelope),
        };
        bundle.verification_material.timestamp_verification_data =
            rekor_v2::timestamp_data(&timestamps);
        Ok(SignedBundle {
            json: bundle.to_json(),
            rekor_log_index: entry.and_then(|e| e.log_index()),
            timestamps,
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
    /// the RFC 3161 timestamps it carries (checked), one per timestamp authority
    pub(crate) timestamps: Vec<SignedTimestamp>,
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
            password: crate::signing::PasswordSource::Given(b"pw".to_vec().into()),
        };
        let s = Signer::prepare(&with, &Instance::default(), false, "x", false, &mut ui)
            .await
            .unwrap();
        let layer = s.sign_layer(b"payload").await.unwrap();
        let der = B64.decode(&layer.signature).unwrap();
        s.public_key().unwrap().verify(b"payload", &der).unwrap();
        assert_eq!(s.digest_alg(), HashAlg::Sha256);
        assert_eq!(layer.payload, b"payload");
        assert!(layer.bundle.is_none());
        assert!(matches!(s.signed_by(), SignedBy::Key { .. }));
    }
}
