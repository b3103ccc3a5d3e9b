//! Local files: read within a named limit ([`read_limited`]), and written whole or not at all (a
//! temporary file beside the target, then a rename, or a link that claims the name exclusively).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// A file written to a temporary name, moved into place by [`Staged::commit`]; removed if dropped.
pub(crate) struct Staged {
    tmp: PathBuf,
    target: PathBuf,
    done: bool,
}

impl Staged {
    /// Writes `bytes` to a temporary file next to `target`, with `mode` on unix (e.g. 0o600).
    pub(crate) fn write(target: &Path, bytes: &[u8], mode: u32) -> std::io::Result<Self> {
        let dir = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(mode);
        }
        #[cfg(not(unix))]
        let _ = mode;
        let staged = Staged {
            tmp: tmp.clone(),
            target: target.to_path_buf(),
            done: false,
        };
        let mut f = opts.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        Ok(staged)
    }

    /// Moves the file into place.
    pub(crate) fn commit(mut self) -> std::io::Result<()> {
        std::fs::rename(&self.tmp, &self.target)?;
        self.done = true;
        Ok(())
    }
}

impl Staged {
    /// Moves the file into place only if nothing is there yet: a hard link claims the name (it fails
    /// with `AlreadyExists` when the name exists), then the temporary name goes. Of concurrent writers of
    /// one name exactly one succeeds, and no reader ever sees a partial file. Where the filesystem has no
    /// hard links, the name is claimed with an exclusive create and the bytes copied into it.
    pub(crate) fn commit_new(self) -> std::io::Result<()> {
        match std::fs::hard_link(&self.tmp, &self.target) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(e),
            Err(_) => {
                let mut opts = std::fs::OpenOptions::new();
                opts.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
                    let mode = std::fs::metadata(&self.tmp)?.permissions().mode();
                    opts.mode(mode & 0o777);
                }
                let mut out = opts.open(&self.target)?;
                std::io::copy(&mut std::fs::File::open(&self.tmp)?, &mut out)?;
                out.sync_all()
            }
        }
        // dropping `self` removes the temporary name
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// A bound on how much of one local file ferrosign reads: what the file is (named in the error) and the
/// most bytes it may hold. A file over its limit is refused after reading `max + 1` bytes at most, so
/// `/dev/zero` or a FIFO that never ends fails fast, naming the limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FileLimit {
    /// what such files are, plural (named in the error), e.g. `bundles`
    pub(crate) what: &'static str,
    /// the most bytes read
    pub(crate) max: u64,
}

/// Key files read only to mask them (the Action's `key` input naming a file): 64 KiB, as the key
/// reader's own limit (`signing::source`).
pub(crate) const KEY_FILE: FileLimit = FileLimit {
    what: "key files",
    max: 64 << 10,
};
/// Sigstore bundles and cosign's `--bundle` files: 16 MiB. A bundle holds a certificate chain, log
/// entries with inclusion proofs (a few KiB) and, for DSSE, the signed statement (SLSA provenance can
/// run to a few MiB).
pub(crate) const BUNDLE_FILE: FileLimit = FileLimit {
    what: "bundles",
    max: 16 << 20,
};
/// `trusted_root.json` (`--trusted-root`, the Action's `trusted-root`): 4 MiB (the public-good root is
/// about 7 KiB; a private deployment's few certificate chains and keys stay well below).
pub(crate) const TRUSTED_ROOT_FILE: FileLimit = FileLimit {
    what: "trusted roots",
    max: 4 << 20,
};
/// A signing config (`--signing-config`, the Action's `signing-config`): 1 MiB (the public-good one is
/// about 2 KiB: a few service URLs with their validity periods).
pub(crate) const SIGNING_CONFIG_FILE: FileLimit = FileLimit {
    what: "signing configs",
    max: 1 << 20,
};
/// A signature file (`--signature`, base64 or raw): 64 KiB (an RSA-4096 signature is 512 bytes).
pub(crate) const SIGNATURE_FILE: FileLimit = FileLimit {
    what: "signature files",
    max: 64 << 10,
};
/// Certificates and CA bundles read from files (a kubeconfig's `certificate-authority`, a service
/// account's `ca.crt`): 1 MiB.
pub(crate) const CERTIFICATE_FILE: FileLimit = FileLimit {
    what: "certificate files",
    max: 1 << 20,
};
/// A Kubernetes service account token file (in-cluster, or a kubeconfig's `tokenFile`): 64 KiB (a
/// projected token is about 1 KiB).
pub(crate) const TOKEN_FILE: FileLimit = FileLimit {
    what: "token files",
    max: 64 << 10,
};
/// The Actions event payload (`GITHUB_EVENT_PATH`): 25 MiB, GitHub's cap on webhook payloads.
pub(crate) const EVENT_PAYLOAD_FILE: FileLimit = FileLimit {
    what: "event payloads",
    max: 25 << 20,
};
/// A docker config (`$DOCKER_CONFIG/config.json`), read by the registry client for credentials and by
/// the Action to mask its passwords: 4 MiB (one `auths` entry is about 100 bytes).
pub(crate) const DOCKER_CONFIG_FILE: FileLimit = FileLimit {
    what: "docker configs",
    max: 4 << 20,
};
/// ferrosign's small notes in the TUF cache (`remote.json`: the mirror `initialize` chose;
/// `ferrosign-refreshed.json`: when the cache was last refreshed): 64 KiB (each is one short JSON object).
/// A note over the limit reads as absent (the mirror falls back to the default, the age to unknown).
pub(crate) const TUF_NOTE_FILE: FileLimit = FileLimit {
    what: "TUF cache notes",
    max: 64 << 10,
};
/// A kubeconfig: 16 MiB (clusters with embedded CA data are a few KiB each).
pub(crate) const KUBECONFIG_FILE: FileLimit = FileLimit {
    what: "kubeconfigs",
    max: 16 << 20,
};

/// A file over its [`FileLimit`]; the `std::io::Error` that [`read_limited`] returns carries it (kind
/// `InvalidData`), so a caller can tell it apart from other read errors.
#[derive(Debug, thiserror::Error)]
#[error("it is larger than {max_text}, the limit for {what}")]
pub(crate) struct TooLarge {
    /// what such files are, plural
    pub(crate) what: &'static str,
    /// the limit in bytes
    pub(crate) max: u64,
    max_text: String,
}

/// Bytes in the largest whole unit: `64 KiB`, `16 MiB`, `300 bytes`.
pub(crate) fn size_text(n: u64) -> String {
    match n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}

/// Reads a whole file of at most `limit.max` bytes. Errors: those of opening and reading, and a
/// [`TooLarge`] (kind `InvalidData`) once more than `limit.max` bytes came, without reading further.
pub(crate) fn read_limited(path: &Path, limit: FileLimit) -> std::io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let mut buf = Vec::new();
    file.take(limit.max.saturating_add(1))
        .read_to_end(&mut buf)?;
    if buf.len() as u64 > limit.max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            TooLarge {
                what: limit.what,
                max: limit.max,
                max_text: size_text(limit.max),
            },
        ));
    }
    Ok(buf)
}

/// [`read_limited`] as UTF-8 text (kind `InvalidData` when it is not).
pub(crate) fn read_limited_string(path: &Path, limit: FileLimit) -> std::io::Result<String> {
    String::from_utf8(read_limited(path, limit)?).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("it is not UTF-8 text (as {} must be)", limit.what),
        )
    })
}

/// Writes a whole file atomically (0o644).
pub(crate) fn write_atomic(target: &Path, bytes: &[u8]) -> std::io::Result<()> {
    Staged::write(target, bytes, 0o644)?.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_limited_stops_at_the_limit_and_names_it() {
        let limit = FileLimit {
            what: "test files",
            max: 64 << 10,
        };
        let e = read_limited(Path::new("/dev/zero"), limit).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
        let too = e.get_ref().and_then(|i| i.downcast_ref::<TooLarge>());
        assert!(too.is_some_and(|t| t.max == 64 << 10), "{e:?}");
        assert_eq!(
            e.to_string(),
            "it is larger than 64 KiB, the limit for test files"
        );
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        std::fs::write(&p, vec![b'a'; 64 << 10]).unwrap();
        assert_eq!(read_limited(&p, limit).unwrap().len(), 64 << 10);
        std::fs::write(&p, vec![b'a'; (64 << 10) + 1]).unwrap();
        assert!(read_limited(&p, limit).is_err());
        assert_eq!(size_text(300), "300 bytes");
        assert_eq!(size_text(25 << 20), "25 MiB");
    }

    #[test]
    fn commit_new_claims_a_name_once() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("k");
        Staged::write(&target, b"first", 0o600)
            .unwrap()
            .commit_new()
            .unwrap();
        let e = Staged::write(&target, b"second", 0o600)
            .unwrap()
            .commit_new()
            .unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&target).unwrap(), b"first");
        // no temporary file is left behind
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }
}
