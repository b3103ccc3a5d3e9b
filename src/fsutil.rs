//! Writing files whole or not at all: a temporary file beside the target, then a rename.

use std::io::Write;
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

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Writes a whole file atomically (0o644).
pub(crate) fn write_atomic(target: &Path, bytes: &[u8]) -> std::io::Result<()> {
    Staged::write(target, bytes, 0o644)?.commit()
}
