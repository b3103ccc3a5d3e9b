//! The TUF client: Sigstore's `trusted_root.json` and `signing_config.v0.2.json`, fetched from a TUF
//! repository and verified per the TUF specification (signatures and thresholds, root rotation,
//! versions and rollback, expiry, target lengths and hashes) by the `sigstore-tuf` crate, over
//! ferrosign's network door ([`crate::net`]).
//!
//! - The trust anchor is a TUF root: the public-good repository's root v16 embedded in the binary
//!   ([`EMBEDDED_TUF_ROOT`], taken from the `sigstore-trust-root` 0.15.1 crate), a root file given
//!   for another mirror (`TUF_ROOT_JSON`, the Action's `tuf-root`), or the root stored by
//!   `ferrosign initialize --root FILE` for that mirror.
//! - The cache is ferrosign's own: `<cache>/<mirror path>/` (cosign's naming of the mirror: the URL
//!   without its scheme, `/` and `:` as `-`), in `sigstore-tuf`'s `FileStore` layout (`root.json`,
//!   `root_history/N.root.json`, `timestamp.json`, `snapshot.json`, `targets.json`, `targets/NAME`).
//!   The cache is never a trust anchor: every file read from it goes through the same checks as a
//!   download, a file that fails them is fetched again and rewritten (atomically), and a cached
//!   target is used only when its length and SHA-256 match the verified targets metadata.
//! - When the mirror cannot be reached (no connection, timeouts, 5xx after a retry), the same checks
//!   run on the cache alone; the caller is told how old it is. A mirror that answers with metadata
//!   that fails a check (expired, rolled back, under-signed, a target whose hash differs) is an
//!   error, never a reason to fall back.
//!
//! Bounds: `sigstore-tuf`'s per-file limits (root 512 000 bytes, timestamp 16 384, snapshot 2 000 000,
//! targets metadata 5 000 000, 32 root rotations), and 1 000 000 bytes per target (today's trusted
//! roots are 7–13 KB); each download is cut as soon as it passes its limit.

use crate::net::{self, Http, HttpError, HttpOptions, Retry};
use sigstore_tuf::cache::{FileStore, MemoryStore, StoreRepository};
use sigstore_tuf::transport::FetchFuture;
use sigstore_tuf::{Repository, Updater, UpdaterConfig};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Sigstore's public-good TUF repository.
pub(crate) const PUBLIC_GOOD_MIRROR: &str = "https://tuf-repo-cdn.sigstore.dev";

/// The public-good repository's root, version 16 (expires 2027-04-22), from the `sigstore-trust-root`
/// 0.15.1 crate (`repository/tuf_root.json`, sha256
/// `27aea7e372aa7864065174f0661784fcf8b0e28b1dbfebeada31a0f1fb19167f`); python-tuf verified that it
/// is signed by a threshold of root v15's keys (docs/trust-sources.md, section 2).
pub(crate) const EMBEDDED_TUF_ROOT: &[u8] = include_bytes!("../public_good_tuf_root.json");

/// The target holding the trusted root.
pub(crate) const TRUSTED_ROOT_TARGET: &str = "trusted_root.json";
/// The target holding the signing config (protobuf-specs `SigningConfig` v0.2).
pub(crate) const SIGNING_CONFIG_TARGET: &str = "signing_config.v0.2.json";

/// The largest target accepted, bytes.
const TARGET_MAX_LENGTH: u64 = 1_000_000;
/// The largest TUF root file accepted from disk, bytes (`sigstore-tuf`'s limit for downloads).
const ROOT_MAX_LENGTH: u64 = 512_000;
/// The file (in a mirror's cache directory) naming when the cache was last refreshed from the mirror.
const REFRESHED_FILE: &str = "ferrosign-refreshed.json";
/// The file (in a mirror's cache directory) holding the root `ferrosign initialize --root` was given.
const ANCHOR_FILE: &str = "ferrosign-anchor.root.json";
/// The file (in the cache directory) naming the mirror `ferrosign initialize --mirror` chose.
const REMOTE_FILE: &str = "remote.json";

/// Which TUF root a refresh starts from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Anchor {
    /// The public-good root embedded in the binary.
    Embedded,
    /// A root file (`TUF_ROOT_JSON`, the Action's `tuf-root`, or the one `initialize` stored).
    File(PathBuf),
}

impl fmt::Display for Anchor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Anchor::Embedded => f.write_str("the embedded public-good TUF root"),
            Anchor::File(p) => write!(f, "the TUF root {}", p.display()),
        }
    }
}

/// One TUF repository as the request names it, resolved: the mirror, the root to start from, and the
/// cache directory of that mirror (`None`: nothing is cached, nothing can be used offline).
#[derive(Clone, Debug)]
pub(crate) struct TufRepo {
    /// the mirror's base URL: metadata at `{mirror}/N.root.json`…, targets at `{mirror}/targets/…`
    pub(crate) mirror: String,
    /// the root a refresh starts from
    pub(crate) anchor: Anchor,
    /// this mirror's cache directory
    pub(crate) cache: Option<PathBuf>,
}

/// What the request says about TUF (the front-end read the variables and inputs).
#[derive(Clone, Debug, Default)]
pub(crate) struct TufSettings {
    /// the mirror (`TUF_MIRROR`, the Action's `tuf-mirror`); `None`: the one `ferrosign initialize`
    /// stored, else the public-good repository
    pub(crate) mirror: Option<String>,
    /// the root to start from (`TUF_ROOT_JSON`, the Action's `tuf-root`); `None`: the one
    /// `ferrosign initialize` stored for the mirror, else the embedded public-good root
    pub(crate) root: Option<PathBuf>,
    /// the cache directory (`FERROSIGN_TUF_CACHE`, else `$XDG_CACHE_HOME/ferrosign/tuf`, else
    /// `~/.cache/ferrosign/tuf`); `None`: no cache
    pub(crate) cache: Option<PathBuf>,
}

/// cosign's directory name for a mirror: the URL without its scheme and trailing `/`, `/` and `:` as
/// `-`, lower case (`http://127.0.0.1:8080` → `127.0.0.1-8080`).
pub(crate) fn mirror_dir_name(mirror: &str) -> String {
    let rest = mirror
        .split_once("://")
        .map_or(mirror, |(_, rest)| rest)
        .trim_end_matches('/');
    rest.replace(['/', ':'], "-").to_lowercase()
}

impl TufSettings {
    /// The mirror `ferrosign initialize --mirror` stored in the cache's `remote.json` (`{"mirror": URL}`,
    /// as cosign's `remote.json`): `None` when there is no cache or no such file. Errors: a
    /// [`TufError::Note`] when the file is there but unreadable, over [`crate::fsutil::TUF_NOTE_FILE`]
    /// or not such an object — never a silent fall-back to the public-good repository, which would
    /// send a private deployment's signing to public services.
    fn stored_mirror(&self) -> Result<Option<String>, TufError> {
        let Some(cache) = &self.cache else {
            return Ok(None);
        };
        let path = cache.join(REMOTE_FILE);
        let note = |reason: String| TufError::Note {
            path: path.clone(),
            reason,
        };
        let bytes = match crate::fsutil::read_limited(&path, crate::fsutil::TUF_NOTE_FILE) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(note(e.to_string())),
        };
        let v: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| note(format!("it is not JSON: {e}")))?;
        match v.get("mirror").and_then(serde_json::Value::as_str) {
            Some(m) if !m.trim().is_empty() => Ok(Some(m.to_string())),
            _ => Err(note(
                r#"it is not a JSON object with a non-empty "mirror" string"#.into(),
            )),
        }
    }

    /// The repository these settings name: the mirror (given, else the one `initialize` stored in the
    /// cache, else the public-good one) and its anchor (given, else the root `initialize` stored for
    /// that mirror, else the embedded root). Errors: [`TufError::Note`] (see [`Self::stored_mirror`]).
    pub(crate) fn resolve(&self) -> Result<TufRepo, TufError> {
        let mirror = match &self.mirror {
            Some(given) => given.clone(),
            None => self
                .stored_mirror()?
                .unwrap_or_else(|| PUBLIC_GOOD_MIRROR.to_string()),
        };
        let mirror = mirror.trim_end_matches('/').to_string();
        let cache = self
            .cache
            .as_ref()
            .map(|c| c.join(mirror_dir_name(&mirror)));
        let anchor = match (&self.root, &cache) {
            (Some(p), _) => Anchor::File(p.clone()),
            (None, Some(dir)) if dir.join(ANCHOR_FILE).is_file() => {
                Anchor::File(dir.join(ANCHOR_FILE))
            }
            _ => Anchor::Embedded,
        };
        Ok(TufRepo {
            mirror,
            anchor,
            cache,
        })
    }
}

/// What a refresh produced.
#[derive(Clone, Debug)]
pub(crate) struct Refreshed {
    /// `trusted_root.json`, verified against the targets metadata
    pub(crate) trusted_root: Vec<u8>,
    /// `signing_config.v0.2.json`, when the repository lists one
    pub(crate) signing_config: Option<Vec<u8>>,
    /// the TUF root version the metadata verified under
    pub(crate) root_version: u64,
    /// where the bytes came from
    pub(crate) freshness: Freshness,
}

/// Whether a refresh reached the mirror.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Freshness {
    /// The metadata was refreshed from the mirror just now.
    Mirror,
    /// The mirror could not be reached; the cache verified on its own.
    Cache {
        /// when the cache was last refreshed from the mirror, if known
        refreshed: Option<jiff::Timestamp>,
        /// why the mirror could not be used
        unreachable: String,
    },
}

/// Why TUF metadata could not be used. Each message names the repository; none of these is a reason to
/// trust anything less.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum TufError {
    /// The mirror could not be reached, and the cache could not stand in for it.
    #[error("cannot reach the TUF repository {mirror} ({reason}), and its cache cannot be used: {cache}")]
    Unreachable {
        /// the mirror
        mirror: String,
        /// why the mirror failed
        reason: String,
        /// why the cache did not help
        cache: String,
    },
    /// The mirror answered with an error status that is not "absent" or a server fault.
    #[error("the TUF repository {mirror} answered {status} for {url}")]
    Status {
        /// the mirror
        mirror: String,
        /// the file's URL
        url: String,
        /// HTTP status
        status: u16,
    },
    /// A metadata file or target is larger than its limit.
    #[error("the TUF repository {mirror}: {detail}")]
    TooLarge {
        /// the mirror
        mirror: String,
        /// which answer, and the limit it passed
        detail: String,
    },
    /// A file the TUF workflow needs is not there (e.g. `timestamp.json`).
    #[error("the TUF repository {mirror} lacks a file the TUF workflow needs: {detail}")]
    Missing {
        /// the mirror
        mirror: String,
        /// which
        detail: String,
    },
    /// Metadata whose `expires` has passed (a freeze attack, or a repository nobody re-signs).
    #[error("the TUF repository {mirror} serves expired metadata: {role} expired at {expires}")]
    Expired {
        /// the mirror
        mirror: String,
        /// the role
        role: String,
        /// its expiry
        expires: jiff::Timestamp,
    },
    /// Metadata older than what this machine already trusts (a rollback attack).
    #[error("the TUF repository {mirror} serves an older {role} than already trusted: version {offered} after version {trusted} (rollback)")]
    Rollback {
        /// the mirror
        mirror: String,
        /// the role
        role: String,
        /// the version already trusted
        trusted: u64,
        /// the version offered
        offered: u64,
    },
    /// A root whose version does not follow the trusted one.
    #[error("the TUF repository {mirror} serves root version {offered} after version {trusted}")]
    RootVersion {
        /// the mirror
        mirror: String,
        /// the trusted root version
        trusted: u64,
        /// the version offered
        offered: u64,
    },
    /// Metadata signed by fewer keys than its role's threshold.
    #[error("the TUF repository {mirror} serves {role} metadata signed by {found} of the {threshold} keys it needs")]
    ThresholdNotMet {
        /// the mirror
        mirror: String,
        /// the role
        role: String,
        /// valid signatures
        found: usize,
        /// signatures required
        threshold: usize,
    },
    /// A target (or a metadata file) whose length or hash differs from what signed metadata names.
    #[error("the TUF repository {mirror} serves a file that does not match its signed metadata: {detail}")]
    Mismatch {
        /// the mirror
        mirror: String,
        /// which file and what differs
        detail: String,
    },
    /// The signed targets metadata does not list a target ferrosign needs.
    #[error("the TUF repository {mirror} does not list {target}")]
    NotListed {
        /// the mirror
        mirror: String,
        /// the target
        target: String,
    },
    /// The TUF root to start from cannot be used.
    #[error("{anchor} cannot be used as a TUF root: {reason}")]
    BadAnchor {
        /// which root
        anchor: Anchor,
        /// why
        reason: String,
    },
    /// Anything else the TUF client refused (malformed metadata, unusable keys, …).
    #[error("the TUF repository {mirror}: {detail}")]
    Invalid {
        /// the mirror
        mirror: String,
        /// the client's reason, with its causes
        detail: String,
    },
    /// The cache's note of the mirror `initialize` chose (`remote.json`) is there but cannot be used.
    #[error("the TUF cache's mirror note {} cannot be used: {reason}", path.display())]
    Note {
        /// the file
        path: PathBuf,
        /// why
        reason: String,
    },
    /// The cache directory cannot be written (`initialize`).
    #[error("cannot write the TUF cache {}: {source}", dir.display())]
    Cache {
        /// the directory
        dir: PathBuf,
        /// the cause
        source: std::io::Error,
    },
}

impl TufError {
    /// What the user can do about it, in the command line's words (`TUF_MIRROR`, `ferrosign
    /// initialize`, flags); the Action rewrites them into its inputs (`front::action::in_input_terms`).
    pub(crate) fn hint(&self) -> String {
        match self {
            TufError::Unreachable { .. } => "check the network and the mirror URL (TUF_MIRROR / `ferrosign initialize --mirror`), or pass --trusted-root FILE (and --signing-config FILE, or the service URLs) to sign and verify without TUF".into(),
            TufError::Status { .. } | TufError::Missing { .. } | TufError::NotListed { .. } => {
                "check the mirror URL (TUF_MIRROR / `ferrosign initialize --mirror`): it should be the base URL of a Sigstore TUF repository".into()
            }
            TufError::Expired { .. } => "nothing was trusted: the repository's operator must re-sign its metadata (or this machine's clock is wrong); meanwhile --trusted-root FILE uses a trusted root you got another way".into(),
            TufError::Rollback { .. } | TufError::RootVersion { .. } => "nothing was trusted: the mirror serves metadata older than this machine has already seen (a rollback attack, or a mirror restored from a backup); keep the cache, it is what detected this".into(),
            TufError::ThresholdNotMet { .. } | TufError::Mismatch { .. } | TufError::Invalid { .. } => {
                "nothing was trusted: the mirror serves metadata or files that do not verify (tampering, or a broken mirror); report it to the repository's operator".into()
            }
            TufError::TooLarge { .. } => "nothing was trusted: the mirror sends more than a TUF client accepts; check the mirror URL".into(),
            TufError::BadAnchor { .. } => "pass the repository's root.json (version 1 or any later genuine root) with TUF_ROOT_JSON or `ferrosign initialize --root`, as `cosign initialize --root` takes it".into(),
            TufError::Cache { .. } => "set FERROSIGN_TUF_CACHE to a writable directory".into(),
            TufError::Note { .. } => "name the mirror again (TUF_MIRROR / `ferrosign initialize --mirror`), or delete the file to use the public-good TUF repository".into(),
        }
    }

    /// Whether the request named something unusable (the anchor root file) rather than a failure of
    /// the repository.
    pub(crate) fn is_input(&self) -> bool {
        matches!(self, TufError::BadAnchor { .. })
    }
}

/// Why a fetch from the mirror failed: carried inside `sigstore-tuf`'s transport error so that a
/// mirror that cannot be reached (a reason to use the cache) is told apart from one that answers
/// wrongly (never a reason to fall back).
#[derive(Debug)]
enum MirrorFault {
    /// no answer, or a server fault (5xx, 429) after the retry
    Unreachable(String),
    /// an answer with an unexpected status
    Status { url: String, status: u16 },
    /// an answer over its limit
    TooLarge(String),
    /// a URL the network door refuses (not http(s), plain HTTP off loopback)
    Refused(String),
}

impl fmt::Display for MirrorFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MirrorFault::Unreachable(r) => f.write_str(r),
            MirrorFault::Status { url, status } => write!(f, "{url} answered {status}"),
            MirrorFault::TooLarge(e) => write!(f, "{e}"),
            MirrorFault::Refused(r) => f.write_str(r),
        }
    }
}

impl std::error::Error for MirrorFault {}

/// The mirror over ferrosign's network door: `GET {base}/{name}` for metadata, `GET
/// {base}/targets/{path}` for targets; 404 and 403 mean "absent" (how TUF repositories on object
/// stores answer for a missing file).
struct Mirror {
    http: Http,
    base: String,
}

impl Mirror {
    fn fetch(&self, url: String, max_length: u64) -> FetchFuture<'_> {
        Box::pin(async move {
            let fault = |f: MirrorFault| {
                sigstore_tuf::Error::transport_with_source(format!("fetching {url}"), f)
            };
            let resp = match self.http.send(&url, |c, u| c.get(u)).await {
                Ok(r) => r,
                Err(e @ (HttpError::InvalidUrl { .. } | HttpError::InsecureRefused(_))) => {
                    return Err(fault(MirrorFault::Refused(e.to_string())))
                }
                Err(e) => return Err(fault(MirrorFault::Unreachable(e.to_string()))),
            };
            let status = resp.status();
            if status == reqwest::StatusCode::NOT_FOUND || status == reqwest::StatusCode::FORBIDDEN
            {
                return Ok(None);
            }
            if net::is_transient(status) {
                return Err(fault(MirrorFault::Unreachable(format!(
                    "{url} answered {}",
                    status.as_u16()
                ))));
            }
            if !status.is_success() {
                return Err(fault(MirrorFault::Status {
                    url: url.clone(),
                    status: status.as_u16(),
                }));
            }
            let limit = net::AnswerLimit {
                what: "such TUF files",
                name: "the length the TUF metadata allows",
                max: max_length,
            };
            match net::read_answer(resp, &url, limit, self.http.deadline()).await {
                Ok(body) => Ok(Some(body)),
                Err(e @ HttpError::TooLarge { .. }) => {
                    Err(fault(MirrorFault::TooLarge(e.to_string())))
                }
                Err(e) => Err(fault(MirrorFault::Unreachable(e.to_string()))),
            }
        })
    }
}

impl Repository for Mirror {
    fn fetch_metadata<'a>(&'a self, name: &'a str, max_length: u64) -> FetchFuture<'a> {
        self.fetch(format!("{}/{name}", self.base), max_length)
    }

    fn fetch_target<'a>(&'a self, path: &'a str, max_length: u64) -> FetchFuture<'a> {
        self.fetch(format!("{}/targets/{path}", self.base), max_length)
    }
}

/// The HTTP client for the mirror: one retry (the cache stands in for a mirror that is down).
fn mirror_http() -> Result<Http, HttpError> {
    Http::new(HttpOptions {
        retry: Retry {
            retries: 1,
            ..Retry::default()
        },
        timeout: Duration::from_secs(30),
        ..HttpOptions::default()
    })
}

fn updater_config() -> UpdaterConfig {
    let mut config = UpdaterConfig::default();
    config.target_max_length = TARGET_MAX_LENGTH;
    config
}

/// The mirror fault inside a `sigstore-tuf` error, if the error came from fetching.
fn mirror_fault(e: &sigstore_tuf::Error) -> Option<&MirrorFault> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(f) = err.downcast_ref::<MirrorFault>() {
            return Some(f);
        }
        cur = err.source();
    }
    None
}

/// The error and its causes on one line.
fn chain(e: &dyn std::error::Error) -> String {
    net::error_chain(e)
}

/// Our error for a `sigstore-tuf` error from `mirror`.
fn classify(mirror: &str, e: sigstore_tuf::Error) -> TufError {
    use sigstore_tuf::Error as E;
    let mirror = mirror.to_string();
    if let Some(f) = mirror_fault(&e) {
        return match f {
            MirrorFault::Unreachable(reason) => TufError::Unreachable {
                mirror,
                reason: reason.clone(),
                cache: "not tried".into(),
            },
            MirrorFault::Status { url, status } => TufError::Status {
                mirror,
                url: url.clone(),
                status: *status,
            },
            MirrorFault::TooLarge(detail) => TufError::TooLarge {
                mirror,
                detail: detail.clone(),
            },
            MirrorFault::Refused(reason) => TufError::Invalid {
                mirror,
                detail: reason.clone(),
            },
        };
    }
    match e {
        E::Expired { role, expires } => TufError::Expired {
            mirror,
            role,
            expires,
        },
        E::Rollback { role, trusted, new } => TufError::Rollback {
            mirror,
            role,
            trusted,
            offered: new,
        },
        E::BadRootVersion { trusted, new } => TufError::RootVersion {
            mirror,
            trusted,
            offered: new,
        },
        E::ThresholdNotMet {
            role,
            found,
            threshold,
        } => TufError::ThresholdNotMet {
            mirror,
            role,
            found,
            threshold,
        },
        E::IntegrityMismatch(detail) => TufError::Mismatch { mirror, detail },
        E::TargetNotFound(target) => TufError::NotListed { mirror, target },
        E::Transport { ref message, .. } => TufError::Missing {
            mirror,
            detail: message.clone(),
        },
        other => TufError::Invalid {
            mirror,
            detail: chain(&other),
        },
    }
}

/// Reads an anchor root's bytes (bounded) and checks that it is a TUF root signed by its own keys.
fn anchor_bytes(anchor: &Anchor) -> Result<Vec<u8>, TufError> {
    let bad = |reason: String| TufError::BadAnchor {
        anchor: anchor.clone(),
        reason,
    };
    let bytes = match anchor {
        Anchor::Embedded => EMBEDDED_TUF_ROOT.to_vec(),
        Anchor::File(path) => {
            // Read with the limit rather than trusting the file's length: `/dev/zero` or a FIFO
            // reports 0 bytes and never ends.
            let limit = crate::fsutil::FileLimit {
                what: "TUF root files",
                max: ROOT_MAX_LENGTH,
            };
            crate::fsutil::read_limited(path, limit).map_err(|e| bad(e.to_string()))?
        }
    };
    sigstore_tuf::TrustedMetadataSet::from_root(&bytes).map_err(|e| bad(chain(&e)))?;
    Ok(bytes)
}

/// Refreshes through `repo` and reads both targets (the signing config may be absent).
async fn refresh_and_read(
    updater: &mut Updater,
    now: jiff::Timestamp,
) -> Result<(Vec<u8>, Option<Vec<u8>>, u64), sigstore_tuf::Error> {
    updater.refresh(now).await?;
    let trusted_root = updater.get_target(TRUSTED_ROOT_TARGET, now).await?;
    let signing_config = match updater.get_target(SIGNING_CONFIG_TARGET, now).await {
        Ok(b) => Some(b),
        Err(sigstore_tuf::Error::TargetNotFound(_)) => None,
        Err(e) => return Err(e),
    };
    Ok((
        trusted_root,
        signing_config,
        updater.trusted().root().version,
    ))
}

/// When the cache was last refreshed from the mirror (ferrosign's own note beside the TUF files; only
/// used to say how old the cache is).
fn refreshed_at(dir: &Path) -> Option<jiff::Timestamp> {
    let text = crate::fsutil::read_limited(&dir.join(REFRESHED_FILE), crate::fsutil::TUF_NOTE_FILE)
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&text).ok()?;
    v.get("refreshed")?.as_str()?.parse().ok()
}

fn note_refreshed(dir: &Path, now: jiff::Timestamp) {
    // Best effort: the note only dates the cache in warnings.
    let body = serde_json::json!({"refreshed": now.to_string()}).to_string();
    let _ = crate::fsutil::write_atomic(&dir.join(REFRESHED_FILE), body.as_bytes());
}

/// Refreshes the repository's metadata from its mirror and reads the two targets; when the mirror
/// cannot be reached, verifies the cache alone instead ([`Freshness::Cache`]).
pub(crate) async fn refresh(repo: &TufRepo, now: jiff::Timestamp) -> Result<Refreshed, TufError> {
    let root = anchor_bytes(&repo.anchor)?;
    let http = mirror_http().map_err(|e| TufError::Invalid {
        mirror: repo.mirror.clone(),
        detail: e.to_string(),
    })?;
    let mirror = Mirror {
        http,
        base: repo.mirror.clone(),
    };
    let online = Updater::new(mirror, &root)
        .map_err(|e| classify(&repo.mirror, e))?
        .with_config(updater_config());
    let mut online = match &repo.cache {
        Some(dir) => online.with_store(FileStore::new(dir)),
        None => online.with_store(MemoryStore::new()),
    };
    let reason = match refresh_and_read(&mut online, now).await {
        Ok((trusted_root, signing_config, root_version)) => {
            if let Some(dir) = &repo.cache {
                note_refreshed(dir, now);
            }
            return Ok(Refreshed {
                trusted_root,
                signing_config,
                root_version,
                freshness: Freshness::Mirror,
            });
        }
        Err(e) => match classify(&repo.mirror, e) {
            TufError::Unreachable { reason, .. } => reason,
            other => return Err(other),
        },
    };
    let unreachable = |cache: String| TufError::Unreachable {
        mirror: repo.mirror.clone(),
        reason: reason.clone(),
        cache,
    };
    let Some(dir) = &repo.cache else {
        return Err(unreachable("no cache directory is set".into()));
    };
    if !dir.join("timestamp.json").is_file() {
        return Err(unreachable(format!("{} holds no metadata", dir.display())));
    }
    let offline = Updater::new(StoreRepository::new(FileStore::new(dir)), &root)
        .map_err(|e| classify(&repo.mirror, e))?
        .with_config(updater_config())
        .with_store(FileStore::new(dir));
    let mut offline = offline;
    match refresh_and_read(&mut offline, now).await {
        Ok((trusted_root, signing_config, root_version)) => Ok(Refreshed {
            trusted_root,
            signing_config,
            root_version,
            freshness: Freshness::Cache {
                refreshed: refreshed_at(dir),
                unreachable: reason,
            },
        }),
        Err(e) => Err(unreachable(format!(
            "{} does not verify on its own: {}",
            dir.display(),
            classify(&repo.mirror, e)
        ))),
    }
}

/// `ferrosign initialize`: starts the mirror's cache afresh from `root` (or the embedded root), refreshes
/// it from the mirror (no fallback), and records the mirror (and a given root) for later commands, as
/// `cosign initialize --mirror URL --root FILE` does.
pub(crate) async fn initialize(
    cache_root: &Path,
    mirror: &str,
    root: Option<&Path>,
    now: jiff::Timestamp,
) -> Result<Refreshed, TufError> {
    let mirror = mirror.trim_end_matches('/').to_string();
    let dir = cache_root.join(mirror_dir_name(&mirror));
    let anchor = root.map_or(Anchor::Embedded, |p| Anchor::File(p.to_path_buf()));
    let root_bytes = anchor_bytes(&anchor)?;
    let io = |dir: &Path| {
        let dir = dir.to_path_buf();
        move |source| TufError::Cache { dir, source }
    };
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(&dir)(e)),
    }
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let stored_anchor = if root.is_some() {
        let path = dir.join(ANCHOR_FILE);
        crate::fsutil::write_atomic(&path, &root_bytes).map_err(io(&dir))?;
        Anchor::File(path)
    } else {
        Anchor::Embedded
    };
    let repo = TufRepo {
        mirror: mirror.clone(),
        anchor: stored_anchor,
        cache: Some(dir.clone()),
    };
    let http = mirror_http().map_err(|e| TufError::Invalid {
        mirror: mirror.clone(),
        detail: e.to_string(),
    })?;
    let mut updater = Updater::new(
        Mirror {
            http,
            base: mirror.clone(),
        },
        &root_bytes,
    )
    .map_err(|e| classify(&mirror, e))?
    .with_config(updater_config())
    .with_store(FileStore::new(&dir));
    let (trusted_root, signing_config, root_version) = refresh_and_read(&mut updater, now)
        .await
        .map_err(|e| classify(&repo.mirror, e))?;
    note_refreshed(&dir, now);
    let remote = serde_json::json!({"mirror": mirror}).to_string();
    crate::fsutil::write_atomic(&cache_root.join(REMOTE_FILE), remote.as_bytes())
        .map_err(io(cache_root))?;
    Ok(Refreshed {
        trusted_root,
        signing_config,
        root_version,
        freshness: Freshness::Mirror,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_directory_names_follow_cosign() {
        assert_eq!(
            mirror_dir_name("https://tuf-repo-cdn.sigstore.dev"),
            "tuf-repo-cdn.sigstore.dev"
        );
        assert_eq!(
            mirror_dir_name("http://127.0.0.1:35753/"),
            "127.0.0.1-35753"
        );
        assert_eq!(
            mirror_dir_name("https://Mirror.example/Sigstore/tuf"),
            "mirror.example-sigstore-tuf"
        );
    }

    #[test]
    fn the_embedded_root_is_public_good_v16_and_self_signed() {
        use sha2::Digest;
        assert_eq!(
            hex::encode(sha2::Sha256::digest(EMBEDDED_TUF_ROOT)),
            "27aea7e372aa7864065174f0661784fcf8b0e28b1dbfebeada31a0f1fb19167f"
        );
        let set = sigstore_tuf::TrustedMetadataSet::from_root(EMBEDDED_TUF_ROOT).unwrap();
        assert_eq!(set.root().version, 16);
        assert!(anchor_bytes(&Anchor::Embedded).is_ok());
    }

    #[test]
    fn settings_resolve_mirror_and_anchor() {
        let dir = tempfile::tempdir().unwrap();
        let s = TufSettings {
            cache: Some(dir.path().to_path_buf()),
            ..TufSettings::default()
        };
        let r = s.resolve().unwrap();
        assert_eq!(r.mirror, PUBLIC_GOOD_MIRROR);
        assert_eq!(r.anchor, Anchor::Embedded);
        assert_eq!(
            r.cache.unwrap(),
            dir.path().join("tuf-repo-cdn.sigstore.dev")
        );
        // What `initialize` stored is used when nothing is given.
        std::fs::write(
            dir.path().join(REMOTE_FILE),
            r#"{"mirror":"http://127.0.0.1:9/"}"#,
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("127.0.0.1-9")).unwrap();
        std::fs::write(dir.path().join("127.0.0.1-9").join(ANCHOR_FILE), "{}").unwrap();
        let r = s.resolve().unwrap();
        assert_eq!(r.mirror, "http://127.0.0.1:9");
        assert_eq!(
            r.anchor,
            Anchor::File(dir.path().join("127.0.0.1-9").join(ANCHOR_FILE))
        );
        // Given values win.
        let given = TufSettings {
            mirror: Some("http://127.0.0.1:10".into()),
            root: Some("r.json".into()),
            cache: s.cache.clone(),
        };
        let r = given.resolve().unwrap();
        assert_eq!(r.mirror, "http://127.0.0.1:10");
        assert_eq!(r.anchor, Anchor::File("r.json".into()));
    }

    #[test]
    fn a_mirror_note_that_cannot_be_used_is_an_error_not_the_public_good_mirror() {
        let dir = tempfile::tempdir().unwrap();
        let s = TufSettings {
            cache: Some(dir.path().to_path_buf()),
            ..TufSettings::default()
        };
        let note = dir.path().join(REMOTE_FILE);
        // Over the note limit (valid JSON naming a mirror, padded): refused, naming the limit, read no
        // further than the limit.
        let padded = format!(
            r#"{{"mirror":"http://127.0.0.1:9","pad":"{}"}}"#,
            "x".repeat(usize::try_from(crate::fsutil::TUF_NOTE_FILE.max).unwrap())
        );
        std::fs::write(&note, padded).unwrap();
        let e = s.resolve().unwrap_err();
        assert!(matches!(e, TufError::Note { .. }), "{e:?}");
        assert!(e.to_string().contains("64 KiB"), "{e}");
        // Not JSON, or JSON without a mirror: refused, saying so.
        for (text, why) in [
            ("{truncated", "not JSON"),
            (r#"{"mirror":""}"#, "\"mirror\" string"),
            ("[]", "\"mirror\" string"),
        ] {
            std::fs::write(&note, text).unwrap();
            let e = s.resolve().unwrap_err();
            assert!(e.to_string().contains(why), "{text}: {e}");
            assert!(
                e.hint().contains("ferrosign initialize --mirror"),
                "{}",
                e.hint()
            );
        }
        // A mirror given explicitly does not read the note at all.
        let given = TufSettings {
            mirror: Some("http://127.0.0.1:10".into()),
            ..s.clone()
        };
        assert_eq!(given.resolve().unwrap().mirror, "http://127.0.0.1:10");
        // No note: the public-good mirror.
        std::fs::remove_file(&note).unwrap();
        assert_eq!(s.resolve().unwrap().mirror, PUBLIC_GOOD_MIRROR);
    }

    #[test]
    fn a_root_that_is_not_self_signed_is_refused_as_an_anchor() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("root.json");
        let mut v: serde_json::Value = serde_json::from_slice(EMBEDDED_TUF_ROOT).unwrap();
        v["signed"]["version"] = 17.into();
        std::fs::write(&p, v.to_string()).unwrap();
        let e = anchor_bytes(&Anchor::File(p.clone())).unwrap_err();
        assert!(e.is_input());
        assert!(
            e.to_string().contains("cannot be used as a TUF root"),
            "{e}"
        );
        std::fs::write(&p, "[]").unwrap();
        assert!(anchor_bytes(&Anchor::File(p)).is_err());
    }
}
