//! Action mode: the binary started as the runner starts the container (no arguments,
//! `GITHUB_ACTIONS=true`, `INPUT_*`, temp `GITHUB_OUTPUT` / `GITHUB_STEP_SUMMARY` / `GITHUB_EVENT_PATH`).
//! Checks the runner contract (masks first, escaped commands, heredoc outputs, summary) and that no
//! byte of a secret leaks on any path.

use crate::support::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Known secret values; none may appear anywhere but in `::add-mask::` lines.
pub const PASSWORD: &str = "leak-test-password-Qx7";
pub const REGISTRY_PASSWORD: &str = "leak-test-registry-pw-Z9k";
pub const OIDC_TOKEN: &str = "eyJleak.test-oidc-token.sig9Vv";
pub const SECRETS_TOKEN: &str = "ghp_leaktestsecretstoken0123456789";

/// A runner-like workspace: temp files for outputs, summary and the event payload.
pub struct Runner {
    pub dir: tempfile::TempDir,
    pub output: PathBuf,
    pub summary: PathBuf,
    pub event: PathBuf,
}

impl Runner {
    pub fn new() -> Self {
        Self::with_event("push", r#"{"ref":"refs/heads/main"}"#)
    }

    pub fn with_event(_name: &str, payload: &str) -> Self {
        let dir = tempdir();
        let output = dir.path().join("set_output");
        let summary = dir.path().join("step_summary");
        let event = dir.path().join("event.json");
        std::fs::write(&output, "").unwrap();
        std::fs::write(&summary, "").unwrap();
        std::fs::write(&event, payload).unwrap();
        Runner {
            dir,
            output,
            summary,
            event,
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The binary as the runner starts a container action: no arguments, runner variables set.
    pub fn action(&self, event_name: &str) -> Command {
        let mut c = ferrosign(self.path());
        c.env("GITHUB_ACTIONS", "true")
            .env("CI", "true")
            .env("GITHUB_OUTPUT", &self.output)
            .env("GITHUB_STEP_SUMMARY", &self.summary)
            .env("GITHUB_EVENT_PATH", &self.event)
            .env("GITHUB_EVENT_NAME", event_name)
            .env("GITHUB_WORKFLOW", "release")
            .env("GITHUB_REPOSITORY", "acme/app")
            .env("GITHUB_REF", "refs/heads/main")
            .env("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567")
            .env("GITHUB_ACTOR", "octocat")
            .env("GITHUB_WORKSPACE", self.path())
            // Never any host but loopback: every URL the Action could default to points at a closed
            // loopback port unless a test starts a peer and overrides it.
            .env("GITHUB_API_URL", "http://127.0.0.1:1")
            .env("GITHUB_SERVER_URL", "http://127.0.0.1:1")
            .env("INPUT_FULCIO-URL", "http://127.0.0.1:1")
            .env("INPUT_REKOR-URL", "http://127.0.0.1:1");
        c
    }

    pub fn outputs(&self) -> Vec<(String, String)> {
        parse_outputs(&std::fs::read_to_string(&self.output).unwrap())
    }

    pub fn summary(&self) -> String {
        std::fs::read_to_string(&self.summary).unwrap()
    }
}

/// Sets an input the way the runner does: `INPUT_` + uppercased name, dashes kept.
pub fn input<'c>(c: &'c mut Command, name: &str, value: &str) -> &'c mut Command {
    c.env(format!("INPUT_{}", name.to_uppercase()), value)
}

/// An independent reader of the runner's `GITHUB_OUTPUT` format (`name<<DELIM` … `DELIM`, or
/// `name=value`); panics on anything the runner would reject.
pub fn parse_outputs(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut lines = text.split('\n').peekable();
    while let Some(line) = lines.next() {
        if line.is_empty() {
            continue;
        }
        if let Some((name, delim)) = line.split_once("<<") {
            assert!(
                delim.starts_with("ghadelimiter_") && delim.len() >= 13 + 32,
                "weak delimiter {delim:?}"
            );
            let mut value = Vec::new();
            loop {
                let l = lines
                    .next()
                    .unwrap_or_else(|| panic!("unclosed output {name}"));
                if l == delim {
                    break;
                }
                value.push(l);
            }
            out.push((name.to_string(), value.join("\n")));
        } else {
            let (n, v) = line
                .split_once('=')
                .unwrap_or_else(|| panic!("bad line {line:?}"));
            out.push((n.to_string(), v.to_string()));
        }
    }
    out
}

/// Every line of each expected secret is in the `::add-mask::` block that opens stdout, before any other
/// command or data. (Secrets made during the run, like a generated key, are masked later, when they
/// come to exist; stderr is a separate stream, so only stdout order can be checked byte for byte.)
#[track_caller]
pub fn assert_masks_first(r: &Run, expected: &[&str]) {
    let lines: Vec<&str> = r.stdout.lines().collect();
    let n = lines
        .iter()
        .take_while(|l| l.starts_with("::add-mask::"))
        .count();
    for want in expected {
        for line in want.lines().filter(|l| !l.trim().is_empty()) {
            assert!(
                lines[..n].contains(&format!("::add-mask::{line}").as_str()),
                "{line:?} not masked first:\n{}",
                r.stdout
            );
        }
    }
}

/// No line (nor any 12-byte piece of a line) of any secret appears in stdout (outside `::add-mask::`),
/// stderr, the outputs file or the summary; nor any 16-character piece of its base64 encoding
/// (standard or URL-safe, at each of the three alignments).
#[track_caller]
pub fn assert_no_leak(r: &Run, runner: &Runner, secrets: &[&str]) {
    assert_no_leak_raw(r, runner, secrets);
    assert_no_base64_leak(r, runner, secrets);
}

/// Every text a run produced, masks excluded: stdout, stderr, the outputs file, the summary.
fn produced(r: &Run, runner: &Runner) -> Vec<(&'static str, String)> {
    let stdout: String = r
        .stdout
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect::<Vec<_>>()
        .join("\n");
    vec![
        ("stdout", stdout),
        ("stderr", r.stderr.clone()),
        (
            "GITHUB_OUTPUT",
            std::fs::read_to_string(&runner.output).unwrap_or_default(),
        ),
        (
            "summary",
            std::fs::read_to_string(&runner.summary).unwrap_or_default(),
        ),
    ]
}

/// The base64 forms of each secret (whole, standard and URL-safe, shifted by 0, 1 and 2 bytes so that
/// every alignment inside a longer encoded text is covered) must not show anywhere.
#[track_caller]
pub fn assert_no_base64_leak(r: &Run, runner: &Runner, secrets: &[&str]) {
    use base64::Engine;
    let places = produced(r, runner);
    for secret in secrets.iter().filter(|s| s.len() >= 12) {
        for shift in 0..3 {
            let bytes = &secret.as_bytes()[shift..];
            for engine in [
                &base64::engine::general_purpose::STANDARD,
                &base64::engine::general_purpose::URL_SAFE,
            ] {
                let encoded = engine.encode(bytes);
                // skip the first 4 characters (they depend on what came before) and the padded tail
                let inner = &encoded[4.min(encoded.len())..encoded.len().saturating_sub(4)];
                for window in inner.as_bytes().windows(16.min(inner.len().max(1))) {
                    let piece = String::from_utf8_lossy(window);
                    if piece.len() < 16 {
                        continue;
                    }
                    for (place, text) in &places {
                        assert!(
                            !text.contains(piece.as_ref()),
                            "base64 of a secret ({piece:?}) leaked into {place}:\n{text}"
                        );
                    }
                }
            }
        }
    }
}

#[track_caller]
fn assert_no_leak_raw(r: &Run, runner: &Runner, secrets: &[&str]) {
    let stdout: String = r
        .stdout
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect::<Vec<_>>()
        .join("\n");
    let places = [
        ("stdout", stdout),
        ("stderr", r.stderr.clone()),
        (
            "GITHUB_OUTPUT",
            std::fs::read_to_string(&runner.output).unwrap_or_default(),
        ),
        (
            "summary",
            std::fs::read_to_string(&runner.summary).unwrap_or_default(),
        ),
    ];
    for secret in secrets {
        for line in secret.lines().map(str::trim).filter(|l| l.len() >= 8) {
            // The PEM armour lines are public knowledge; the base64 body is what must not leak.
            if line.starts_with("-----") {
                continue;
            }
            for (place, text) in &places {
                for window in line.as_bytes().windows(12.min(line.len())) {
                    let piece = String::from_utf8_lossy(window);
                    assert!(
                        !text.contains(piece.as_ref()),
                        "a piece of a secret ({piece:?}) leaked into {place}:\n{text}"
                    );
                }
            }
        }
    }
}

/// A cosign private key made by ferrosign, encrypted with [`PASSWORD`]; returns its PEM text.
pub fn make_key(dir: &Path) -> String {
    run(ferrosign(dir)
        .args(["generate-key-pair", "--output-key-prefix", "leak"])
        .env("COSIGN_PASSWORD", PASSWORD))
    .ok();
    std::fs::read_to_string(dir.join("leak.key")).unwrap()
}

#[test]
fn no_arguments_outside_actions_is_the_cli_not_the_action() {
    let r = Runner::new();
    let res = run(input(&mut ferrosign(r.path()), "images", "x"));
    assert_eq!(res.code, 2, "clap usage error expected: {}", res.all());
    assert!(!res.stdout.contains("::error::"), "{}", res.stdout);
}

#[test]
fn keyless_without_id_token_permission_fails_early_with_the_fix() {
    let r = Runner::new();
    let mut c = r.action("push");
    input(
        &mut c,
        "images",
        "127.0.0.1:1/app@sha256:0000000000000000000000000000000000000000000000000000000000000000",
    );
    input(&mut c, "registry-password", REGISTRY_PASSWORD);
    let res = run(&mut c).fails(2, "cannot request one");
    let res = res.hint("id-token: write");
    assert_masks_first(&res, &[REGISTRY_PASSWORD]);
    let err = res
        .stdout
        .lines()
        .find(|l| l.starts_with("::error::"))
        .expect("an ::error:: command");
    assert!(
        err.contains("%0Ahint: add `permissions: id-token: write`"),
        "{err}"
    );
    assert_eq!(
        res.stdout
            .lines()
            .filter(|l| l.starts_with("::error"))
            .count(),
        1
    );
    assert_no_leak(&res, &r, &[REGISTRY_PASSWORD]);
    assert_eq!(r.outputs(), vec![], "no outputs on failure");
    assert_eq!(r.summary(), "", "no summary on a usage error");
}

#[test]
fn fork_pull_request_is_told_it_gets_no_token() {
    let r = Runner::with_event(
        "pull_request",
        r#"{"pull_request":{"head":{"repo":{"full_name":"eve/app","fork":true}},"base":{"repo":{"full_name":"acme/app"}}}}"#,
    );
    let mut c = r.action("pull_request");
    input(&mut c, "images", "127.0.0.1:1/app:v1");
    run(&mut c).fails(2, "pull requests from forks");
}

#[test]
fn wrong_inputs_name_the_input() {
    let r = Runner::new();
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("images", "a:v1"), ("key", "k"), ("verify", "yes")],
            "input `verify` must be true or false",
        ),
        (
            &[("images", "# only a comment\n\n")],
            "input `images` is empty",
        ),
        (
            &[("images", "a:v1"), ("key", "k"), ("annotations", "team")],
            "not key=value",
        ),
        (
            &[
                ("images", "a:v1"),
                ("generate-key-pair", "github://acme/app"),
            ],
            "cannot be used in the same step",
        ),
    ];
    for (inputs, needle) in cases {
        let mut c = r.action("push");
        for (k, v) in *inputs {
            input(&mut c, k, v);
        }
        let res = run(&mut c).fails(2, needle);
        assert!(res.stdout.contains("::error::"), "{}", res.stdout);
    }
}

/// A TUF repository that fails is named with the Action's inputs (`tuf-mirror`, `tuf-root`), not with
/// the CLI's variables or `ferrosign initialize`, in the `::error::` the runner shows: a mirror that
/// cannot be reached (with its own root, so no embedded snapshot stands in), and a root that is no root.
#[test]
fn tuf_errors_name_the_tuf_inputs() {
    let r = Runner::new();
    let pem = make_key(r.path());
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/sigstore/public_good_tuf_root.json");
    std::fs::copy(root, r.path().join("root.json")).unwrap();
    std::fs::write(r.path().join("not-a-root.json"), "{}").unwrap();
    let cases = [
        (
            "root.json",
            1,
            "cannot reach the TUF repository",
            "the mirror URL (`tuf-mirror`)",
        ),
        (
            "not-a-root.json",
            2,
            "cannot be used as a TUF root",
            "with `tuf-root`",
        ),
    ];
    for (root, code, needle, hint) in cases {
        let mut c = r.action("push");
        c.env("COSIGN_PRIVATE_KEY", &pem)
            .env("COSIGN_PASSWORD", PASSWORD);
        input(
            &mut c,
            "images",
            &format!("127.0.0.1:1/app@sha256:{}", "0".repeat(64)),
        );
        input(&mut c, "key", "env://COSIGN_PRIVATE_KEY");
        input(&mut c, "tuf-mirror", DEAD_TUF_MIRROR);
        input(&mut c, "tuf-root", root);
        let res = run(&mut c).fails(code, needle);
        let error = res
            .stdout
            .lines()
            .find(|l| l.starts_with("::error"))
            .unwrap_or_else(|| panic!("no ::error:: line:\n{}", res.stdout));
        assert!(error.contains(hint), "{error}");
        for cli_only in ["TUF_", "initialize", "--", "FILE"] {
            assert!(!error.contains(cli_only), "{cli_only} in {error}");
        }
    }
}

#[test]
fn secrets_never_leak_on_failure_paths() {
    let r = Runner::new();
    let pem = make_key(r.path());
    let secrets = [
        PASSWORD,
        REGISTRY_PASSWORD,
        OIDC_TOKEN,
        SECRETS_TOKEN,
        pem.as_str(),
    ];
    // Each case: inputs; all run with every secret in the environment.
    let cases: &[&[(&str, &str)]] = &[
        &[
            ("images", "127.0.0.1:1/app:v1"),
            ("key", "env://COSIGN_PRIVATE_KEY"),
        ],
        &[
            ("images", "127.0.0.1:1/app:v1"),
            ("key", "env://COSIGN_PRIVATE_KEY"),
            ("verify", "maybe"),
        ],
        &[
            ("images", "127.0.0.1:1/app:v1"),
            ("key", "leak.key"),
            ("annotations", "bad"),
        ],
        &[("images", "")],
        &[("generate-key-pair", "github://acme/app")],
    ];
    for case in cases {
        let mut c = r.action("push");
        c.env("COSIGN_PRIVATE_KEY", &pem)
            .env("COSIGN_PASSWORD", PASSWORD)
            .env("SIGSTORE_ID_TOKEN", OIDC_TOKEN);
        input(&mut c, "registry-password", REGISTRY_PASSWORD);
        input(&mut c, "secrets-token", SECRETS_TOKEN);
        for (k, v) in *case {
            input(&mut c, k, v);
        }
        let res = run(&mut c);
        assert_ne!(res.code, 0, "{case:?} should fail: {}", res.all());
        assert!(!res.stderr.contains("panicked"), "{}", res.stderr);
        assert_masks_first(&res, &secrets);
        assert_no_leak(&res, &r, &secrets);
    }
}

fn opened_secrets(gh: &crate::secrets::Peer) -> Vec<(String, String)> {
    use base64::Engine;
    gh.records()
        .iter()
        .filter(|r| r["method"] == "PUT")
        .filter_map(|r| {
            let name = r["path"].as_str()?.rsplit('/').next()?.to_string();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(r["opened_b64"].as_str()?)
                .ok()?;
            Some((name, String::from_utf8(bytes).ok()?))
        })
        .collect()
}

#[test]
fn provisions_github_secrets_from_workflow_dispatch_without_leaking() {
    let gh = crate::secrets::Peer::start("fake_github.py", &["--token", SECRETS_TOKEN]);
    let r = Runner::with_event("workflow_dispatch", r#"{"inputs":{}}"#);
    let mut c = r.action("workflow_dispatch");
    c.env("GITHUB_API_URL", gh.url())
        .env("COSIGN_PASSWORD", PASSWORD);
    input(&mut c, "generate-key-pair", "github://acme/app");
    input(&mut c, "secrets-token", SECRETS_TOKEN);
    input(&mut c, "registry-password", REGISTRY_PASSWORD);
    let res = run(&mut c).ok();
    let stored = opened_secrets(&gh);
    let names: Vec<&str> = stored.iter().map(|(n, _)| n.as_str()).collect();
    for want in ["COSIGN_PASSWORD", "COSIGN_PRIVATE_KEY", "COSIGN_PUBLIC_KEY"] {
        assert!(names.contains(&want), "{want} not stored: {names:?}");
    }
    let private = &stored
        .iter()
        .find(|(n, _)| n == "COSIGN_PRIVATE_KEY")
        .unwrap()
        .1;
    assert!(private.contains("ENCRYPTED SIGSTORE PRIVATE KEY"));
    let public = std::fs::read_to_string(r.path().join("cosign.pub")).unwrap();
    let summary = r.summary();
    assert!(
        summary.starts_with("### ferrosign stored a new key pair at `github://acme/app`"),
        "{summary}"
    );
    assert!(summary.contains(public.trim_end()), "{summary}");
    assert!(
        res.stdout.contains("::group::Generate a key pair"),
        "{}",
        res.stdout
    );
    assert_masks_first(&res, &[PASSWORD, SECRETS_TOKEN, REGISTRY_PASSWORD]);
    assert_no_leak(
        &res,
        &r,
        &[PASSWORD, SECRETS_TOKEN, REGISTRY_PASSWORD, private],
    );
    // The private key's lines were masked (by the provisioning code, before its first use).
    for line in private
        .lines()
        .filter(|l| !l.starts_with("-----") && !l.is_empty())
    {
        assert!(
            res.stdout.contains(&format!("::add-mask::{line}")),
            "{line} not masked"
        );
    }
}

#[test]
fn provisioning_failures_say_why_and_leak_nothing() {
    let gh = crate::secrets::Peer::start("fake_github.py", &["--token", SECRETS_TOKEN]);
    let r = Runner::new();
    // No token input: the job token cannot write secrets, so we refuse before any request.
    let mut c = r.action("workflow_dispatch");
    c.env("GITHUB_API_URL", gh.url())
        .env("COSIGN_PASSWORD", PASSWORD);
    input(&mut c, "generate-key-pair", "github://acme/app");
    let res = run(&mut c).fails(2, "input `secrets-token` is empty");
    assert_no_leak(&res, &r, &[PASSWORD]);
    // A token the API rejects; a repository that does not exist; a target that is not one.
    for (target, token, needle) in [
        ("github://acme/app", "ghp_wrong_token_value_123456", "401"),
        ("github://acme/nope", SECRETS_TOKEN, "404"),
        ("s3://bucket", SECRETS_TOKEN, "not available"),
    ] {
        let mut c = r.action("workflow_dispatch");
        c.env("GITHUB_API_URL", gh.url())
            .env("COSIGN_PASSWORD", PASSWORD);
        input(&mut c, "generate-key-pair", target);
        input(&mut c, "secrets-token", token);
        let res = run(&mut c);
        assert_ne!(res.code, 0, "{target}: {}", res.all());
        assert!(
            res.all().contains(needle),
            "{target}: wanted {needle:?}:\n{}",
            res.all()
        );
        assert!(res.stdout.contains("::error::"), "{}", res.stdout);
        assert_masks_first(&res, &[PASSWORD, token]);
        assert_no_leak(&res, &r, &[PASSWORD, token]);
    }
    assert!(opened_secrets(&gh).is_empty(), "nothing stored");
}
