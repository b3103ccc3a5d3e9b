//! The small harness every test module uses: run the binary, find the real cosign, temp dirs.
#![allow(dead_code)]

pub mod peer;
pub mod proxy;
pub mod registry;
pub mod registry_auth;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Where scripts/test.sh points the tests at the shipped (static release) binary for a subset of them.
pub const ENV_FERROSIGN_BIN: &str = "FERROSIGN_BIN";

/// The binary under test: `$FERROSIGN_BIN` when set, else the build cargo made for this test run.
pub fn bin() -> PathBuf {
    match std::env::var_os(ENV_FERROSIGN_BIN).filter(|v| !v.is_empty()) {
        Some(p) => {
            let p = PathBuf::from(p);
            assert!(
                p.is_file(),
                "{ENV_FERROSIGN_BIN}={} is not a file",
                p.display()
            );
            p
        }
        None => PathBuf::from(env!("CARGO_BIN_EXE_ferrosign")),
    }
}

/// Keeps a child process off every network but loopback: anything not for 127.0.0.1/localhost goes to a
/// proxy address where nothing listens, so it fails at once instead of leaving the machine.
pub fn loopback_only(c: &mut Command) {
    for var in [
        "HTTPS_PROXY",
        "HTTP_PROXY",
        "https_proxy",
        "http_proxy",
        "ALL_PROXY",
    ] {
        c.env(var, "http://127.0.0.1:9");
    }
    c.env("NO_PROXY", "127.0.0.1,localhost,::1")
        .env("no_proxy", "127.0.0.1,localhost,::1");
}

/// A TUF mirror address where nothing listens (the dead proxy's): the default for every test, so that
/// a run that reaches for the TUF repository without a test asking for one fails over to the embedded
/// public-good snapshot at once, and never talks to Sigstore's public repository.
pub const DEAD_TUF_MIRROR: &str = "http://127.0.0.1:9";

/// A `ferrosign` command with a clean environment (no GITHUB_*, no COSIGN_*), run in `dir`; its TUF cache
/// is `dir/.ferrosign-tuf` and its TUF mirror [`DEAD_TUF_MIRROR`] (tests of TUF set `TUF_MIRROR` to the
/// loopback repository of tests/peers/tuf).
pub fn ferrosign(dir: &Path) -> Command {
    let mut c = Command::new(bin());
    c.current_dir(dir).env_clear();
    for keep in ["PATH", "HOME", "TMPDIR"] {
        if let Ok(v) = std::env::var(keep) {
            c.env(keep, v);
        }
    }
    c.env("FERROSIGN_TUF_CACHE", dir.join(".ferrosign-tuf"))
        .env("TUF_MIRROR", DEAD_TUF_MIRROR);
    loopback_only(&mut c);
    c.stdin(Stdio::null());
    c
}

/// What a finished process said.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
    #[track_caller]
    pub fn fails(self, code: i32, needle: &str) -> Self {
        assert_eq!(
            self.code, code,
            "expected exit {code}\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}:\n{}",
            self.stderr
        );
        assert!(!self.stderr.contains("panicked"), "panic:\n{}", self.stderr);
        self
    }
    #[track_caller]
    pub fn hint(self, needle: &str) -> Self {
        let hint = self
            .stderr
            .lines()
            .find(|l| l.starts_with("hint: "))
            .unwrap_or_else(|| panic!("no hint line:\n{}", self.stderr));
        assert!(hint.contains(needle), "hint lacks {needle:?}: {hint}");
        self
    }
}

pub fn run(cmd: &mut Command) -> Run {
    let out: Output = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Peak resident memory and wall time of one run, as `/usr/bin/time` measured them: the figures of
/// issue 13's cases in docs/hostile-cases.md. Tests assert only generous bounds on them (a loaded
/// 2-core machine); the figures are written to the note, never compared.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    /// peak RSS, MiB (NaN when `time` wrote nothing)
    pub rss_mib: f64,
    /// wall time, seconds
    pub wall_s: f64,
}

/// `cmd` (program, arguments, environment, directory) run by `/usr/bin/time -f "%M %e" -o out`; its
/// exit code is the program's. Stdin is closed (as [`ferrosign`] sets it).
pub fn under_time(cmd: &Command, out: &Path) -> Command {
    let mut c = Command::new("/usr/bin/time");
    c.args(["-f", "%M %e", "-o"]).arg(out);
    let mut c = wrapping(c, cmd);
    c.stdin(Stdio::null());
    c
}

/// `wrapper` (a program and its first arguments, e.g. `/usr/bin/time -o F`) followed by `cmd`'s
/// program and arguments, run with exactly `cmd`'s environment and directory.
pub fn wrapping(mut wrapper: Command, cmd: &Command) -> Command {
    wrapper
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .env_clear();
    if let Some(d) = cmd.get_current_dir() {
        wrapper.current_dir(d);
    }
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => wrapper.env(k, v),
            None => wrapper.env_remove(k),
        };
    }
    wrapper
}

/// What `/usr/bin/time` wrote to `out` ([`under_time`]).
pub fn usage_of(out: &Path) -> Usage {
    let text = std::fs::read_to_string(out).unwrap_or_default();
    // `time` writes "Command exited with non-zero status N" first.
    let last = text.lines().last().unwrap_or_default().to_string();
    let mut f = last.split_whitespace();
    let mut num = || {
        f.next()
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    let rss_kib = num();
    Usage {
        rss_mib: rss_kib / 1024.0,
        wall_s: num(),
    }
}

/// [`run`] under `/usr/bin/time`: what the process said, and its [`Usage`].
pub fn run_measured(cmd: &Command) -> (Run, Usage) {
    let d = tempdir();
    let out = d.path().join("time.txt");
    let r = run(&mut under_time(cmd, &out));
    (r, usage_of(&out))
}

/// The most of several runs' [`Usage`]s (the peak RSS of the largest, the longest wall time).
pub fn worst(usages: &[Usage]) -> Usage {
    Usage {
        rss_mib: usages.iter().map(|u| u.rss_mib).fold(f64::NAN, f64::max),
        wall_s: usages.iter().map(|u| u.wall_s).fold(f64::NAN, f64::max),
    }
}

/// Asserts the generous bounds of an issue-13 case and appends its row (case, test, exit, peak RSS
/// and its bound, wall and its bound) to `$FERROSIGN_HOSTILE_SUMMARY` if set, else
/// `.cache/hostile-summary.rows.md` (docs/hostile-cases.md's summary table). `exit` is the exit code
/// the test asserted (or the codes of several runs).
#[track_caller]
pub fn bounded(
    case: &str,
    test: &str,
    exit: impl std::fmt::Display,
    u: Usage,
    rss_bound_mib: f64,
    wall_bound_s: f64,
) {
    append_row(
        "FERROSIGN_HOSTILE_SUMMARY",
        "hostile-summary.rows.md",
        &format!(
            "| {case} | `{test}` | {exit} | {:.0} MiB (bound {rss_bound_mib:.0}) | {:.2} s (bound {wall_bound_s:.0}) |\n",
            u.rss_mib, u.wall_s
        ),
    );
    assert!(
        u.rss_mib < rss_bound_mib,
        "{case}: peak RSS {:.0} MiB, bound {rss_bound_mib} MiB",
        u.rss_mib
    );
    assert!(
        u.wall_s < wall_bound_s,
        "{case}: {:.1} s, bound {wall_bound_s} s",
        u.wall_s
    );
}

/// The real cosign binary of a major version (2 or 3), installed by scripts/peers.sh.
pub fn cosign_bin(major: u32) -> PathBuf {
    let var = format!("FERROSIGN_COSIGN_V{major}");
    let path = std::env::var(&var).map(PathBuf::from).unwrap_or_else(|_| {
        let version = match major {
            2 => "v2.6.5",
            _ => "v3.1.3",
        };
        let home = std::env::var("HOME").unwrap_or_default();
        PathBuf::from(format!("{home}/.cache/ferrosign/cosign-{version}/cosign"))
    });
    assert!(
        path.is_file(),
        "cosign v{major} not found at {} ({var}): run `bash scripts/test.sh`, which installs it",
        path.display()
    );
    path
}

/// `c` (ferrosign or cosign) made `verify --key KEY --insecure-ignore-tlog --allow-http-registry
/// EXTRA… IMAGE`: an image signed with a key and no log entry, in a plain-HTTP registry on loopback.
pub fn verify_with_key(mut c: Command, key: &str, extra: &[&str], image: &str) -> Command {
    c.args([
        "verify",
        "--key",
        key,
        "--insecure-ignore-tlog",
        "--allow-http-registry",
    ])
    .args(extra)
    .arg(image);
    c
}

/// A `cosign` command (v2 or v3) with a clean environment, offline-friendly, run in `dir`.
pub fn cosign(major: u32, dir: &Path) -> Command {
    let mut c = Command::new(cosign_bin(major));
    c.current_dir(dir).env_clear();
    for keep in ["PATH", "HOME", "TMPDIR"] {
        if let Ok(v) = std::env::var(keep) {
            c.env(keep, v);
        }
    }
    // Keep cosign off the network: its TUF refresh goes to a dead loopback proxy and fails at once.
    c.env("TUF_ROOT", dir.join(".sigstore-tuf"));
    loopback_only(&mut c);
    c.stdin(Stdio::null());
    c
}

/// Writes a trusted root with nothing in it (`DIR/empty_trusted_root.json`): cosign v2.6.5 reads only
/// Sigstore bundles once one is attached to an image and then requires `--trusted-root`, even for
/// `--key --insecure-ignore-tlog`, where it uses none of it (docs/cosign-bundle-layout.md §2.2).
pub fn empty_trusted_root(dir: &Path) -> PathBuf {
    let path = dir.join("empty_trusted_root.json");
    std::fs::write(
        &path,
        r#"{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}"#,
    )
    .expect("write the empty trusted root");
    path
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// Appends one measured table row to the file named by the environment variable `var`, else to
/// `.cache/<default_name>` in the crate (best effort: a row that cannot be written is not a test
/// failure; the scripts that build docs/hostile-cases.md read these files).
pub fn append_row(var: &str, default_name: &str, row: &str) {
    let out = std::env::var(var).map_or_else(
        |_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join(".cache")
                .join(default_name)
        },
        PathBuf::from,
    );
    if let Some(dir) = out.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&out)
        .and_then(|mut f| std::io::Write::write_all(&mut f, row.as_bytes()));
}

/// Runs `openssl ARGS` in `dir` (the system's openssl, installed by scripts/peers.sh); panics with its
/// stderr when it fails.
pub fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `DIR/p384.pem`: a new ECDSA P-384 key (SEC 1 PEM, openssl).
pub fn p384_pem(dir: &Path) {
    p384_pem_as(dir, "p384.pem");
}

/// `DIR/FILE`: a new ECDSA P-384 key (SEC 1 PEM, openssl).
pub fn p384_pem_as(dir: &Path, file: &str) {
    openssl(
        dir,
        &[
            "ecparam",
            "-name",
            "secp384r1",
            "-genkey",
            "-noout",
            "-out",
            file,
        ],
    );
}

/// `ferrosign generate-key-pair` in `dir` (cosign.key and cosign.pub) with `password`; it must succeed.
pub fn key_pair(dir: &Path, password: &str) {
    run(ferrosign(dir)
        .arg("generate-key-pair")
        .env("COSIGN_PASSWORD", password))
    .ok();
}

/// `DIR/p521.pem`: a new ECDSA P-521 key (PKCS#8 PEM, openssl).
pub fn p521_pem(dir: &Path) {
    openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-521",
            "-out",
            "p521.pem",
        ],
    );
}
