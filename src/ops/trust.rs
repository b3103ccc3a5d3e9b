//! Trust for the operations: the trusted root a verification reads (a file, else TUF, with the
//! fallback warnings of [`crate::sigstore::trust::sources`]), and `initialize`, which sets up the TUF
//! cache for a mirror as `cosign initialize` does.

use crate::error::Error;
use crate::gha::Ui;
use crate::sigstore::trust::sources::{self, Needs, TrustSettings};
use crate::sigstore::trust::tuf::{self, PUBLIC_GOOD_MIRROR};
use crate::sigstore::trust::{Fetched, TrustError, TrustRoot, TrustSource};
use std::path::PathBuf;

/// The trusted root for a verification: loads it, shows the fallback warning if there is one, and says
/// where it came from.
pub(crate) async fn trusted_root(
    settings: &TrustSettings,
    ui: &mut Ui,
) -> Result<TrustRoot, Error> {
    let now = jiff::Timestamp::now();
    let loaded = sources::load(
        settings,
        Needs {
            root: true,
            config: false,
        },
        now,
    )
    .await?;
    for w in &loaded.warnings {
        ui.warn(w);
    }
    let root = loaded.root.ok_or_else(|| {
        Error::input(
            "no trusted root",
            "pass --trusted-root, or let ferrosign fetch it through TUF",
        )
    })?;
    if settings.loaded.is_none() {
        let (source, age) = root.source().provenance(now);
        ui.info(&format!("Trusted root: {source}, {age}"));
    }
    Ok(root)
}

/// `initialize`.
#[derive(Debug, Clone)]
pub(crate) struct Initialize {
    /// the mirror (`--mirror`); `None`: the public-good repository
    pub(crate) mirror: Option<String>,
    /// the TUF root to trust for it (`--root`); `None`: the embedded public-good root
    pub(crate) root: Option<PathBuf>,
    /// the cache directory (`FERROSIGN_TUF_CACHE`, `XDG_CACHE_HOME`, `HOME`)
    pub(crate) cache: Option<PathBuf>,
}

/// What `initialize` set up.
#[derive(Debug, Clone)]
pub(crate) struct InitializeReport {
    /// the mirror
    pub(crate) mirror: String,
    /// the TUF root version the repository's metadata verified under
    pub(crate) root_version: u64,
    /// the cache directory of this mirror
    pub(crate) cache_dir: PathBuf,
    /// whether the repository publishes a signing config
    pub(crate) signing_config: bool,
    /// the Rekor logs its trusted root lists
    pub(crate) rekor_logs: Vec<String>,
}

/// Starts the mirror's cache afresh from the given root, refreshes it, and records the mirror as the
/// one later commands use (like `cosign initialize --mirror URL --root FILE`).
pub(crate) async fn initialize(req: &Initialize, ui: &mut Ui) -> Result<InitializeReport, Error> {
    let Some(cache) = &req.cache else {
        return Err(Error::input(
            "no directory for the TUF cache: neither FERROSIGN_TUF_CACHE, XDG_CACHE_HOME nor HOME is set",
            "set FERROSIGN_TUF_CACHE to a writable directory",
        ));
    };
    let mirror = req
        .mirror
        .clone()
        .unwrap_or_else(|| PUBLIC_GOOD_MIRROR.to_string());
    let now = jiff::Timestamp::now();
    let r = tuf::initialize(cache, &mirror, req.root.as_deref(), now)
        .await
        .map_err(TrustError::from)?;
    let mirror = mirror.trim_end_matches('/').to_string();
    let root = TrustRoot::parse(
        &String::from_utf8_lossy(&r.trusted_root),
        TrustSource::Tuf {
            mirror: mirror.clone(),
            root_version: r.root_version,
            fetched: Fetched::Now,
        },
    )?;
    if r.signing_config.is_none() {
        ui.warn(&format!(
            "the TUF repository {mirror} publishes no {}: signing needs --fulcio-url and --rekor-url (or --signing-config)",
            tuf::SIGNING_CONFIG_TARGET
        ));
    }
    let mut rekor_logs: Vec<String> = Vec::new();
    for l in root.rekor_logs() {
        if !rekor_logs.contains(&l.base_url) {
            rekor_logs.push(l.base_url);
        }
    }
    Ok(InitializeReport {
        cache_dir: cache.join(tuf::mirror_dir_name(&mirror)),
        mirror,
        root_version: r.root_version,
        signing_config: r.signing_config.is_some(),
        rekor_logs,
    })
}
