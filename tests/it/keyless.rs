//! Keyless signing against the test Sigstore instance (tests/peers/sigstore/), checked by the real
//! verifiers: cosign v2/v3, sigstore-python, sigstore-js.

use crate::sigstore_fake::{sigstore_venv, FakeSigstore};
use crate::support::{cosign, run, tempdir};
use std::process::Command;

/// The fakes themselves: the real sigstore-python signs against them, and the real verifiers accept the
/// result with the trust material the fake writes (and reject another identity).
#[test]
fn fake_instance_is_accepted_by_real_clients() {
    let fake = FakeSigstore::start(&[]);
    let dir = tempdir();
    let file = dir.path().join("f.txt");
    let bundle = dir.path().join("f.sigstore.json");
    std::fs::write(&file, b"hello\n").unwrap();
    run(Command::new(sigstore_venv().join("bin/sigstore"))
        .arg("--trust-config")
        .arg(fake.trust_config())
        .args(["sign", "--identity-token", &fake.get("token"), "--bundle"])
        .arg(&bundle)
        .arg(&file))
    .ok();
    fake.sigstore_python_verify(&file, &bundle).ok();
    fake.sigstore_js_verify(&file, &bundle).ok();
    for major in [2, 3] {
        run(cosign(major, dir.path())
            .arg("verify-blob")
            .arg("--bundle")
            .arg(&bundle)
            .arg("--trusted-root")
            .arg(fake.trusted_root())
            .args([
                "--certificate-identity",
                &fake.identity(),
                "--certificate-oidc-issuer",
                &fake.issuer(),
            ])
            .arg(&file))
        .ok();
    }
    let wrong = run(cosign(3, dir.path())
        .arg("verify-blob")
        .arg("--bundle")
        .arg(&bundle)
        .arg("--trusted-root")
        .arg(fake.trusted_root())
        .args([
            "--certificate-identity",
            "https://github.com/evil/app/.github/workflows/x.yml@refs/heads/main",
        ])
        .args(["--certificate-oidc-issuer", &fake.issuer()])
        .arg(&file));
    assert_ne!(
        wrong.code,
        0,
        "cosign accepted another identity:\n{}",
        wrong.all()
    );
}
