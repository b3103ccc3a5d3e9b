//! Where the trusted root and the signing config come from, in this order (the README's "Trust
//! sources"):
//!
//! 1. a file the request names: `--trusted-root FILE`, `--signing-config FILE`;
//! 2. the TUF repository ([`super::tuf`]): refreshed from its mirror, verified from the TUF root;
//! 3. the repository's cache, verified on its own, when the mirror cannot be reached (one warning
//!    that says how old it is);
//! 4. the snapshot embedded in the binary, when the repository is the public-good one (its root is
//!    the embedded TUF root) and neither the mirror nor the cache can be used (one warning that says
//!    how old it is).
//!
//! Nothing is read that the operation does not need: the caller says which of the two it needs
//! ([`Needs`]), and TUF is consulted only when a needed one has no file. A mirror that answers with
//! metadata that fails a TUF check is an error, never a reason to fall back.

use super::signing_config::{ServiceConfig, SigningConfigError};
use super::tuf::{self, Anchor, Freshness, TufError, TufSettings};
use super::{Fetched, TrustError, TrustRoot, TrustSource};
use std::path::PathBuf;

/// The day the embedded trusted root and signing config were taken (from sigstore-python 4.5.1's
/// copies of the public-good TUF targets; `scripts/refresh-trusted-root.sh` rewrites it).
pub(crate) const EMBEDDED_SNAPSHOT_DATE: &str = "2026-11-25";

/// The public-good signing config, embedded beside the trusted root (see [`EMBEDDED_SNAPSHOT_DATE`]).
pub(crate) const PRODUCTION_SIGNING_CONFIG: &[u8] =
    include_bytes!("../production_signing_config.json");

/// Where trust comes from, as the request says.
#[derive(Clone, Debug, Default)]
pub(crate) struct TrustSettings {
    /// `--trusted-root FILE` (the Action's `trusted-root`)
    pub(crate) trusted_root: Option<PathBuf>,
    /// `--signing-config FILE` (the Action's `signing-config`)
    pub(crate) signing_config: Option<PathBuf>,
    /// the TUF repository for what no file gives
    pub(crate) tuf: TufSettings,
    /// a trusted root already loaded in this run (verification right after signing)
    pub(crate) loaded: Option<TrustRoot>,
}

impl TrustSettings {
    /// Settings that hand out `root` (already loaded) and nothing else.
    pub(crate) fn loaded(root: TrustRoot) -> Self {
        TrustSettings {
            loaded: Some(root),
            ..TrustSettings::default()
        }
    }
}

/// What an operation needs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Needs {
    /// the trusted root (to check certificates, log entries, timestamps)
    pub(crate) root: bool,
    /// the signing config (to find Fulcio, Rekor, TSAs not named by a flag)
    pub(crate) config: bool,
}

/// A signing config and where it came from.
#[derive(Clone, Debug)]
pub(crate) struct LoadedConfig {
    /// the parsed config
    pub(crate) config: ServiceConfig,
}

/// What was loaded, and the warnings to show (at most one: the fallback used).
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    /// the trusted root, when needed
    pub(crate) root: Option<TrustRoot>,
    /// the signing config, when needed (and, for a repository that publishes none, absent)
    pub(crate) config: Option<LoadedConfig>,
    /// what the user must be told: a fallback and how old it is
    pub(crate) warnings: Vec<String>,
}

/// A time span in words: `42 seconds`, `5 minutes`, `3 hours`, `2 days`.
pub(crate) fn span(seconds: i64) -> String {
    let s = seconds.max(0);
    let (n, unit) = match s {
        0..=119 => (s, "second"),
        120..=7199 => (s / 60, "minute"),
        7200..=172_799 => (s / 3600, "hour"),
        _ => (s / 86_400, "day"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// How old the embedded snapshot is at `now`, in words (`5 days`).
pub(crate) fn embedded_age(now: jiff::Timestamp) -> String {
    let taken: Option<jiff::Timestamp> = format!("{EMBEDDED_SNAPSHOT_DATE}T00:00:00Z").parse().ok();
    taken.map_or_else(
        || "of unknown age".into(),
        |t| span(now.as_second() - t.as_second()),
    )
}

/// Reads the signing config file, up to [`crate::fsutil::SIGNING_CONFIG_FILE`].
fn read_file(path: &std::path::Path) -> Result<Vec<u8>, TrustError> {
    crate::fsutil::read_limited(path, crate::fsutil::SIGNING_CONFIG_FILE).map_err(|source| {
        TrustError::Read {
            path: path.to_path_buf(),
            source,
        }
    })
}

/// Loads what `needs` asks for, by the precedence in the module documentation.
pub(crate) async fn load(
    settings: &TrustSettings,
    needs: Needs,
    now: jiff::Timestamp,
) -> Result<Loaded, TrustError> {
    let mut loaded = Loaded::default();
    if needs.root {
        if let Some(root) = &settings.loaded {
            loaded.root = Some(root.clone());
        } else if let Some(path) = &settings.trusted_root {
            loaded.root = Some(TrustRoot::from_file(path)?);
        }
    }
    if let Some(path) = &settings.signing_config {
        // A given file is always read: it may name the TSA even when every other service is given.
        let origin = format!("the signing config {}", path.display());
        loaded.config = Some(LoadedConfig {
            config: ServiceConfig::parse(&read_file(path)?, &origin)?,
        });
    }
    let want_root = needs.root && loaded.root.is_none();
    let want_config = needs.config && loaded.config.is_none();
    if !want_root && !want_config {
        return Ok(loaded);
    }
    let repo = settings.tuf.resolve()?;
    match tuf::refresh(&repo, now).await {
        Ok(r) => {
            let fetched = match &r.freshness {
                Freshness::Mirror => Fetched::Now,
                Freshness::Cache {
                    refreshed,
                    unreachable,
                } => {
                    let when = refreshed.map_or_else(
                        || "at an unknown time".to_string(),
                        |t| {
                            format!(
                                "{} ago ({})",
                                span(now.as_second() - t.as_second()),
                                t.strftime("%Y-%m-%d %H:%M UTC")
                            )
                        },
                    );
                    loaded.warnings.push(format!(
                        "{unreachable}: using the TUF cache {} instead, last refreshed from the mirror {when}; it verified against the TUF metadata on its own",
                        repo.cache.as_ref().map(|d| d.display().to_string()).unwrap_or_default()
                    ));
                    Fetched::Cached {
                        refreshed: *refreshed,
                    }
                }
            };
            let source = TrustSource::Tuf {
                mirror: repo.mirror.clone(),
                root_version: r.root_version,
                fetched: fetched.clone(),
            };
            if want_root {
                let text = String::from_utf8_lossy(&r.trusted_root);
                loaded.root = Some(TrustRoot::parse(&text, source.clone())?);
            }
            if want_config {
                match &r.signing_config {
                    Some(bytes) => {
                        let origin = match fetched {
                            Fetched::Now => {
                                format!("the signing config of the TUF repository {}", repo.mirror)
                            }
                            Fetched::Cached { .. } => format!(
                                "the signing config of the TUF repository {} (its cached copy)",
                                repo.mirror
                            ),
                        };
                        loaded.config = Some(LoadedConfig {
                            config: ServiceConfig::parse(bytes, &origin)?,
                        });
                    }
                    None if repo.anchor == Anchor::Embedded => {
                        // The public-good repository has always published one; if it ever stops,
                        // its embedded copy is still the public-good services.
                        loaded.config = Some(embedded_config()?);
                    }
                    None => {
                        return Err(TrustError::NoSigningConfig {
                            mirror: repo.mirror.clone(),
                        })
                    }
                }
            }
            Ok(loaded)
        }
        Err(TufError::Unreachable {
            mirror,
            reason,
            cache,
        }) if repo.anchor == Anchor::Embedded => {
            loaded.warnings.push(format!(
                "cannot reach the TUF repository {mirror} ({reason}) and its cache cannot be used ({cache}): using the public-good trusted root and signing config embedded in ferrosign, a snapshot of {EMBEDDED_SNAPSHOT_DATE} ({} old); keys or services that changed since are not known to it",
                embedded_age(now)
            ));
            if want_root {
                loaded.root = Some(TrustRoot::production()?);
            }
            if want_config {
                loaded.config = Some(embedded_config()?);
            }
            Ok(loaded)
        }
        Err(e) => Err(TrustError::Tuf(e)),
    }
}

/// The embedded public-good signing config.
fn embedded_config() -> Result<LoadedConfig, SigningConfigError> {
    Ok(LoadedConfig {
        config: ServiceConfig::parse(
            PRODUCTION_SIGNING_CONFIG,
            &format!("the public-good signing config embedded in ferrosign (snapshot of {EMBEDDED_SNAPSHOT_DATE})"),
        )?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_as_words() {
        assert_eq!(span(1), "1 second");
        assert_eq!(span(90), "90 seconds");
        assert_eq!(span(300), "5 minutes");
        assert_eq!(span(3 * 3600), "3 hours");
        assert_eq!(span(5 * 86_400 + 7), "5 days");
        assert_eq!(span(-5), "0 seconds");
    }

    #[tokio::test]
    async fn files_are_used_without_tuf() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("trusted_root.json");
        std::fs::write(&root, super::super::PRODUCTION_TRUSTED_ROOT).unwrap();
        let config = dir.path().join("signing_config.json");
        std::fs::write(&config, PRODUCTION_SIGNING_CONFIG).unwrap();
        // A mirror nobody listens on: any attempt to use it would fail.
        let settings = TrustSettings {
            trusted_root: Some(root.clone()),
            signing_config: Some(config),
            tuf: TufSettings {
                mirror: Some("http://127.0.0.1:9".into()),
                root: Some(dir.path().join("absent.json")),
                cache: None,
            },
            loaded: None,
        };
        let now = jiff::Timestamp::now();
        let l = load(
            &settings,
            Needs {
                root: true,
                config: true,
            },
            now,
        )
        .await
        .unwrap();
        assert_eq!(l.root.unwrap().source(), &TrustSource::File(root));
        assert!(l.config.is_some());
        assert!(l.warnings.is_empty());
        // Nothing needed, nothing read (not even the broken TUF settings).
        let none = TrustSettings {
            trusted_root: None,
            signing_config: None,
            ..settings
        };
        let l = load(&none, Needs::default(), now).await.unwrap();
        assert!(l.root.is_none() && l.config.is_none());
    }
}
