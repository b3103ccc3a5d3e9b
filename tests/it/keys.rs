//! generate-key-pair, public-key and cosign key interop, both directions, cosign v2 and v3.

use crate::support::*;
use std::path::Path;

const PW: &str = "correct horse battery";

fn gen(dir: &Path, pw: &str) -> Run {
    run(ferrosign(dir)
        .arg("generate-key-pair")
        .env("COSIGN_PASSWORD", pw))
}

fn cosign_gen(major: u32, dir: &Path, pw: &str) {
    let r = run(cosign(major, dir)
        .arg("generate-key-pair")
        .env("COSIGN_PASSWORD", pw));
    assert_eq!(r.code, 0, "cosign generate-key-pair: {}", r.all());
}

#[test]
fn generate_key_pair_writes_cosign_files() {
    let d = tempdir();
    let r = gen(d.path(), PW).ok();
    assert!(
        r.stderr.contains("Private key written to cosign.key"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stdout, "", "nothing on stdout");
    let key = std::fs::read_to_string(d.path().join("cosign.key")).unwrap();
    assert!(key.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));
    let public = std::fs::read_to_string(d.path().join("cosign.pub")).unwrap();
    assert!(public.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.path().join("cosign.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(!r.all().contains(PW));
    // public-key gives back the same public key
    let p = run(ferrosign(d.path())
        .args(["public-key", "--key", "cosign.key"])
        .env("COSIGN_PASSWORD", PW))
    .ok();
    assert_eq!(p.stdout.trim(), public.trim());
}

#[test]
fn refuses_to_overwrite_without_force() {
    let d = tempdir();
    gen(d.path(), PW).ok();
    let before = std::fs::read(d.path().join("cosign.key")).unwrap();
    gen(d.path(), "other")
        .fails(1, "cosign.key already exists")
        .hint("--force");
    assert_eq!(std::fs::read(d.path().join("cosign.key")).unwrap(), before);
    run(ferrosign(d.path())
        .args(["generate-key-pair", "--force"])
        .env("COSIGN_PASSWORD", "other"))
    .ok();
    assert_ne!(std::fs::read(d.path().join("cosign.key")).unwrap(), before);
    // A prefix writes elsewhere.
    run(ferrosign(d.path())
        .args(["generate-key-pair", "--output-key-prefix", "release"])
        .env("COSIGN_PASSWORD", "x"))
    .ok();
    assert!(d.path().join("release.key").is_file() && d.path().join("release.pub").is_file());
}

#[test]
fn no_password_and_no_terminal_is_a_clear_error() {
    let d = tempdir();
    gen_without_password(d.path())
        .fails(2, "no password for the private key")
        .hint("COSIGN_PASSWORD");
    assert!(!d.path().join("cosign.key").exists() && !d.path().join("cosign.pub").exists());
}

fn gen_without_password(dir: &Path) -> Run {
    run(ferrosign(dir).arg("generate-key-pair"))
}

#[test]
fn our_keys_load_in_cosign_v2_and_v3() {
    for pw in [PW, ""] {
        let d = tempdir();
        gen(d.path(), pw).ok();
        std::fs::write(d.path().join("f.txt"), b"interop").unwrap();
        for major in [2, 3] {
            let mut c = cosign(major, d.path());
            c.args([
                "sign-blob",
                "--key",
                "cosign.key",
                "--tlog-upload=false",
                "--output-signature",
                "c.sig",
            ]);
            if major == 3 {
                c.args(["--use-signing-config=false", "--new-bundle-format=false"]);
            }
            c.arg("f.txt").env("COSIGN_PASSWORD", pw);
            let r = run(&mut c);
            assert_eq!(
                r.code,
                0,
                "cosign v{major} could not use our key (password {pw:?}): {}",
                r.all()
            );
            run(ferrosign(d.path()).args([
                "verify-blob",
                "--key",
                "cosign.pub",
                "--signature",
                "c.sig",
                "f.txt",
            ]))
            .ok();
            let r = run(cosign(major, d.path())
                .args(["public-key", "--key", "cosign.key"])
                .env("COSIGN_PASSWORD", pw));
            assert_eq!(r.code, 0, "{}", r.all());
            assert_eq!(
                r.stdout.trim(),
                std::fs::read_to_string(d.path().join("cosign.pub"))
                    .unwrap()
                    .trim()
            );
        }
    }
}

#[test]
fn cosign_keys_load_in_ferrosign() {
    for major in [2, 3] {
        for pw in [PW, ""] {
            let d = tempdir();
            cosign_gen(major, d.path(), pw);
            let r = run(ferrosign(d.path())
                .args(["public-key", "--key", "cosign.key"])
                .env("COSIGN_PASSWORD", pw))
            .ok();
            assert_eq!(
                r.stdout.trim(),
                std::fs::read_to_string(d.path().join("cosign.pub"))
                    .unwrap()
                    .trim(),
                "cosign v{major}"
            );
            // The older PEM label loads too.
            let key = std::fs::read_to_string(d.path().join("cosign.key")).unwrap();
            std::fs::write(
                d.path().join("old.key"),
                key.replace(
                    "ENCRYPTED SIGSTORE PRIVATE KEY",
                    "ENCRYPTED COSIGN PRIVATE KEY",
                ),
            )
            .unwrap();
            run(ferrosign(d.path())
                .args(["public-key", "--key", "old.key"])
                .env("COSIGN_PASSWORD", pw))
            .ok();
            // From the environment, as the Action passes it.
            run(ferrosign(d.path())
                .args(["public-key", "--key", "env://COSIGN_PRIVATE_KEY"])
                .env("COSIGN_PRIVATE_KEY", &key)
                .env("COSIGN_PASSWORD", pw))
            .ok();
        }
    }
}

/// Makes a cosign-format encrypted P-384 key with `cosign import-key-pair` (cosign imports other curves).
fn p384_key(dir: &Path) {
    p384_pem(dir);
    let r = run(cosign(2, dir)
        .args([
            "import-key-pair",
            "--key",
            "p384.pem",
            "--output-key-prefix",
            "p384",
        ])
        .env("COSIGN_PASSWORD", PW));
    assert_eq!(r.code, 0, "{}", r.all());
}

#[test]
fn bad_keys_get_one_clear_line_and_a_hint() {
    let d = tempdir();
    let p = d.path();
    gen(p, PW).ok();
    std::fs::write(p.join("f.txt"), b"data").unwrap();
    let key = std::fs::read_to_string(p.join("cosign.key")).unwrap();
    let sign = |key: &str, pw: &str| {
        run(ferrosign(p)
            .args(["sign-blob", "--tlog-upload=false", "--key", key, "f.txt"])
            .env("COSIGN_PASSWORD", pw))
    };

    sign("cosign.key", "wrong")
        .fails(2, "wrong password")
        .hint("COSIGN_PASSWORD");
    // truncated
    std::fs::write(p.join("trunc.key"), &key[..key.len() / 2]).unwrap();
    sign("trunc.key", PW)
        .fails(2, "damaged")
        .hint("truncated or altered");
    // corrupted inside the base64 (still valid PEM shape, JSON broken or ciphertext altered)
    let mut lines: Vec<String> = key.lines().map(String::from).collect();
    lines[2] = lines[2].chars().rev().collect();
    std::fs::write(p.join("corrupt.key"), lines.join("\n")).unwrap();
    let r = sign("corrupt.key", PW);
    assert_eq!(
        r.code,
        2,
        "a key that cannot be used is an input error: {}",
        r.all()
    );
    assert!(
        r.stderr.contains("damaged") || r.stderr.contains("wrong password"),
        "{}",
        r.stderr
    );
    // wrong PEM type: the public key where the private key goes
    sign("cosign.pub", PW)
        .fails(2, "`PUBLIC KEY`")
        .hint("that is a public key");
    // P-384, imported into cosign's format by cosign itself, signs (issue 12); a signature that is not
    // one for the key is refused as malformed
    p384_key(p);
    sign("p384.key", PW).ok();
    let pub384 = run(ferrosign(p).args([
        "verify-blob",
        "--key",
        "p384.pub",
        "--signature",
        "AAAA",
        "f.txt",
    ]));
    pub384.fails(1, "malformed");
    // missing file, unreadable (a directory), empty env var, unset env var, not PEM at all
    sign("nope.key", PW)
        .fails(2, "nope.key: no such file")
        .hint("generate-key-pair");
    std::fs::create_dir(p.join("dir.key")).unwrap();
    sign("dir.key", PW).fails(2, "cannot read it");
    run(ferrosign(p)
        .args([
            "sign-blob",
            "--tlog-upload=false",
            "--key",
            "env://COSIGN_PRIVATE_KEY",
            "f.txt",
        ])
        .env("COSIGN_PRIVATE_KEY", "")
        .env("COSIGN_PASSWORD", PW))
    .fails(2, "the key is empty")
    .hint("secret");
    run(ferrosign(p)
        .args([
            "sign-blob",
            "--tlog-upload=false",
            "--key",
            "env://MISSING_VAR",
            "f.txt",
        ])
        .env("COSIGN_PASSWORD", PW))
    .fails(2, "MISSING_VAR is not set");
    std::fs::write(p.join("text.key"), "just some text").unwrap();
    sign("text.key", PW).fails(2, "not PEM");
    // none of these printed the password or key material
    for r in [sign("cosign.key", "wrong"), sign("corrupt.key", PW)] {
        assert!(!r.all().contains(PW));
        assert!(!r.all().contains(&key.lines().nth(1).unwrap()[..20]));
        assert_eq!(
            r.stderr
                .lines()
                .filter(|l| l.starts_with("error: "))
                .count(),
            1,
            "{}",
            r.stderr
        );
    }
}

#[test]
fn usage_errors_exit_2() {
    let d = tempdir();
    let r = run(ferrosign(d.path()).args(["generate-key-pair", "--no-such-flag"]));
    assert_eq!(r.code, 2, "{}", r.all());
    let r = run(ferrosign(d.path()).args(["verify-blob", "--key", "k.pub", "f.txt"]));
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.stderr.contains("--signature or --bundle"), "{}", r.stderr);
    let r = run(ferrosign(d.path()).args(["--help"]));
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("generate-key-pair") && r.stdout.contains("sign-blob"));
}

/// Runs generate-key-pair on a pseudo-terminal (util-linux `script`), typing `input`.
fn gen_on_tty(dir: &Path, input: &str) -> Run {
    use std::io::Write;
    let mut c = std::process::Command::new("script");
    c.current_dir(dir)
        .args([
            "-qec",
            &format!("{} generate-key-pair", bin().display()),
            "/dev/null",
        ])
        .env_remove("COSIGN_PASSWORD")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    loopback_only(&mut c);
    let mut child = c.spawn().expect("script (util-linux)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn prompts_twice_on_a_terminal() {
    let d = tempdir();
    let r = gen_on_tty(d.path(), "typed-pw\ntyped-pw\n");
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout.contains("Enter password for private key again:"),
        "{}",
        r.stdout
    );
    run(ferrosign(d.path())
        .args(["public-key", "--key", "cosign.key"])
        .env("COSIGN_PASSWORD", "typed-pw"))
    .ok();

    let d = tempdir();
    let r = gen_on_tty(d.path(), "one\ntwo\n");
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(
        r.stdout.contains("the passwords do not match"),
        "{}",
        r.stdout
    );
    assert!(!d.path().join("cosign.key").exists());
}
