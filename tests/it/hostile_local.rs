//! Issue 13, the cases that need no registry: hostile local files (`/dev/zero`, or a huge sparse file,
//! as each file ferrosign reads), key files with costly scrypt parameters, and concurrent
//! `generate-key-pair` runs on one prefix. Each case states its exit code, its error line, and a bound
//! on peak memory and wall time (generous bounds, so that a loaded machine does not fail them: they
//! catch reading a file to the end or allocating gigabytes, not slowness). The binary runs under
//! `prlimit --as` ([`AS_CAP`]) and `/usr/bin/time`; each case appends its measured row to
//! `$FERROSIGN_HOSTILE_OUT` (default `.cache/hostile-local.rows.md`) for docs/hostile-local.md.

use crate::support::{ferrosign, run, tempdir};
use base64::Engine;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const PW: &str = "test-password";
/// The address space each measured run may use (1 GiB): a 4 GiB scrypt allocation fails instead of
/// taking the machine.
const AS_CAP: u64 = 1 << 30;
/// Peak RSS bound for the file cases: the largest limit read (the event payload, 25 MiB) plus the
/// binary's own ~20 MiB, with room to spare.
const FILE_RSS_MIB: f64 = 96.0;
/// Wall time bound for every case here: each stops after reading at most its limit (milliseconds);
/// the bound only says "did not read to the end or hang" on a loaded 2-core machine.
const WALL_S: f64 = 20.0;

struct Measured {
    code: i32,
    stdout: String,
    stderr: String,
    rss_mib: f64,
    wall_s: f64,
}

/// Runs `cmd` (a [`ferrosign`] command: clean environment) under the address-space cap and
/// `/usr/bin/time`.
fn measured(cmd: &Command) -> Measured {
    let out = tempdir();
    let time_out = out.path().join("time.txt");
    let mut c = Command::new("prlimit");
    c.arg(format!("--as={AS_CAP}"))
        .arg("--")
        .arg("/usr/bin/time")
        .args(["-f", "%M", "-o"])
        .arg(&time_out);
    let mut c = crate::support::wrapping(c, cmd);
    let started = Instant::now();
    let r = run(&mut c);
    let wall_s = started.elapsed().as_secs_f64();
    let time = std::fs::read_to_string(&time_out).unwrap_or_default();
    let rss_kib: f64 = time
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(f64::NAN);
    Measured {
        code: r.code,
        stdout: r.stdout,
        stderr: r.stderr,
        rss_mib: rss_kib / 1024.0,
        wall_s,
    }
}

/// Checks a measured case and appends its row (case, exit, error line, peak RSS, wall).
#[track_caller]
fn check(case: &str, test: &str, m: &Measured, code: i32, needles: &[&str], rss_mib: f64) {
    let error = m
        .stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_default()
        .to_string();
    crate::support::append_row(
        "FERROSIGN_HOSTILE_OUT",
        "hostile-local.rows.md",
        &format!(
            "| {case} | {} | `{}` | {:.0} MiB | {:.2} s |\n",
            m.code,
            error.replace('|', "\\|"),
            m.rss_mib,
            m.wall_s
        ),
    );
    assert_eq!(m.code, code, "{case}: exit code\n{}", m.stderr);
    crate::support::bounded(
        case,
        test,
        m.code,
        crate::support::Usage {
            rss_mib: m.rss_mib,
            wall_s: m.wall_s,
        },
        rss_mib,
        WALL_S,
    );
    for n in needles {
        assert!(
            error.contains(n),
            "{case}: error line lacks {n:?}:\n{}",
            m.stderr
        );
    }
    assert!(
        m.stderr.lines().any(|l| l.starts_with("hint: ")),
        "{case}: no hint:\n{}",
        m.stderr
    );
}

fn fs(dir: &Path) -> Command {
    let mut c = ferrosign(dir);
    c.env("COSIGN_PASSWORD", PW)
        .env("DOCKER_CONFIG", dir.join("no-docker-config"));
    c
}

/// A sparse file of `len` zero bytes (a regular file, unlike `/dev/zero`; takes no disk).
fn sparse(dir: &Path, name: &str, len: u64) -> PathBuf {
    let p = dir.join(name);
    std::fs::File::create(&p).unwrap().set_len(len).unwrap();
    p
}

/// Every local file ferrosign reads, as `/dev/zero` (or a 4 GiB sparse file where only a regular file
/// is read): refused after its limit, named in the error, in bounded memory and time.
#[test]
fn endless_local_files_stop_at_their_named_limit() {
    let d = tempdir();
    let p = d.path();
    run(fs(p).args(["generate-key-pair", "--output-key-prefix", "k"])).ok();
    std::fs::write(p.join("f.txt"), "hello\n").unwrap();
    run(fs(p).args([
        "sign-blob",
        "--key",
        "k.key",
        "--tlog-upload=false",
        "--bundle",
        "b.json",
        "f.txt",
    ]))
    .ok();
    let huge = sparse(p, "huge", 4 << 30);

    let m = measured(fs(p).args(["public-key", "--key", "/dev/zero"]));
    check(
        "`public-key --key /dev/zero`",
        "hostile_local::endless_local_files_stop_at_their_named_limit",
        &m,
        2,
        &["64 KiB"],
        FILE_RSS_MIB,
    );

    let m = measured(fs(p).args([
        "verify-blob",
        "f.txt",
        "--key",
        "k.pub",
        "--bundle",
        "/dev/zero",
    ]));
    check(
        "`verify-blob --bundle /dev/zero`",
        "hostile_local::endless_local_files_stop_at_their_named_limit",
        &m,
        2,
        &["16 MiB", "bundle"],
        FILE_RSS_MIB,
    );

    let m = measured(fs(p).args([
        "verify-blob",
        "f.txt",
        "--bundle",
        "b.json",
        "--certificate-identity",
        "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main",
        "--certificate-oidc-issuer",
        "https://token.actions.githubusercontent.com",
        "--trusted-root",
        "/dev/zero",
    ]));
    check(
        "`verify-blob --trusted-root /dev/zero`",
        "hostile_local::endless_local_files_stop_at_their_named_limit",
        &m,
        2,
        &["4 MiB", "trusted root"],
        FILE_RSS_MIB,
    );

    let m = measured(fs(p).args([
        "sign-blob",
        "--key",
        "k.key",
        "--signing-config",
        "/dev/zero",
        "--bundle",
        "c.json",
        "f.txt",
    ]));
    check(
        "`sign-blob --signing-config /dev/zero`",
        "hostile_local::endless_local_files_stop_at_their_named_limit",
        &m,
        2,
        &["1 MiB", "signing config"],
        FILE_RSS_MIB,
    );

    let m = measured(fs(p).args([
        "initialize",
        "--mirror",
        "http://127.0.0.1:1",
        "--root",
        "/dev/zero",
    ]));
    check(
        "`initialize --root /dev/zero`",
        "hostile_local::endless_local_files_stop_at_their_named_limit",
        &m,
        2,
        &["TUF root files"],
        FILE_RSS_MIB,
    );

    let m = measured(fs(p).args([
        "verify-blob",
        "f.txt",
        "--key",
        "k.pub",
        "--signature",
        huge.to_str().unwrap(),
    ]));
    check(
        "`verify-blob --signature` a 4 GiB file",
        "hostile_local::endless_local_files_stop_at_their_named_limit",
        &m,
        2,
        &["64 KiB", "signature file"],
        FILE_RSS_MIB,
    );

    // The event payload is read to tell whether the repository is private (keyless signing).
    let mut c = fs(p);
    c.env("GITHUB_EVENT_PATH", "/dev/zero").args([
        "sign-blob",
        "--identity-token",
        "not-a-token",
        "--fulcio-url",
        "http://127.0.0.1:1",
        "--rekor-url",
        "http://127.0.0.1:1",
        "--bundle",
        "x.json",
        "f.txt",
    ]);
    let m = measured(&c);
    check(
        "`GITHUB_EVENT_PATH=/dev/zero`",
        "hostile_local::endless_local_files_stop_at_their_named_limit",
        &m,
        2,
        &["25 MiB", "event payload"],
        FILE_RSS_MIB,
    );

    // A kubeconfig of 4 GiB, and a kubeconfig whose CA file never ends.
    let mut c = fs(p);
    c.env("KUBECONFIG", &huge)
        .args(["generate-key-pair", "k8s://ns/name"]);
    let m = measured(&c);
    check(
        "`KUBECONFIG` a 4 GiB file",
        "hostile_local::endless_local_files_stop_at_their_named_limit",
        &m,
        2,
        &["16 MiB", "kubeconfig"],
        FILE_RSS_MIB,
    );
    let kc = p.join("kubeconfig");
    std::fs::write(
        &kc,
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n\
         contexts: [{name: c, context: {cluster: k, user: u}}]\n\
         clusters: [{name: k, cluster: {server: 'https://127.0.0.1:1', certificate-authority: /dev/zero}}]\n\
         users: [{name: u, user: {token: abc}}]\n",
    )
    .unwrap();
    let mut c = fs(p);
    c.env("KUBECONFIG", &kc)
        .args(["generate-key-pair", "k8s://ns/name"]);
    let m = measured(&c);
    check(
        "kubeconfig `certificate-authority: /dev/zero`",
        "hostile_local::endless_local_files_stop_at_their_named_limit",
        &m,
        2,
        &["1 MiB", "certificate file"],
        FILE_RSS_MIB,
    );
}

/// The docker config the registry client reads for credentials (`$DOCKER_CONFIG/config.json`), over
/// its limit (`fsutil::DOCKER_CONFIG_FILE`, 4 MiB): a valid config padded past 4 MiB, and `/dev/zero`.
/// The registry (Debian's docker-registry with htpasswd) asks for credentials, so the file is read:
/// exit 2, the error names the limit, and nothing of the file's content (its password, its padding)
/// is printed; bounded memory and time.
#[test]
fn an_oversized_docker_config_stops_at_its_named_limit() {
    let reg = crate::support::registry::TestRegistry::start_with_auth("octocat", "registry-pw-1");
    let digest = reg.push_image("acme/app", "v1", "oversized-docker-config");
    let d = tempdir();
    let p = d.path();
    run(fs(p).args(["generate-key-pair", "--output-key-prefix", "k"])).ok();
    let secret = "docker-config-content-7781";
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("octocat:{secret}"));
    let padding = secret.repeat((4 << 20) / secret.len() + 1);
    let big = p.join("big");
    std::fs::create_dir(&big).unwrap();
    std::fs::write(
        big.join("config.json"),
        format!(
            r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}},"padding":"{padding}"}}"#,
            reg.addr
        ),
    )
    .unwrap();
    let zero = p.join("zero");
    std::fs::create_dir(&zero).unwrap();
    std::os::unix::fs::symlink("/dev/zero", zero.join("config.json")).unwrap();
    for (case, dir) in [
        ("docker config padded past 4 MiB", &big),
        ("docker config `config.json -> /dev/zero`", &zero),
    ] {
        let mut c = fs(p);
        c.env("DOCKER_CONFIG", dir).args([
            "verify",
            "--key",
            "k.pub",
            &format!("{}/acme/app@{digest}", reg.addr),
        ]);
        let m = measured(&c);
        check(
            case,
            "hostile_local::an_oversized_docker_config_stops_at_its_named_limit",
            &m,
            2,
            &["4 MiB", "the limit for docker configs"],
            FILE_RSS_MIB,
        );
        for out in [&m.stdout, &m.stderr] {
            assert!(
                !out.contains(secret) && !out.contains(&auth) && !out.contains("padding"),
                "{case}: the config's content was printed:\n{out}"
            );
        }
    }
}

/// A cosign key file whose scrypt parameters ask for 4 GiB (N=2^20, r=32) or 16 passes (p=16): refused
/// before any derivation, naming the parameters, in bounded memory and time (cosign reads only
/// N = 2^15…2^17 with r = 8, p = 1).
#[test]
fn costly_scrypt_parameters_are_refused_before_any_work() {
    let d = tempdir();
    let p = d.path();
    run(fs(p).args(["generate-key-pair", "--output-key-prefix", "k"])).ok();
    let pem = std::fs::read_to_string(p.join("k.key")).unwrap();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut envelope: serde_json::Value =
        serde_json::from_slice(&b64.decode(body).unwrap()).unwrap();
    for (name, n, r, par) in [("n20-r32", 1u64 << 20, 32, 1), ("p16", 1 << 16, 8, 16)] {
        envelope["kdf"]["params"] = serde_json::json!({"N": n, "r": r, "p": par});
        let text = b64.encode(serde_json::to_vec(&envelope).unwrap());
        let lines: Vec<&str> = text
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        std::fs::write(
            p.join(format!("{name}.key")),
            format!(
                "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n{}\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n",
                lines.join("\n")
            ),
        )
        .unwrap();
        let m = measured(fs(p).args(["public-key", "--key", &format!("{name}.key")]));
        check(
            &format!("key file with scrypt N={n} r={r} p={par}"),
            "hostile_local::costly_scrypt_parameters_are_refused_before_any_work",
            &m,
            2,
            &["scrypt parameters"],
            FILE_RSS_MIB,
        );
    }
}

/// Eight `generate-key-pair` runs at once on one prefix, without `--force`: exactly one writes the
/// pair, the seven others fail naming the file that exists, and the pair on disk belongs together.
#[test]
fn concurrent_generate_key_pair_runs_claim_the_files_once() {
    let d = tempdir();
    let p = d.path();
    let times = tempdir();
    let children: Vec<_> = (0..8)
        .map(|i| {
            let mut c = fs(p);
            c.args(["generate-key-pair", "--output-key-prefix", "race"]);
            crate::support::under_time(&c, &times.path().join(format!("{i}.txt")))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let usages: Vec<_> = (0..8)
        .map(|i| crate::support::usage_of(&times.path().join(format!("{i}.txt"))))
        .collect();
    let ok = outs.iter().filter(|o| o.status.success()).count();
    crate::support::bounded(
        "8 concurrent `generate-key-pair` on one prefix (the worst of the 8 runs)",
        "hostile_local::concurrent_generate_key_pair_runs_claim_the_files_once",
        format!("0 ×{ok}, 1 ×{}", 8 - ok),
        crate::support::worst(&usages),
        FILE_RSS_MIB,
        WALL_S,
    );
    assert_eq!(ok, 1, "exactly one run succeeds: {outs:?}");
    for o in outs.iter().filter(|o| !o.status.success()) {
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(err.contains("already exists"), "{err}");
        assert!(!err.contains("Private key written"), "{err}");
    }
    let public = std::fs::read_to_string(p.join("race.pub")).unwrap();
    let derived = run(fs(p).args(["public-key", "--key", "race.key"])).ok();
    assert_eq!(derived.stdout.trim(), public.trim());
    // nothing else was left in the directory (no temporary files)
    let mut names: Vec<String> = std::fs::read_dir(p)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["race.key", "race.pub"]);
}

/// Hostile Sigstore services: the Actions token service, Fulcio or Rekor answering 200 with a body
/// that goes on for 1 GiB (with or without a declared `Content-Length`). Each answer is cut off at its
/// limit ([`ferrosign`]'s `net::TOKEN_ANSWER` 64 KiB, `FULCIO_ANSWER` 1 MiB, `REKOR_ANSWER` 4 MiB),
/// named in the error: exit 1, bounded memory and time, nothing written.
#[test]
fn endless_sigstore_answers_stop_at_their_named_limit() {
    let d = tempdir();
    let p = d.path();
    std::fs::write(p.join("f.txt"), "hostile services\n").unwrap();
    for (fault, needles) in [
        ("huge-answer=oidc", ["64 KiB", "token service answers"]),
        ("huge-answer-declared=fulcio", ["1 MiB", "Fulcio answers"]),
        ("huge-answer=fulcio", ["1 MiB", "Fulcio answers"]),
        ("huge-answer=rekor", ["4 MiB", "Rekor answers"]),
    ] {
        let fake = crate::sigstore_fake::FakeSigstore::start(&[fault]);
        let url = fake.url();
        let mut c = fs(p);
        if fault.ends_with("oidc") {
            for (k, v) in fake.actions_env() {
                c.env(k, v);
            }
        } else {
            c.env("SIGSTORE_ID_TOKEN", fake.get("token"));
        }
        c.args(["sign-blob", "--fulcio-url", &url, "--rekor-url", &url])
            .arg("--trusted-root")
            .arg(fake.trusted_root())
            .args(["--bundle", "b.json", "f.txt"]);
        let m = measured(&c);
        check(
            &format!("Sigstore fault `{fault}` (1 GiB answer)"),
            "hostile_local::endless_sigstore_answers_stop_at_their_named_limit",
            &m,
            1,
            &needles,
            FILE_RSS_MIB,
        );
        assert!(!p.join("b.json").exists(), "{fault}: a bundle was written");
    }
}
