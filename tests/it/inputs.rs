//! Issue 12, "accept what cosign accepts": the table-driven test of docs/inputs.md §12. Each row feeds one
//! form of an input to cosign v2.6.5, cosign v3.1.3 and ferrosign and asserts the decision the matrix
//! records for each (`Accept`/`Refuse`; the rows where ferrosign differs on purpose say so in their
//! `why`), and where a form is accepted, that each verifies what the others produced.
//!
//! Row ids are the matrix's (A1a, A3k, …): a failing assertion names the row, the tool and what it said.

use crate::secrets::Peer;
use crate::support::registry::TestRegistry;
use crate::support::*;
use base64::Engine;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

const PW: &str = "inputs-pw";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum D {
    Accept,
    Refuse,
}
use D::{Accept, Refuse};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tool {
    V2,
    V3,
    Fs,
}
use Tool::{Fs, V2, V3};
const TOOLS: [Tool; 3] = [V2, V3, Fs];

/// The expected decisions of cosign v2, cosign v3 and ferrosign.
type Want = [D; 3];
const ALL: Want = [Accept, Accept, Accept];
const NONE: Want = [Refuse, Refuse, Refuse];

fn want_of(want: Want, tool: Tool) -> D {
    match tool {
        V2 => want[0],
        V3 => want[1],
        Fs => want[2],
    }
}

/// A command of `tool` in `dir` (clean environment, loopback only).
fn tool(t: Tool, dir: &Path) -> Command {
    match t {
        V2 => cosign(2, dir),
        V3 => cosign(3, dir),
        Fs => ferrosign(dir),
    }
}

/// cosign v2.6.5 reads the Sigstore bundle ferrosign's default format (`both`) attaches to an image,
/// and asks for a trusted root for it even with `--key --insecure-ignore-tlog` ("trusted root is
/// required when using new bundle format"): `root` (any trusted root: a key signature without a log
/// entry does not use it) goes to cosign v2's `verify`.
fn v2_root<'c>(t: Tool, c: &'c mut Command, root: &Path) -> &'c mut Command {
    if t == V2 {
        c.arg("--trusted-root").arg(root);
    }
    c
}

/// Asserts the decision of one tool on one row.
#[track_caller]
fn decided(id: &str, t: Tool, want: D, r: &Run) {
    assert!(
        !r.stderr.contains("panicked") || t != Fs,
        "{id}: ferrosign panicked:\n{}",
        r.stderr
    );
    match want {
        Accept => assert_eq!(
            r.code, 0,
            "{id}: {t:?} should accept\nstdout:\n{}\nstderr:\n{}",
            r.stdout, r.stderr
        ),
        Refuse => {
            assert_ne!(
                r.code, 0,
                "{id}: {t:?} should refuse\nstdout:\n{}\nstderr:\n{}",
                r.stdout, r.stderr
            );
            if t == Fs {
                assert_eq!(
                    r.stderr
                        .lines()
                        .filter(|l| l.starts_with("error: "))
                        .count(),
                    1,
                    "{id}: one error line\n{}",
                    r.stderr
                );
            }
        }
    }
}

/// Runs with `input` on stdin (a pipe).
fn run_stdin(cmd: &mut Command, input: &[u8]) -> Run {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    {
        let mut stdin = child.stdin.take().expect("stdin");
        let _ = stdin.write_all(input);
    }
    let out = child.wait_with_output().expect("wait");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `sign-blob` with a key and no log, as each tool is told to (cosign v3 needs the old formats for a
/// bare signature file).
fn sign_blob(t: Tool, dir: &Path, key: &str, file: &str, out: &str) -> Command {
    let mut c = tool(t, dir);
    c.args(["sign-blob", "--key", key, "--tlog-upload=false"]);
    if t == V3 {
        c.args(["--use-signing-config=false", "--new-bundle-format=false"]);
    }
    c.args(["--output-signature", out, file]);
    c
}

/// `verify-blob` with a key and a signature (no log entry to look for).
fn verify_blob(t: Tool, dir: &Path, key: &str, sig: &str, file: &str) -> Command {
    let mut c = tool(t, dir);
    c.args([
        "verify-blob",
        "--key",
        key,
        "--insecure-ignore-tlog",
        "--signature",
        sig,
        file,
    ]);
    c
}

/// `verify --key KEY --insecure-ignore-tlog --allow-http-registry EXTRA… IMAGE` for tool `t` (the
/// image signatures of these rows carry no log entry), run in `dir`.
fn verify_image_with_key(t: Tool, dir: &Path, key: &str, extra: &[&str], image: &str) -> Command {
    verify_with_key(tool(t, dir), key, extra, image)
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) {
    std::fs::write(dir.join(name), bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .expect("base64")
}

/// A key pair made by `t` with `password` (as bytes: a non-UTF-8 one too), as PREFIX.key/PREFIX.pub.
fn keypair(t: Tool, dir: &Path, prefix: &str, password: &[u8]) {
    use std::os::unix::ffi::OsStrExt;
    let r = run(tool(t, dir)
        .args(["generate-key-pair", "--output-key-prefix", prefix])
        .env("COSIGN_PASSWORD", std::ffi::OsStr::from_bytes(password)));
    assert_eq!(r.code, 0, "{t:?} generate-key-pair: {}", r.all());
}

// ---------------------------------------------------------------------------------------------------
// A1: annotations

/// A1a–A1i on `sign` (cosign: `--upload=false --output-payload`; ferrosign signs into a registry and the
/// payload is read back), and A1j on `verify -a`.
#[test]
fn a1_annotations() {
    let dir = tempdir();
    let d = dir.path();
    let reg = TestRegistry::start();
    let digest = reg.push_image("acme/app", "v1", "a1");
    let image = format!("{}/acme/app@{digest}", reg.addr);
    keypair(Fs, d, "k", PW.as_bytes());
    let fake = crate::sigstore_fake::FakeSigstore::start(&[]);
    let root = fake.trusted_root();
    type Map = &'static [(&'static str, &'static str)];
    let rows: &[(&str, &[&str], Want, Map, &str)] = &[
        (
            "A1a",
            &["-a", "url=https://ci.example/run?id=42"],
            [Refuse, Accept, Accept],
            &[("url", "https://ci.example/run?id=42")],
            "cosign v2 splits at every `=`; v3 and ferrosign at the first",
        ),
        (
            "A1b",
            &["-a", "a=1,b=2"],
            ALL,
            &[("a", "1"), ("b", "2")],
            "",
        ),
        (
            "A1c",
            &["-a", "a=1", "-a", "b=2"],
            ALL,
            &[("a", "1"), ("b", "2")],
            "",
        ),
        ("A1d", &["-a", "\"note=x,y\""], ALL, &[("note", "x,y")], ""),
        ("A1e", &["-a", "k="], ALL, &[("k", "")], ""),
        (
            "A1f",
            &["-a", "=v"],
            [Accept, Accept, Refuse],
            &[("", "v")],
            "refused on purpose: a pair without a key",
        ),
        ("A1g", &["-a", "novalue"], NONE, &[], ""),
        ("A1h", &["-a", "k=v", "-a", "k=w"], ALL, &[("k", "w")], ""),
        ("A1i", &["--annotations=k=v"], ALL, &[("k", "v")], ""),
        (
            "A1i",
            &["-ak=v"],
            [Refuse, Refuse, Accept],
            &[("k", "v")],
            "kept beyond cosign: cosign reads `-ak=v` as the deprecated long form `--ak=v`",
        ),
    ];
    for (i, (id, args, want, map, _why)) in rows.iter().enumerate() {
        let expected: serde_json::Map<String, serde_json::Value> = map
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
            .collect();
        for t in [V2, V3] {
            let out = format!("p{i}-{t:?}.json");
            let mut c = tool(t, d);
            c.env("COSIGN_PASSWORD", PW).args([
                "sign",
                "--key",
                "k.key",
                "--upload=false",
                "--tlog-upload=false",
                "--allow-http-registry",
                "--output-payload",
                &out,
            ]);
            if t == V3 {
                c.args(["--new-bundle-format=false", "--use-signing-config=false"]);
            }
            let r = run(c.args(*args).arg(&image));
            decided(id, t, want_of(*want, t), &r);
            if want_of(*want, t) == Accept {
                let p: serde_json::Value = serde_json::from_str(&read(d, &out)).unwrap();
                assert_eq!(
                    p["optional"],
                    serde_json::Value::Object(expected.clone()),
                    "{id} {t:?}"
                );
            }
        }
        let before = reg.sig_payloads("acme/app", &digest).len();
        let r = run(ferrosign(d)
            .env("COSIGN_PASSWORD", PW)
            .args([
                "sign",
                "--key",
                "k.key",
                "--tlog-upload=false",
                "--allow-http-registry",
            ])
            .args(*args)
            .arg(&image));
        decided(id, Fs, want_of(*want, Fs), &r);
        if want_of(*want, Fs) == Accept {
            // the payload ferrosign stored carries the same map cosign v3 wrote
            let payloads = reg.sig_payloads("acme/app", &digest);
            assert!(payloads.len() > before || !expected.is_empty(), "{id}");
            let ours = payloads
                .iter()
                .map(|p| serde_json::from_str::<serde_json::Value>(p).unwrap())
                .find(|p| p["optional"] == serde_json::Value::Object(expected.clone()));
            assert!(
                ours.is_some(),
                "{id}: no payload with {expected:?} in {payloads:?}"
            );
        }
    }
    // A1j: `verify -a` asks for a subset; each tool verifies what ferrosign signed above.
    for t in TOOLS {
        let ok = run(v2_root(
            t,
            &mut verify_image_with_key(t, d, "k.pub", &["-a", "a=1", "-a", "b=2"], &image),
            &root,
        ));
        decided("A1j", t, Accept, &ok);
        let bad = run(v2_root(
            t,
            &mut verify_image_with_key(t, d, "k.pub", &["-a", "a=2"], &image),
            &root,
        ));
        // cosign v2.6.5 reads the image's Sigstore bundle (ferrosign's default `both` attaches one)
        // and checks no annotations there: `verifyImageAttestationsSigstoreBundle` (pkg/cosign/
        // verify.go) has no claim verifier, so `-a a=2` passes although nothing signed says a=2.
        decided("A1j", t, want_of([Accept, Refuse, Refuse], t), &bad);
    }
    // A1a on verify: cosign v2 refuses the form; v3 and ferrosign find the pair.
    for t in TOOLS {
        let r = run(v2_root(
            t,
            &mut verify_image_with_key(
                t,
                d,
                "k.pub",
                &["-a", "url=https://ci.example/run?id=42"],
                &image,
            ),
            &root,
        ));
        decided("A1a verify", t, want_of([Refuse, Accept, Accept], t), &r);
    }
}

// ---------------------------------------------------------------------------------------------------
// A2: passwords

/// No `COSIGN_PASSWORD` and a terminal on stdin (a pseudo-terminal of util-linux `script`): the
/// password is asked on the terminal, as cosign asks it; the right one signs, a wrong one is refused
/// (issue 16: `Ui::prompt_password`, docs/mutants.md run 7).
#[test]
fn a2_the_password_is_asked_on_a_terminal() {
    let d = tempdir();
    let p = d.path();
    key_pair(p, PW);
    std::fs::write(p.join("f.txt"), "hello\n").expect("write");
    let typed = |password: &str| {
        let mut inner = ferrosign(p);
        inner.args([
            "sign-blob",
            "--key",
            "cosign.key",
            "--tlog-upload=false",
            "f.txt",
        ]);
        let line = std::iter::once(inner.get_program())
            .chain(inner.get_args())
            .map(|a| format!("'{}'", a.to_string_lossy()))
            .collect::<Vec<_>>()
            .join(" ");
        let mut script = Command::new("script");
        script
            .args(["-qec", &line, "/dev/null"])
            .current_dir(p)
            .env_clear()
            .envs(inner.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))));
        run_stdin(&mut script, format!("{password}\n").as_bytes())
    };
    let ok = typed(PW);
    assert_eq!(ok.code, 0, "{}", ok.all());
    assert!(
        ok.stdout.contains("Enter password for private key: "),
        "{}",
        ok.all()
    );
    let wrong = typed("not-the-password");
    assert_ne!(wrong.code, 0, "{}", wrong.all());
    assert!(
        wrong.stdout.contains("Enter password for private key: "),
        "{}",
        wrong.all()
    );
}

/// No `COSIGN_PASSWORD` and `/dev/null` on stdin: no password, even for a key whose password is empty
/// (`/dev/null` is neither a terminal to ask on nor a pipe or file to read; cosign v2.6.5 refuses too,
/// "reading key: inappropriate ioctl for device"). Issue 16: `stdin_is_pipe_or_file`, docs/mutants.md
/// run 7.
#[test]
fn a2_dev_null_gives_no_password_even_for_an_empty_one() {
    let d = tempdir();
    let p = d.path();
    key_pair(p, "");
    std::fs::write(p.join("f.txt"), "hello\n").expect("write");
    run(ferrosign(p).args([
        "sign-blob",
        "--key",
        "cosign.key",
        "--tlog-upload=false",
        "f.txt",
    ]))
    .fails(2, "no password for the private key")
    .hint("COSIGN_PASSWORD");
    // the same key with the empty password given
    run(ferrosign(p)
        .args([
            "sign-blob",
            "--key",
            "cosign.key",
            "--tlog-upload=false",
            "f.txt",
        ])
        .env("COSIGN_PASSWORD", ""))
    .ok();
}

/// The password forms of A2, on `sign-blob --tlog-upload=false` with keys made by cosign v2, v3 and
/// ferrosign.
#[test]
fn a2_passwords() {
    let dir = tempdir();
    let d = dir.path();
    write(d, "f.txt", "password forms\n");
    let odd: &[u8] = b"\xff\xfe-not-utf8";
    for maker in TOOLS {
        keypair(maker, d, &format!("pw-{maker:?}"), PW.as_bytes());
        keypair(maker, d, &format!("empty-{maker:?}"), b"");
        keypair(maker, d, &format!("odd-{maker:?}"), odd);
    }
    // (id, key prefix, COSIGN_PASSWORD, stdin, decisions)
    enum In {
        Pipe(&'static [u8]),
        DevNull,
    }
    type Row<'a> = (&'a str, &'a str, Option<&'a [u8]>, In, Want);
    let rows: Vec<Row<'_>> = vec![
        ("A2a", "pw", None, In::Pipe(PW.as_bytes()), ALL),
        ("A2b", "pw", None, In::Pipe(b"inputs-pw\n"), NONE),
        ("A2c", "pw", Some(b""), In::DevNull, NONE),
        ("A2d", "empty", Some(b""), In::DevNull, ALL),
        ("A2e", "odd", Some(b"\xff\xfe-not-utf8"), In::DevNull, ALL),
        ("A2f", "odd", None, In::Pipe(b"\xff\xfe-not-utf8"), ALL),
        ("A2g", "pw", Some(PW.as_bytes()), In::Pipe(b"wrong"), ALL),
        ("A2h", "pw", None, In::DevNull, NONE),
        ("A2i", "empty", None, In::Pipe(b""), ALL),
    ];
    for (id, prefix, env_pw, input, want) in &rows {
        for maker in TOOLS {
            for t in TOOLS {
                let out = format!("{id}-{maker:?}-{t:?}.sig");
                let mut c = sign_blob(t, d, &format!("{prefix}-{maker:?}.key"), "f.txt", &out);
                if let Some(p) = env_pw {
                    use std::os::unix::ffi::OsStrExt;
                    c.env("COSIGN_PASSWORD", std::ffi::OsStr::from_bytes(p));
                }
                let r = match input {
                    In::Pipe(bytes) => run_stdin(&mut c, bytes),
                    In::DevNull => run(&mut c),
                };
                let label = format!("{id} (key by {maker:?})");
                decided(&label, t, want_of(*want, t), &r);
                if want_of(*want, t) == Accept && *id == "A2a" {
                    // every tool verifies every signature
                    for v in TOOLS {
                        let r = run(&mut verify_blob(
                            v,
                            d,
                            &format!("{prefix}-{maker:?}.pub"),
                            &out,
                            "f.txt",
                        ));
                        decided(&format!("{label} signed by {t:?}"), v, Accept, &r);
                    }
                }
                if *id == "A2b" && t == Fs {
                    r.clone_hint_check("newline");
                }
            }
        }
    }
    // A2k: generate-key-pair with the password on stdin (read once); every tool loads every result.
    for maker in TOOLS {
        let prefix = format!("stdin-{maker:?}");
        let r = run_stdin(
            tool(maker, d).args(["generate-key-pair", "--output-key-prefix", &prefix]),
            PW.as_bytes(),
        );
        decided("A2k", maker, Accept, &r);
        for t in TOOLS {
            let r = run(tool(t, d)
                .args(["public-key", "--key", &format!("{prefix}.key")])
                .env("COSIGN_PASSWORD", PW));
            decided(&format!("A2k (key by {maker:?})"), t, Accept, &r);
            assert_eq!(
                r.stdout.trim(),
                read(d, &format!("{prefix}.pub")).trim(),
                "A2k {maker:?} {t:?}"
            );
        }
    }
}

trait HintCheck {
    fn clone_hint_check(&self, needle: &str);
}

impl HintCheck for Run {
    #[track_caller]
    fn clone_hint_check(&self, needle: &str) {
        let hint = self.stderr.lines().find(|l| l.starts_with("hint: "));
        assert!(
            hint.is_some_and(|h| h.contains(needle)),
            "hint lacks {needle:?}:\n{}",
            self.stderr
        );
    }
}

// ---------------------------------------------------------------------------------------------------
// A3: PEM text

/// The PEM variants of A3, of any PEM block.
fn pem_variant(id: &str, pem: &str) -> String {
    let lines: Vec<&str> = pem.trim_end().lines().collect();
    let (begin, end) = (lines[0], lines[lines.len() - 1]);
    let body: String = lines[1..lines.len() - 1].concat();
    let wrap = |w: usize| -> String {
        body.as_bytes()
            .chunks(w)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let block = |body: &str| format!("{begin}\n{body}\n{end}\n");
    match id {
        "A3a" => block(&wrap(76)),
        "A3b" => block(&wrap(40)),
        "A3c" => block(&body),
        "A3d" => block(&wrap(64)).replace('\n', "\r\n"),
        "A3e" => block(&wrap(64)).trim_end().to_string(),
        "A3f" => format!("my key:\n{}", block(&wrap(64))),
        "A3g" => format!("{}trailing text\n", block(&wrap(64))),
        "A3h" => block(&wrap(64)).repeat(2),
        "A3i" => format!("{begin}\nComment: x\n\n{}\n{end}\n", wrap(64)),
        "A3j" => block(&wrap(64).replacen('\n', "\n\n", 1)),
        "A3k" => block(&wrap(64).replace('\n', "\n \t")),
        "A3l" => block(&wrap(64))
            .lines()
            .map(|l| format!("  {l}\n"))
            .collect(),
        "A3m" => format!("{begin}{body}{end}"),
        "A3n" => format!("\u{feff}{}", block(&wrap(64))),
        "A3o" => block(&wrap(64).replacen(|c: char| c.is_ascii_alphabetic(), "!", 1)),
        "A3p" => block(&wrap(64)).replace(end, &end.replace("KEY", "KEYS")),
        other => panic!("no variant {other}"),
    }
}

/// A3a–A3p: the same PEM variants of cosign-made and ferrosign-made private and public keys, loaded by
/// `public-key --key` and `verify-blob --key` in each tool.
#[test]
fn a3_pem_variants() {
    let dir = tempdir();
    let d = dir.path();
    write(d, "f.txt", "pem forms\n");
    let accepted = [
        "A3a", "A3b", "A3c", "A3d", "A3e", "A3f", "A3g", "A3h", "A3i", "A3j", "A3k",
    ];
    let refused = ["A3l", "A3m", "A3n", "A3o", "A3p"];
    for maker in [V2, Fs] {
        let prefix = format!("k-{maker:?}");
        keypair(maker, d, &prefix, PW.as_bytes());
        let sig = format!("{prefix}.sig");
        run(sign_blob(Fs, d, &format!("{prefix}.key"), "f.txt", &sig).env("COSIGN_PASSWORD", PW))
            .ok();
        let key = read(d, &format!("{prefix}.key"));
        let public = read(d, &format!("{prefix}.pub"));
        for (ids, want) in [(&accepted[..], ALL), (&refused[..], NONE)] {
            for id in ids {
                let kv = format!("{id}-{prefix}.key");
                let pv = format!("{id}-{prefix}.pub");
                write(d, &kv, pem_variant(id, &key));
                write(d, &pv, pem_variant(id, &public));
                for t in TOOLS {
                    let label = format!("{id} private key by {maker:?}");
                    let r = run(tool(t, d)
                        .args(["public-key", "--key", &kv])
                        .env("COSIGN_PASSWORD", PW));
                    decided(&label, t, want_of(want, t), &r);
                    if want_of(want, t) == Accept {
                        assert_eq!(r.stdout.trim(), public.trim(), "{label} {t:?}");
                    }
                    let r = run(&mut verify_blob(t, d, &pv, &sig, "f.txt"));
                    decided(
                        &format!("{id} public key by {maker:?}"),
                        t,
                        want_of(want, t),
                        &r,
                    );
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// A4: signature forms

/// A4a–A4j, A4l, A4m: the forms of `verify-blob --signature`.
#[test]
fn a4_signature_forms() {
    let dir = tempdir();
    let d = dir.path();
    keypair(V2, d, "k", PW.as_bytes());
    // A signature by cosign v2 whose base64 has `=` padding and a `+` or `/` (for A4f).
    let mut found = None;
    for i in 0..40 {
        let f = format!("f{i}.txt");
        write(d, &f, format!("signature forms {i}\n"));
        run(sign_blob(V2, d, "k.key", &f, "try.sig").env("COSIGN_PASSWORD", PW)).ok();
        let s = read(d, "try.sig");
        if s.ends_with('=') && s.contains(['+', '/']) {
            found = Some((f, s));
            break;
        }
    }
    let (file, sig) = found.expect("a cosign signature with padding and + or /");
    let der = unb64(&sig);
    // raw DER as `sign-blob --b64=false` writes it, from each signer
    for t in TOOLS {
        let mut c = tool(t, d);
        c.env("COSIGN_PASSWORD", PW).args([
            "sign-blob",
            "--key",
            "k.key",
            "--tlog-upload=false",
            "--b64=false",
        ]);
        if t == V3 {
            c.args(["--use-signing-config=false", "--new-bundle-format=false"]);
        }
        let r = run(c.args(["--output-signature", &format!("raw-{t:?}.sig"), &file]));
        decided("F15 (--b64=false)", t, Accept, &r);
        assert!(
            std::fs::read(d.join(format!("raw-{t:?}.sig"))).unwrap()[0] == 0x30,
            "F15: {t:?} wrote DER"
        );
    }
    let p1363 = p256::ecdsa::Signature::from_der(&der)
        .unwrap()
        .to_bytes()
        .to_vec();
    write(d, "der.sig", &der);
    write(d, "b64.sig", &sig);
    write(d, "b64nl.sig", format!("{sig}\n"));
    write(d, "b64crlf.sig", format!("{sig}\r\n"));
    let wrapped: String = sig
        .as_bytes()
        .chunks(20)
        .map(|c| format!("{}\n", std::str::from_utf8(c).unwrap()))
        .collect();
    write(d, "b64wrap.sig", wrapped);
    write(d, "b64space.sig", format!("  {sig}  "));
    write(d, "urlsafe.sig", sig.replace('+', "-").replace('/', "_"));
    write(d, "nopad.sig", sig.trim_end_matches('='));
    write(d, "p1363.sig", &p1363);
    write(d, "p1363b64.sig", b64(&p1363));
    write(d, "empty.sig", "");
    write(d, "hex.sig", hex::encode(&der));
    let rows: &[(&str, &str, Want, &str)] = &[
        ("A4a", "raw-V2.sig", ALL, ""),
        ("A4a", "raw-V3.sig", ALL, ""),
        ("A4a", "raw-Fs.sig", ALL, ""),
        ("A4a", "der.sig", ALL, ""),
        ("A4b", "b64.sig", ALL, ""),
        ("A4c", "b64nl.sig", ALL, ""),
        ("A4c", "b64crlf.sig", ALL, ""),
        ("A4c", "b64wrap.sig", ALL, ""),
        (
            "A4d",
            "b64space.sig",
            [Refuse, Refuse, Accept],
            "kept beyond cosign: spaces are copy-paste noise",
        ),
        ("A4e", &sig, ALL, ""),
        ("A4f", "urlsafe.sig", NONE, ""),
        ("A4f", "nopad.sig", NONE, ""),
        ("A4g", "p1363.sig", ALL, ""),
        ("A4h", "p1363b64.sig", ALL, ""),
        ("A4i", "empty.sig", NONE, ""),
        ("A4i", "hex.sig", NONE, ""),
        ("A4j", "no-such.sig", NONE, ""),
    ];
    for (id, value, want, _why) in rows {
        for t in TOOLS {
            let r = run(&mut verify_blob(t, d, "k.pub", value, &file));
            decided(&format!("{id} ({value})"), t, want_of(*want, t), &r);
        }
    }
    let r = run(&mut verify_blob(Fs, d, "k.pub", "no-such.sig", &file));
    assert!(
        r.stderr.contains(
            "no file named no-such.sig, and `no-such.sig` is not a base64 signature either"
        ),
        "A4j: {}",
        r.stderr
    );
    // A4l: env://VAR (cosign: the same loader)
    for t in TOOLS {
        let r = run(verify_blob(t, d, "k.pub", "env://SIG_B64", &file).env("SIG_B64", &sig));
        decided("A4l", t, Accept, &r);
    }
    // A4m: an RSA-PSS signature with an RSA key (openssl): refused by all
    openssl(d, &["genrsa", "-out", "rsa.pem", "2048"]);
    openssl(d, &["rsa", "-in", "rsa.pem", "-pubout", "-out", "rsa.pub"]);
    openssl(
        d,
        &[
            "dgst",
            "-sha256",
            "-sigopt",
            "rsa_padding_mode:pss",
            "-sign",
            "rsa.pem",
            "-out",
            "pss.sig",
            &file,
        ],
    );
    openssl(
        d,
        &[
            "dgst",
            "-sha256",
            "-sign",
            "rsa.pem",
            "-out",
            "pkcs1.sig",
            &file,
        ],
    );
    for t in TOOLS {
        let r = run(&mut verify_blob(t, d, "rsa.pub", "pss.sig", &file));
        decided("A4m (PSS)", t, Refuse, &r);
        // the PKCS#1 v1.5 signature of the same key and file verifies everywhere
        let r = run(&mut verify_blob(t, d, "rsa.pub", "pkcs1.sig", &file));
        decided("A4m (PKCS#1 v1.5 beside it)", t, Accept, &r);
    }
    let r = run(&mut verify_blob(Fs, d, "rsa.pub", "pss.sig", &file));
    r.clone_hint_check("RSA-PSS is not accepted");
}

// ---------------------------------------------------------------------------------------------------
// A5: key algorithms and import-key-pair

/// Makes the private keys of §10.1 with openssl; returns (name, expected import decision).
fn openssl_keys(d: &Path) -> Vec<(&'static str, Want)> {
    let mut out = Vec::new();
    let mut key = |name: &'static str, want: Want, args: &[&str]| {
        let mut a: Vec<&str> = args.to_vec();
        let file = format!("{name}.pem");
        a.extend(["-out", &file]);
        openssl(d, &a);
        out.push((name, want));
    };
    key("rsa2048-pkcs1", ALL, &["genrsa", "-traditional"]);
    key(
        "rsa3072-pkcs8",
        ALL,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:3072",
        ],
    );
    key(
        "rsa4096-pkcs8",
        ALL,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:4096",
        ],
    );
    key(
        "rsa1024-pkcs8",
        NONE,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:1024",
        ],
    );
    key(
        "p256-sec1",
        ALL,
        &["ecparam", "-name", "prime256v1", "-genkey", "-noout"],
    );
    key(
        "p384-sec1",
        ALL,
        &["ecparam", "-name", "secp384r1", "-genkey", "-noout"],
    );
    key(
        "p521-pkcs8",
        ALL,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-521",
        ],
    );
    key(
        "p384-pkcs8",
        ALL,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-384",
        ],
    );
    key(
        "k256-sec1",
        NONE,
        &["ecparam", "-name", "secp256k1", "-genkey", "-noout"],
    );
    key(
        "k256-pkcs8",
        NONE,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:secp256k1",
        ],
    );
    key("ed25519", ALL, &["genpkey", "-algorithm", "ed25519"]);
    key(
        "rsapss",
        NONE,
        &[
            "genpkey",
            "-algorithm",
            "RSA-PSS",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ],
    );
    key(
        "encrypted",
        NONE,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-aes256",
            "-pass",
            "pass:x",
        ],
    );
    out
}

/// A5a–A5i: `import-key-pair` by each tool of the same keys; where accepted, every tool loads every
/// result and they agree on the public key.
#[test]
fn a5_import_key_pair() {
    let dir = tempdir();
    let d = dir.path();
    for (name, want) in openssl_keys(d) {
        let id = format!("A5 import {name}");
        for t in TOOLS {
            let prefix = format!("{name}-{t:?}");
            let r = run(tool(t, d)
                .args([
                    "import-key-pair",
                    "--key",
                    &format!("{name}.pem"),
                    "--output-key-prefix",
                    &prefix,
                ])
                .env("COSIGN_PASSWORD", PW));
            decided(&id, t, want_of(want, t), &r);
            if want_of(want, t) == Refuse {
                assert!(
                    !d.join(format!("{prefix}.key")).exists(),
                    "{id}: {t:?} left a key"
                );
            }
        }
        if want[2] == Accept {
            let ours = read(d, &format!("{name}-Fs.pub"));
            assert!(ours.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{id}");
            let key = read(d, &format!("{name}-Fs.key"));
            assert!(
                key.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"),
                "{id}"
            );
            for maker in TOOLS {
                for t in TOOLS {
                    let r = run(tool(t, d)
                        .args(["public-key", "--key", &format!("{name}-{maker:?}.key")])
                        .env("COSIGN_PASSWORD", PW));
                    decided(&format!("{id} (made by {maker:?})"), t, Accept, &r);
                    assert_eq!(
                        r.stdout.trim(),
                        ours.trim(),
                        "{id}: {t:?} reads {maker:?}'s key"
                    );
                }
            }
        }
    }
    // The default prefix is cosign's: import-cosign.
    run(ferrosign(d)
        .args(["import-key-pair", "--key", "p256-sec1.pem"])
        .env("COSIGN_PASSWORD", PW))
    .ok();
    assert!(d.join("import-cosign.key").is_file() && d.join("import-cosign.pub").is_file());
    // An existing file is kept unless -y.
    run(ferrosign(d)
        .args(["import-key-pair", "--key", "p256-sec1.pem"])
        .env("COSIGN_PASSWORD", PW))
    .fails(1, "import-cosign.key already exists")
    .hint("-y");
    run(ferrosign(d)
        .args(["import-key-pair", "-y", "--key", "p256-sec1.pem"])
        .env("COSIGN_PASSWORD", PW))
    .ok();
    // What each refusal says.
    let why = |name: &str| {
        run(ferrosign(d)
            .args([
                "import-key-pair",
                "--key",
                &format!("{name}.pem"),
                "-o",
                "x",
            ])
            .env("COSIGN_PASSWORD", PW))
    };
    why("rsa1024-pkcs8").fails(2, "RSA key size 1024 bits");
    why("k256-sec1").fails(2, "secp256k1");
    why("rsapss").fails(2, "RSA-PSS");
    why("encrypted")
        .fails(2, "`ENCRYPTED PRIVATE KEY`")
        .hint("openssl pkcs8");
}

/// A5j–A5p: signing and verifying blobs with imported RSA, P-384, P-521 and Ed25519 keys, every signer
/// against every verifier, with cosign's digest rules; RSA signatures are PKCS#1 v1.5 SHA-256 (openssl).
#[test]
fn a5_algorithms_on_blobs() {
    let dir = tempdir();
    let d = dir.path();
    write(d, "f.txt", "algorithms\n");
    openssl(d, &["genrsa", "-traditional", "-out", "rsa.pem", "2048"]);
    p384_pem(d);
    p521_pem(d);
    openssl(d, &["genpkey", "-algorithm", "ed25519", "-out", "ed.pem"]);
    for name in ["rsa", "p384", "p521", "ed"] {
        run(ferrosign(d)
            .args([
                "import-key-pair",
                "--key",
                &format!("{name}.pem"),
                "-o",
                name,
            ])
            .env("COSIGN_PASSWORD", PW))
        .ok();
    }
    // (key, digest flag for verifiers, signers' decisions)
    let rows: &[(&str, &str, Want)] = &[
        ("rsa", "sha256", ALL),
        ("p384", "sha384", ALL),
        ("p521", "sha512", ALL),
        // cosign v2 panics signing a blob with Ed25519 without a log; v3 and ferrosign sign pure Ed25519
        ("ed", "sha256", [Refuse, Accept, Accept]),
    ];
    for (key, alg, signers) in rows {
        for s in TOOLS {
            let sig = format!("{key}-{s:?}.sig");
            let r =
                run(sign_blob(s, d, &format!("{key}.key"), "f.txt", &sig)
                    .env("COSIGN_PASSWORD", PW));
            decided(&format!("A5 sign-blob {key}"), s, want_of(*signers, s), &r);
            if want_of(*signers, s) == Refuse {
                continue;
            }
            for v in TOOLS {
                let label = format!("A5 {key} signed by {s:?}");
                let r = run(verify_blob(v, d, &format!("{key}.pub"), &sig, "f.txt")
                    .args(["--signature-digest-algorithm", alg]));
                decided(&label, v, Accept, &r);
                // the default digest (SHA-256) fails P-384/P-521 signatures in cosign and ferrosign
                if matches!(*key, "p384" | "p521") {
                    let r = run(&mut verify_blob(v, d, &format!("{key}.pub"), &sig, "f.txt"));
                    decided(&format!("{label}, default digest (A5n)"), v, Refuse, &r);
                    if v == Fs {
                        r.clone_hint_check(&format!("--signature-digest-algorithm {alg}"));
                    }
                }
            }
            if *key == "rsa" {
                // PKCS#1 v1.5 with SHA-256, as openssl checks it
                let raw = unb64(&read(d, &sig));
                write(d, "rsa-raw.sig", raw);
                openssl(
                    d,
                    &[
                        "dgst",
                        "-sha256",
                        "-verify",
                        "rsa.pub",
                        "-signature",
                        "rsa-raw.sig",
                        "f.txt",
                    ],
                );
            }
        }
    }
    // A5l: the RSA public key as `RSA PUBLIC KEY` (PKCS#1) verifies in every tool.
    openssl(
        d,
        &[
            "rsa",
            "-in",
            "rsa.pem",
            "-RSAPublicKey_out",
            "-out",
            "rsa-pkcs1.pub",
        ],
    );
    assert!(read(d, "rsa-pkcs1.pub").starts_with("-----BEGIN RSA PUBLIC KEY-----"));
    for v in TOOLS {
        let r = run(&mut verify_blob(
            v,
            d,
            "rsa-pkcs1.pub",
            "rsa-Fs.sig",
            "f.txt",
        ));
        decided("A5l", v, Accept, &r);
    }
    // A5o: Ed25519 with a log entry is refused on purpose (cosign would sign Ed25519ph).
    run(ferrosign(d)
        .args(["sign-blob", "--key", "ed.key", "f.txt"])
        .env("COSIGN_PASSWORD", PW))
    .fails(2, "refused on purpose")
    .hint("--tlog-upload=false");
    // A5q: secp256k1 public keys are refused by all; P-224 by ferrosign only (on purpose).
    openssl(
        d,
        &[
            "ecparam",
            "-name",
            "secp224r1",
            "-genkey",
            "-noout",
            "-out",
            "p224.pem",
        ],
    );
    openssl(d, &["ec", "-in", "p224.pem", "-pubout", "-out", "p224.pub"]);
    openssl(
        d,
        &[
            "dgst", "-sha256", "-sign", "p224.pem", "-out", "p224.sig", "f.txt",
        ],
    );
    openssl(
        d,
        &[
            "ecparam",
            "-name",
            "secp256k1",
            "-genkey",
            "-noout",
            "-out",
            "k256.pem",
        ],
    );
    openssl(d, &["ec", "-in", "k256.pem", "-pubout", "-out", "k256.pub"]);
    openssl(
        d,
        &[
            "dgst", "-sha256", "-sign", "k256.pem", "-out", "k256.sig", "f.txt",
        ],
    );
    for v in TOOLS {
        let r = run(&mut verify_blob(v, d, "p224.pub", "p224.sig", "f.txt"));
        decided("A5q P-224", v, want_of([Accept, Accept, Refuse], v), &r);
        let r = run(&mut verify_blob(v, d, "k256.pub", "k256.sig", "f.txt"));
        decided("A5q secp256k1", v, Refuse, &r);
    }
    run(&mut verify_blob(Fs, d, "p224.pub", "p224.sig", "f.txt"))
        .fails(2, "unsupported curve P-224 (refused on purpose)");
}

/// A5j/A5k/A5o on images: an imported RSA key signs images in each tool, and each tool verifies the
/// others' signatures; P-384 with its digest flag; Ed25519 image signing is refused by ferrosign.
#[test]
fn a5_algorithms_on_images() {
    let dir = tempdir();
    let d = dir.path();
    let reg = TestRegistry::start();
    let fake = crate::sigstore_fake::FakeSigstore::start(&[]);
    let root = fake.trusted_root();
    openssl(d, &["genrsa", "-traditional", "-out", "rsa.pem", "2048"]);
    p384_pem(d);
    openssl(d, &["genpkey", "-algorithm", "ed25519", "-out", "ed.pem"]);
    openssl(d, &["genrsa", "-out", "other-rsa.pem", "2048"]);
    p384_pem_as(d, "other-p384.pem");
    for name in ["rsa", "p384", "ed", "other-rsa", "other-p384"] {
        run(ferrosign(d)
            .args([
                "import-key-pair",
                "--key",
                &format!("{name}.pem"),
                "-o",
                name,
            ])
            .env("COSIGN_PASSWORD", PW))
        .ok();
    }
    for (key, alg) in [("rsa", "sha256"), ("p384", "sha384")] {
        for s in TOOLS {
            let repo = format!("acme/{key}-{s:?}").to_lowercase();
            let digest = reg.push_image(&repo, "v1", &repo);
            let image = format!("{}/{repo}@{digest}", reg.addr);
            let mut c = tool(s, d);
            c.env("COSIGN_PASSWORD", PW).args([
                "sign",
                "--key",
                &format!("{key}.key"),
                "--tlog-upload=false",
                "--allow-http-registry",
            ]);
            if s == V3 {
                c.args(["--new-bundle-format=false", "--use-signing-config=false"]);
            }
            decided(&format!("A5j image {key}"), s, Accept, &run(c.arg(&image)));
            for v in TOOLS {
                let r = run(v2_root(
                    v,
                    &mut verify_image_with_key(
                        v,
                        d,
                        &format!("{key}.pub"),
                        &["--signature-digest-algorithm", alg],
                        &image,
                    ),
                    &root,
                ));
                decided(&format!("A5k image {key} signed by {s:?}"), v, Accept, &r);
            }
            if s == Fs {
                // ferrosign's default writes both layouts: each verifies on its own, in ferrosign
                // and in cosign v3 (its default reads the bundle; `=false` reads the `.sig`).
                for format in ["legacy", "bundle"] {
                    let r = run(&mut verify_image_with_key(
                        Fs,
                        d,
                        &format!("{key}.pub"),
                        &[
                            "--signature-digest-algorithm",
                            alg,
                            "--signature-format",
                            format,
                        ],
                        &image,
                    ));
                    decided(&format!("A5k image {key} ({format})"), Fs, Accept, &r);
                }
                let r = run(&mut verify_image_with_key(
                    V3,
                    d,
                    &format!("{key}.pub"),
                    &[
                        "--new-bundle-format=false",
                        "--signature-digest-algorithm",
                        alg,
                    ],
                    &image,
                ));
                decided(&format!("A5k image {key} (.sig)"), V3, Accept, &r);
                // Another key of the same type verifies neither layout.
                let other = run(&mut verify_image_with_key(
                    Fs,
                    d,
                    &format!("other-{key}.pub"),
                    &["--signature-digest-algorithm", alg],
                    &image,
                ));
                decided(&format!("A5k image {key}, other key"), Fs, Refuse, &other);
            }
        }
        // cosign v3's own default layout (a Sigstore bundle, no `.sig`) with these keys.
        let repo = format!("acme/{key}-v3-bundle");
        let digest = reg.push_image(&repo, "v1", &repo);
        let image = format!("{}/{repo}@{digest}", reg.addr);
        let r = run(tool(V3, d).env("COSIGN_PASSWORD", PW).args([
            "sign",
            "--key",
            &format!("{key}.key"),
            "--tlog-upload=false",
            "--use-signing-config=false",
            "--allow-http-registry",
            &image,
        ]));
        decided(&format!("A5j image {key} (v3 bundle)"), V3, Accept, &r);
        assert!(
            reg.sig_layers(&repo, &digest).is_empty(),
            "cosign v3 wrote a .sig: the bundle path is not exercised"
        );
        for v in [V3, Fs] {
            let r = run(&mut verify_image_with_key(
                v,
                d,
                &format!("{key}.pub"),
                &["--signature-digest-algorithm", alg],
                &image,
            ));
            decided(&format!("A5k image {key} (v3 bundle)"), v, Accept, &r);
        }
    }
    let digest = reg.push_image("acme/ed", "v1", "ed");
    run(ferrosign(d)
        .env("COSIGN_PASSWORD", PW)
        .args([
            "sign",
            "--key",
            "ed.key",
            "--tlog-upload=false",
            "--allow-http-registry",
        ])
        .arg(format!("{}/acme/ed@{digest}", reg.addr)))
    .fails(2, "refused on purpose")
    .hint("ECDSA or RSA");
    assert!(
        reg.sig_layers("acme/ed", &digest).is_empty(),
        "A5o: nothing pushed"
    );
}

// ---------------------------------------------------------------------------------------------------
// A7: GitHub Enterprise

/// A loopback listener standing where HTTP(S)_PROXY points: it records the first line of every request
/// (a `CONNECT host:443` is a request leaving the machine) and refuses it.
struct LeakWatch {
    addr: String,
    seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl LeakWatch {
    fn start() -> Self {
        use std::io::{BufRead, BufReader};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let s = seen.clone();
        std::thread::spawn(move || {
            for conn in l.incoming().flatten() {
                let mut line = String::new();
                let mut r = BufReader::new(&conn);
                let _ = r.read_line(&mut line);
                s.lock().unwrap().push(line.trim().to_string());
                let _ = (&conn).write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
            }
        });
        LeakWatch { addr, seen }
    }

    fn point(&self, c: &mut Command) {
        let url = format!("http://{}", self.addr);
        for var in [
            "HTTPS_PROXY",
            "HTTP_PROXY",
            "https_proxy",
            "http_proxy",
            "ALL_PROXY",
        ] {
            c.env(var, &url);
        }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

const GH_TOKEN: &str = "ghs_fake_token_for_tests_0123456789";

/// A7a–A7j: `generate-key-pair github://acme/app` under `GITHUB_HOST`, against a fake GitHub Enterprise
/// (the API under /api/v3) on loopback: the same URL paths for cosign v2, v3 and ferrosign, the token
/// only there (a proxy watching for anything leaving loopback sees nothing), and the refusals before
/// any request.
#[test]
fn a7_github_enterprise() {
    let ghe = Peer::start(
        "fake_github.py",
        &["--token", GH_TOKEN, "--prefix", "/api/v3"],
    );
    let watch = LeakWatch::start();
    let gen = |t: Tool, d: &Path, host: Option<&str>, extra: &[(&str, &str)]| -> Run {
        let mut c = tool(t, d);
        c.args(["generate-key-pair", "github://acme/app"])
            .env("GITHUB_TOKEN", GH_TOKEN)
            .env("COSIGN_PASSWORD", PW);
        if let Some(h) = host {
            c.env("GITHUB_HOST", h);
        }
        for (k, v) in extra {
            c.env(k, v);
        }
        watch.point(&mut c);
        if t == Fs {
            c.arg("--force");
        }
        run(&mut c)
    };
    let host = ghe.url();
    let rows: Vec<(&str, String, Want)> = vec![
        ("A7a/b", host.clone(), ALL),
        ("A7c", format!("{host}/api/v3/"), ALL),
    ];
    for (id, h, want) in &rows {
        for t in TOOLS {
            let dir = tempdir();
            let before = ghe.records().len();
            let r = gen(t, dir.path(), Some(h), &[]);
            decided(id, t, want_of(*want, t), &r);
            let records = ghe.records()[before..].to_vec();
            assert!(
                !records.is_empty(),
                "{id}: {t:?} sent nothing to GITHUB_HOST"
            );
            for rec in &records {
                let path = rec["path"].as_str().unwrap();
                assert!(
                    path.starts_with("/api/v3/repos/acme/app/actions/secrets/"),
                    "{id}: {t:?} asked for {path}"
                );
                assert_eq!(rec["authorization_ok"], true, "{id}: {t:?}");
            }
            let puts: Vec<_> = records
                .iter()
                .filter(|r| r["method"] == "PUT")
                .map(|r| {
                    r["path"]
                        .as_str()
                        .unwrap()
                        .rsplit('/')
                        .next()
                        .unwrap()
                        .to_string()
                })
                .collect();
            for name in ["COSIGN_PASSWORD", "COSIGN_PRIVATE_KEY", "COSIGN_PUBLIC_KEY"] {
                assert!(
                    puts.iter().any(|p| p == name),
                    "{id}: {t:?} stored {puts:?}"
                );
            }
            if t == Fs {
                assert!(
                    r.stderr
                        .contains(&format!("GitHub API: {host}/api/v3 (from GITHUB_HOST)")),
                    "{id}: {}",
                    r.stderr
                );
            }
        }
    }
    // A7d: a path prefix is kept (the fake serves /api/v3 only, so the request is recorded and refused)
    for t in TOOLS {
        let dir = tempdir();
        let before = ghe.records().len();
        let r = gen(t, dir.path(), Some(&format!("{host}/ghe")), &[]);
        decided("A7d", t, Refuse, &r);
        let records = ghe.records()[before..].to_vec();
        assert!(
            records.iter().all(|r| r["path"]
                .as_str()
                .unwrap()
                .starts_with("/ghe/api/v3/repos/acme/app/")),
            "A7d: {t:?} {records:?}"
        );
        assert!(!records.is_empty(), "A7d: {t:?} sent nothing");
    }
    // A7e–g: not a URL, refused by all; ferrosign before any request
    let bare = host.trim_start_matches("http://").to_string();
    for (id, h) in [
        ("A7e", "ghe.example".to_string()),
        ("A7f", bare),
        ("A7g", String::new()),
    ] {
        for t in TOOLS {
            let dir = tempdir();
            let before = ghe.records().len();
            let r = gen(t, dir.path(), Some(&h), &[]);
            decided(id, t, Refuse, &r);
            if t == Fs {
                assert!(r.stderr.contains("is not a URL"), "{id}: {}", r.stderr);
                assert_eq!(
                    ghe.records().len(),
                    before,
                    "{id}: ferrosign sent a request"
                );
                assert!(!dir.path().join("cosign.pub").exists(), "{id}");
            }
        }
    }
    // A7h: GITHUB_HOST and GITHUB_API_URL naming different hosts: refused on purpose, nothing sent
    let dir = tempdir();
    let before = ghe.records().len();
    gen(
        Fs,
        dir.path(),
        Some(&host),
        &[("GITHUB_API_URL", "https://api.github.com")],
    )
    .fails(2, "GITHUB_HOST and GITHUB_API_URL name different hosts")
    .hint("unset one");
    assert_eq!(ghe.records().len(), before, "A7h");
    // … and agreeing ones are fine
    gen(
        Fs,
        dir.path(),
        Some(&host),
        &[("GITHUB_API_URL", &format!("{host}/api/v3"))],
    )
    .ok();
    // A7j: an empty token is refused on purpose before any request (cosign sends it)
    let before = ghe.records().len();
    let dir = tempdir();
    let mut c = ferrosign(dir.path());
    c.args(["generate-key-pair", "github://acme/app"])
        .env("GITHUB_TOKEN", "")
        .env("GITHUB_HOST", &host);
    run(&mut c).fails(2, "GITHUB_TOKEN is empty");
    assert_eq!(ghe.records().len(), before, "A7j");
    // Nothing ever left loopback (no request to api.github.com or anywhere else).
    assert!(
        watch.seen().is_empty(),
        "requests left loopback: {:?}",
        watch.seen()
    );
    // Without GITHUB_HOST the default host is api.github.com: the watch sees ferrosign try to go there,
    // which proves the watch would have caught a leak above.
    let dir = tempdir();
    let r = gen(Fs, dir.path(), None, &[]);
    assert_ne!(r.code, 0);
    assert!(
        watch.seen().iter().any(|l| l.contains("api.github.com")),
        "the watch saw {:?}",
        watch.seen()
    );
}

// ---------------------------------------------------------------------------------------------------
// F: flags, booleans and their COSIGN_<FLAG> forms

/// F2–F6, F15/F16: boolean spellings, `=value` on every boolean, a space instead of `=`, the
/// environment forms of flags (COSIGN_TLOG_UPLOAD=false keeps ferrosign off the public log).
#[test]
fn f_booleans_and_environment_forms() {
    let dir = tempdir();
    let d = dir.path();
    write(d, "f.txt", "flags\n");
    keypair(Fs, d, "k", PW.as_bytes());
    let sign = |t: Tool, args: &[&str], env: &[(&str, &str)]| -> Run {
        let mut c = tool(t, d);
        c.env("COSIGN_PASSWORD", PW)
            .args(["sign-blob", "--key", "k.key"]);
        if t == V3 {
            c.args(["--use-signing-config=false", "--new-bundle-format=false"]);
        }
        c.args(args).arg("f.txt");
        for (k, v) in env {
            c.env(k, v);
        }
        run(&mut c)
    };
    let rows: &[(&str, &[&str], Want)] = &[
        ("F1", &["--tlog-upload=false"], ALL),
        ("F2", &["--tlog-upload=0"], ALL),
        ("F2", &["--tlog-upload=f"], ALL),
        ("F2", &["--tlog-upload=F"], ALL),
        ("F2", &["--tlog-upload=FALSE"], ALL),
        ("F2", &["--tlog-upload=False"], ALL),
        ("F3", &["--tlog-upload=no"], NONE),
        ("F3", &["--tlog-upload=off"], NONE),
        ("F4", &["--tlog-upload=false", "--yes=true"], ALL),
        ("F4", &["--tlog-upload=false", "--yes=false"], ALL),
        // kept beyond cosign: cosign reads `-y=false` as the deprecated long form `--y=false`
        (
            "F4",
            &["--tlog-upload=false", "-y=false"],
            [Refuse, Refuse, Accept],
        ),
        ("F5", &["--tlog-upload", "false"], NONE),
    ];
    for (id, args, want) in rows {
        for t in TOOLS {
            let r = sign(t, args, &[]);
            decided(&format!("{id} {args:?}"), t, want_of(*want, t), &r);
        }
    }
    // F6: COSIGN_TLOG_UPLOAD=false, COSIGN_YES: no request leaves the machine (the watch sees none,
    // where a default run goes for rekor.sigstore.dev).
    let watch = LeakWatch::start();
    for t in TOOLS {
        let mut c = tool(t, d);
        c.env("COSIGN_PASSWORD", PW)
            .env("COSIGN_TLOG_UPLOAD", "false")
            .env("COSIGN_YES", "true")
            .env("COSIGN_OUTPUT_SIGNATURE", format!("env-{t:?}.sig"))
            .args(["sign-blob", "--key", "k.key"]);
        if t == V3 {
            c.args(["--use-signing-config=false", "--new-bundle-format=false"]);
        }
        watch.point(c.arg("f.txt"));
        let r = run(&mut c);
        decided("F6 COSIGN_TLOG_UPLOAD=false", t, Accept, &r);
        assert!(
            d.join(format!("env-{t:?}.sig")).is_file(),
            "F6: COSIGN_OUTPUT_SIGNATURE ({t:?})"
        );
    }
    assert!(
        watch.seen().is_empty(),
        "F6: left loopback: {:?}",
        watch.seen()
    );
    // COSIGN_KEY for verify-blob, and the command line winning over the environment
    for t in TOOLS {
        let r = run(tool(t, d).env("COSIGN_KEY", "k.pub").args([
            "verify-blob",
            "--insecure-ignore-tlog",
            "--signature",
            "env-Fs.sig",
            "f.txt",
        ]));
        decided("F6 COSIGN_KEY", t, Accept, &r);
    }
    // Without the variable ferrosign would publish to the public-good instance (its signing config:
    // the timestamp authority first, then Rekor): the watch sees it (the check above could fail).
    let mut c = ferrosign(d);
    c.env("COSIGN_PASSWORD", PW)
        .args(["sign-blob", "--key", "k.key", "f.txt"]);
    watch.point(&mut c);
    assert_ne!(run(&mut c).code, 0);
    assert!(
        watch.seen().iter().any(|l| l.contains(".sigstore.dev:443")),
        "{:?}",
        watch.seen()
    );
    // F16: --output is the old name of --output-signature
    for t in TOOLS {
        let r = sign(
            t,
            &["--tlog-upload=false", "--output", &format!("old-{t:?}.sig")],
            &[],
        );
        decided("F16", t, Accept, &r);
        assert!(d.join(format!("old-{t:?}.sig")).is_file(), "F16 {t:?}");
    }
}

// ---------------------------------------------------------------------------------------------------
// K, P: key references and key files

/// K1–K3, K6, K8–K16, P2/P3, P10: key references and key files, as cosign reads them.
#[test]
fn k_key_references_and_files() {
    let dir = tempdir();
    let d = dir.path();
    write(d, "f.txt", "keys\n");
    keypair(Fs, d, "k", PW.as_bytes());
    run(sign_blob(Fs, d, "k.key", "f.txt", "f.sig").env("COSIGN_PASSWORD", PW)).ok();
    let public = read(d, "k.pub");
    let cert = "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n";
    write(d, "cert.pem", cert);
    let verify_rows: &[(&str, &str, Want)] = &[
        ("K1", "k.pub", ALL),
        ("K2", "env://PUB", ALL),
        ("K3", "env://UNSET_VAR", NONE),
        ("K8", "file://k.pub", NONE),
        ("K9", "github://acme/app", NONE),
        ("K14", "cert.pem", NONE),
        ("K15", "k.key", NONE),
    ];
    for (id, key, want) in verify_rows {
        for t in TOOLS {
            let r = run(verify_blob(t, d, key, "f.sig", "f.txt").env("PUB", &public));
            decided(id, t, want_of(*want, t), &r);
        }
    }
    run(&mut verify_blob(Fs, d, "file://k.pub", "f.sig", "f.txt")).hint("without file://");
    run(&mut verify_blob(Fs, d, "cert.pem", "f.sig", "f.txt")).hint("certificate");
    // K16: the public key where the private key goes
    for t in TOOLS {
        let r = run(sign_blob(t, d, "k.pub", "f.txt", "x.sig").env("COSIGN_PASSWORD", PW));
        decided("K16", t, Refuse, &r);
    }
    // Refused on purpose by ferrosign (cosign reads them with cloud or hardware support).
    for (id, key) in [
        ("K6", "http://example.com/cosign.pub"),
        ("K10", "gitlab://acme/app"),
        (
            "K11",
            "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k",
        ),
        ("K11", "awskms://alias/k"),
        ("K11", "hashivault://k"),
        ("K12", "pkcs11:token=x"),
    ] {
        run(&mut verify_blob(Fs, d, key, "f.sig", "f.txt")).fails(2, "refused on purpose");
        let _ = id;
    }
    // P2/P3: scrypt parameters, re-encrypted with Python (hashlib.scrypt + PyNaCl's secretbox)
    for (id, n, r_, want) in [
        ("P2", 32768, 8, ALL),
        ("P2", 131072, 8, ALL),
        ("P3", 16384, 8, NONE),
        ("P3", 65536, 16, NONE),
    ] {
        let name = format!("scrypt-{n}-{r_}.key");
        reencrypt(d, "k.key", &name, n, r_);
        for t in TOOLS {
            let r = run(tool(t, d)
                .args(["public-key", "--key", &name])
                .env("COSIGN_PASSWORD", PW));
            decided(&format!("{id} N={n} r={r_}"), t, want_of(want, t), &r);
        }
    }
    // P10: a key file larger than any key is refused by ferrosign before it is read whole
    write(d, "big.pub", vec![b'A'; 1 << 20]);
    run(&mut verify_blob(Fs, d, "big.pub", "f.sig", "f.txt"))
        .fails(2, "a key is at most a few KiB");
}

/// Decrypts a cosign key file with PW and encrypts it again with other scrypt parameters (N, r).
fn reencrypt(d: &Path, from: &str, to: &str, n: u32, r: u32) {
    let python = std::env::var("FERROSIGN_PYNACL_PYTHON").unwrap_or_else(|_| {
        format!(
            "{}/.cache/ferrosign/pynacl-venv/bin/python",
            std::env::var("HOME").unwrap_or_default()
        )
    });
    let script = r#"
import base64, hashlib, json, sys, nacl.secret, nacl.utils
src, dst, pw, n, r = sys.argv[1], sys.argv[2], sys.argv[3].encode(), int(sys.argv[4]), int(sys.argv[5])
lines = open(src).read().strip().splitlines()
env = json.loads(base64.b64decode("".join(lines[1:-1])))
p = env["kdf"]["params"]
key = hashlib.scrypt(pw, salt=base64.b64decode(env["kdf"]["salt"]), n=p["N"], r=p["r"], p=p["p"], dklen=32, maxmem=1 << 30)
plain = nacl.secret.SecretBox(key).decrypt(base64.b64decode(env["ciphertext"]), base64.b64decode(env["cipher"]["nonce"]))
salt = nacl.utils.random(32)
key = hashlib.scrypt(pw, salt=salt, n=n, r=r, p=1, dklen=32, maxmem=1 << 30)
nonce = nacl.utils.random(24)
ct = nacl.secret.SecretBox(key).encrypt(plain, nonce).ciphertext
env = {"kdf": {"name": "scrypt", "params": {"N": n, "r": r, "p": 1}, "salt": base64.b64encode(salt).decode()},
       "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(nonce).decode()},
       "ciphertext": base64.b64encode(ct).decode()}
body = base64.b64encode(json.dumps(env).encode()).decode()
wrapped = "\n".join(body[i:i + 64] for i in range(0, len(body), 64))
open(dst, "w").write(f"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n{wrapped}\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n")
"#;
    let out = Command::new(python)
        .current_dir(d)
        .args(["-c", script, from, to, PW, &n.to_string(), &r.to_string()])
        .output()
        .expect("python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------------------------------------------
// §11: every row refused on purpose says so, and what to do

/// The §11 rows this issue owns (not the registry's A6/A8), each with cosign's decision where it is
/// cheap to run: ferrosign exits 2 with `(refused on purpose)` and a hint, before any request.
#[test]
fn refused_on_purpose_rows() {
    let dir = tempdir();
    let d = dir.path();
    write(d, "f.txt", "refused\n");
    keypair(Fs, d, "k", PW.as_bytes());
    let image = "127.0.0.1:9/acme/app@sha256:0000000000000000000000000000000000000000000000000000000000000000";
    let watch = LeakWatch::start();
    // (id, arguments, environment, what the message must say)
    type Row<'a> = (&'a str, &'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let rows: &[Row<'_>] = &[
        (
            "A1f",
            &["sign", "--key", "k.key", "-a", "=v", image],
            &[],
            "write -a key=value",
        ),
        (
            "A5q",
            &[
                "verify-blob",
                "--key",
                "p224.pub",
                "--signature",
                "AAAA",
                "f.txt",
            ],
            &[],
            "P-256/P-384/P-521",
        ),
        (
            "A7h",
            &["generate-key-pair", "github://acme/app"],
            &[
                ("GITHUB_HOST", "https://ghe.example"),
                ("GITHUB_API_URL", "https://api.github.com"),
                ("GITHUB_TOKEN", "t"),
            ],
            "unset one",
        ),
        (
            "A7j",
            &["generate-key-pair", "github://acme/app"],
            &[("GITHUB_TOKEN", "")],
            "GITHUB_TOKEN",
        ),
        (
            "K6",
            &[
                "verify-blob",
                "--key",
                "http://example.com/k.pub",
                "--signature",
                "AAAA",
                "f.txt",
            ],
            &[],
            "https://",
        ),
        (
            "K10",
            &["sign-blob", "--key", "gitlab://acme/app", "f.txt"],
            &[],
            "env://COSIGN_PRIVATE_KEY",
        ),
        (
            "K11",
            &["sign-blob", "--key", "gcpkms://k", "f.txt"],
            &[],
            "cosign key file",
        ),
        (
            "F27",
            &["generate-key-pair", "--kms", "awskms://alias/k"],
            &[],
            "no --kms",
        ),
        (
            "K12",
            &["sign-blob", "--key", "pkcs11:token=x", "f.txt"],
            &[],
            "cosign key file",
        ),
        ("K13", &["sign", "--sk", image], &[], "cosign key file"),
        (
            "S7",
            &["sign", "--key", "k.key", "--certificate", "c.pem", image],
            &[],
            "keylessly",
        ),
        (
            "S9",
            &[
                "verify-blob",
                "--key",
                "k.pub",
                "--signature",
                "AAAA",
                "--rfc3161-timestamp",
                "t",
                "f.txt",
            ],
            &[],
            "--bundle",
        ),
        (
            "S11",
            &[
                "verify-blob",
                "--key",
                "k.pub",
                "--signature",
                "AAAA",
                "--sct",
                "s",
                "f.txt",
            ],
            &[],
            "--insecure-ignore-sct",
        ),
        (
            "R17",
            &["sign", "--key", "k.key", "--k8s-keychain", image],
            &[],
            "docker login",
        ),
        (
            "R19",
            &[
                "sign",
                "--key",
                "k.key",
                "--registry-client-cert",
                "c.pem",
                image,
            ],
            &[],
            "cosign",
        ),
        (
            "F32",
            &["generate-key-pair", "--output-key-prefix", ""],
            &[],
            "--output-key-prefix release",
        ),
        (
            "F34",
            &[
                "sign-blob",
                "--key",
                "k.key",
                "--output-certificate",
                "c.pem",
                "f.txt",
            ],
            &[],
            "drop --output-certificate",
        ),
        (
            "F12",
            &["verify", "--key", "k.pub", "--check-claims=false", image],
            &[],
            "drop",
        ),
        (
            "F13",
            &["verify", "--key", "k.pub", "--local-image", image],
            &[],
            "verify-blob",
        ),
        (
            "F23",
            &[
                "verify",
                "--certificate-identity",
                "a",
                "--certificate-identity-regexp",
                "b",
                "--certificate-oidc-issuer",
                "o",
                image,
            ],
            &[],
            "either",
        ),
        (
            "F26",
            &["sign", "--oidc-issuer", "https://o", image],
            &[],
            "--identity-token",
        ),
        (
            "E12",
            &["sign-blob", "--key", "k.key", "f.txt"],
            &[("SIGSTORE_ROOT_FILE", "/root.pem")],
            "--trusted-root",
        ),
    ];
    openssl(
        d,
        &[
            "ecparam",
            "-name",
            "secp224r1",
            "-genkey",
            "-noout",
            "-out",
            "p224.pem",
        ],
    );
    openssl(d, &["ec", "-in", "p224.pem", "-pubout", "-out", "p224.pub"]);
    for (id, args, env, hint) in rows {
        let mut c = ferrosign(d);
        c.env("COSIGN_PASSWORD", PW).args(*args);
        for (k, v) in *env {
            c.env(k, v);
        }
        watch.point(&mut c);
        let r = run(&mut c);
        assert_eq!(r.code, 2, "{id}: exit 2\n{}", r.stderr);
        assert!(
            r.stderr.contains("(refused on purpose)"),
            "{id}: {}",
            r.stderr
        );
        r.clone_hint_check(hint);
    }
    assert!(
        watch.seen().is_empty(),
        "a refusal sent a request: {:?}",
        watch.seen()
    );
    // cosign's side of the rows that differ from it: it accepts these.
    for t in [V2, V3] {
        let r = run(&mut verify_blob(t, d, "p224.pub", "p224.sig", "f.txt"));
        let _ = r; // P-224 needs a real signature: covered by a5_algorithms_on_blobs
        let r = run(tool(t, d).env("COSIGN_PASSWORD", PW).args([
            "generate-key-pair",
            "--output-key-prefix",
            "",
        ]));
        decided("F32 (cosign writes .key and .pub)", t, Accept, &r);
        let _ = std::fs::remove_file(d.join(".key"));
        let _ = std::fs::remove_file(d.join(".pub"));
    }
}

/// A5j/A5m with a transparency log entry: ferrosign signs blobs with an imported RSA key against the
/// test Sigstore (its Rekor checks RSA PKCS#1 v1.5 signatures with real crypto), checks
/// the log's answer, and writes a bundle that cosign v3 and ferrosign verify. P-384 and P-521 keys (which
/// cosign signs over SHA-384 / SHA-512 digests) with a log entry are refused on purpose before anything
/// is sent: ferrosign's check of the log's answer knows only SHA-256 entries.
#[test]
fn a5_algorithms_with_a_log_entry() {
    let fake = crate::sigstore_fake::FakeSigstore::start(&[]);
    let dir = tempdir();
    let d = dir.path();
    write(d, "f.txt", "logged algorithms\n");
    openssl(d, &["genrsa", "-traditional", "-out", "rsa.pem", "3072"]);
    openssl(d, &["genpkey", "-algorithm", "RSA", "-out", "rsa2048.pem"]);
    p384_pem(d);
    p521_pem(d);
    for name in ["rsa", "rsa2048", "p384", "p521"] {
        run(ferrosign(d)
            .args([
                "import-key-pair",
                "--key",
                &format!("{name}.pem"),
                "-o",
                name,
            ])
            .env("COSIGN_PASSWORD", PW))
        .ok();
    }
    let sign = |key: &str, bundle: &str| {
        run(ferrosign(d)
            .args(["sign-blob", "--key", &format!("{key}.key")])
            .args(["--fulcio-url", &fake.url(), "--rekor-url", &fake.url()])
            .arg("--trusted-root")
            .arg(fake.trusted_root())
            .args(["--bundle", bundle, "f.txt"])
            .env("COSIGN_PASSWORD", PW))
    };
    for (key, alg, bundle_alg) in [
        ("rsa", "sha256", "SHA2_256"),
        ("rsa2048", "sha256", "SHA2_256"),
    ] {
        let bundle = format!("{key}.bundle.json");
        let r = sign(key, &bundle).ok();
        assert!(
            r.stderr.contains("tlog entry created with index: "),
            "{key}: {}",
            r.stderr
        );
        let b: serde_json::Value =
            serde_json::from_slice(&std::fs::read(d.join(&bundle)).unwrap()).unwrap();
        assert_eq!(
            b["messageSignature"]["messageDigest"]["algorithm"], bundle_alg,
            "{key}"
        );
        assert_eq!(
            b["verificationMaterial"]["tlogEntries"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        run(tool(V3, d)
            .args([
                "verify-blob",
                "--key",
                &format!("{key}.pub"),
                "--bundle",
                &bundle,
            ])
            .args(["--signature-digest-algorithm", alg])
            .arg("--trusted-root")
            .arg(fake.trusted_root())
            .arg("f.txt"))
        .ok();
        run(ferrosign(d)
            .args([
                "verify-blob",
                "--key",
                &format!("{key}.pub"),
                "--bundle",
                &bundle,
            ])
            .arg("--trusted-root")
            .arg(fake.trusted_root())
            .arg("f.txt"))
        .ok();
        // The bundle does not verify another file.
        write(d, "other.txt", "something else\n");
        run(ferrosign(d)
            .args([
                "verify-blob",
                "--key",
                &format!("{key}.pub"),
                "--bundle",
                &bundle,
            ])
            .arg("--trusted-root")
            .arg(fake.trusted_root())
            .arg("other.txt"))
        .fails(1, "");
    }
    // Refused before any request: with the log on a dead port the answer is the same refusal.
    for (key, hash) in [("p384", "sha384"), ("p521", "sha512")] {
        let bundle = format!("{key}.bundle.json");
        run(ferrosign(d)
            .args(["sign-blob", "--key", &format!("{key}.key")])
            .args(["--rekor-url", "http://127.0.0.1:9"])
            .arg("--trusted-root")
            .arg(fake.trusted_root())
            .args(["--bundle", &bundle, "f.txt"])
            .env("COSIGN_PASSWORD", PW))
        .fails(2, &format!("over a {hash} digest"))
        .hint("--tlog-upload=false");
        assert!(!d.join(&bundle).exists());
    }
    // A Rekor v2 log gets entries of P-256 keys only: an RSA key is refused before any request (the
    // log and the timestamp authority are on a dead port), nothing is written (A5r).
    run(ferrosign(d)
        .args(["sign-blob", "--key", "rsa.key"])
        .args(["--rekor-url", "http://127.0.0.1:9", "--rekor-version", "2"])
        .args(["--timestamp-server-url", "http://127.0.0.1:9"])
        .arg("--trusted-root")
        .arg(fake.trusted_root())
        .args(["--bundle", "rsa-v2.json", "f.txt"])
        .env("COSIGN_PASSWORD", PW))
    .fails(2, "RSA-3072 key and a Rekor v2 log")
    .hint("--rekor-version 1");
    assert!(!d.join("rsa-v2.json").exists());
}
