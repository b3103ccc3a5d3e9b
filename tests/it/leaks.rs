//! Issue 13's secrets, in Action mode: every secret the step can see — given (inputs, variables, URL
//! credentials, the key itself pasted where a reference belongs), read from a config file (docker
//! config, kubeconfig) or generated (password and key) — is masked before any other line, and never
//! shows in stdout, stderr, the outputs or the summary, raw or base64-encoded. Every secret checked here
//! comes from what the test put in, or from the peer that received it (the fake GitHub's records),
//! never from ferrosign's own `::add-mask::` lines.

use crate::action::{
    assert_masks_first, assert_no_leak, input, make_key, Runner, PASSWORD, REGISTRY_PASSWORD,
};
use crate::support::registry::TestRegistry;
use crate::support::{bounded, cosign, ferrosign, run, run_measured};
use base64::Engine;

/// Generous bounds on each run here (peak RSS, MiB; wall time, s): the figures go to
/// docs/hostile-cases.md, the bounds only catch a run gone wild.
const RSS_MIB: f64 = 200.0;
const WALL_S: f64 = 60.0;

/// The key itself (PEM text) as the `key` input: refused with "use `env://VAR`", masked first (line by
/// line), never echoed (the error used to print it whole, with the hint "File name too long").
#[test]
fn a_pem_pasted_as_the_key_input_is_masked_and_answered_with_env_var() {
    let r = Runner::new();
    let pem = make_key(r.path());
    let mut c = r.action("push");
    c.env("COSIGN_PASSWORD", PASSWORD);
    input(&mut c, "images", "127.0.0.1:1/acme/app@sha256:0000000000000000000000000000000000000000000000000000000000000000");
    input(&mut c, "key", &pem);
    input(&mut c, "tlog-upload", "false");
    let (res, u) = run_measured(&c);
    bounded(
        "the key's PEM as the Action's `key` input",
        "leaks::a_pem_pasted_as_the_key_input_is_masked_and_answered_with_env_var",
        2,
        u,
        RSS_MIB,
        WALL_S,
    );
    let res = res.fails(2, "holds the key itself");
    let hint = res
        .stderr
        .lines()
        .find(|l| l.starts_with("hint: "))
        .unwrap_or_default();
    assert!(hint.contains("env://"), "{hint}");
    assert!(!res.all().contains("File name too long"), "{}", res.all());
    assert_masks_first(&res, &[&pem, PASSWORD]);
    assert_no_leak(&res, &r, &[&pem, PASSWORD]);
}

/// The same in the CLI: no masking there, but the key text is never echoed.
#[test]
fn a_pem_pasted_as_the_key_flag_is_never_echoed() {
    let r = Runner::new();
    let pem = make_key(r.path());
    let (res, u) = run_measured(ferrosign(r.path()).env("COSIGN_PASSWORD", PASSWORD).args([
        "public-key",
        "--key",
        &pem,
    ]));
    bounded(
        "the key's PEM as the CLI's `--key`",
        "leaks::a_pem_pasted_as_the_key_flag_is_never_echoed",
        2,
        u,
        RSS_MIB,
        WALL_S,
    );
    let res = res.fails(2, "holds the key itself").hint("env://");
    for line in pem.lines().filter(|l| !l.starts_with("-----")) {
        assert!(!res.all().contains(line), "{}", res.all());
    }
}

/// Credentials inside URLs (`http://user:password@host`) are redacted in every message and masked
/// first in the Action.
#[test]
fn url_credentials_are_masked_and_redacted_everywhere() {
    let r = Runner::new();
    let pem = make_key(r.path());
    let url_password = "url-secret-pw-4471";
    let rekor = format!("http://rekor-user:{url_password}@127.0.0.1:1");
    let mut c = r.action("push");
    c.env("COSIGN_PRIVATE_KEY", &pem)
        .env("COSIGN_PASSWORD", PASSWORD);
    input(&mut c, "images", "127.0.0.1:1/acme/app@sha256:0000000000000000000000000000000000000000000000000000000000000000");
    input(&mut c, "key", "env://COSIGN_PRIVATE_KEY");
    input(&mut c, "rekor-url", &rekor);
    input(&mut c, "fulcio-url", &rekor);
    input(&mut c, "allow-insecure-registry", "true");
    let (res, u) = run_measured(&c);
    bounded(
        "credentials in URLs (Action)",
        "leaks::url_credentials_are_masked_and_redacted_everywhere",
        res.code,
        u,
        RSS_MIB,
        WALL_S,
    );
    assert_eq!(res.code, 1, "{}", res.all());
    assert_masks_first(&res, &[url_password, &pem, PASSWORD]);
    assert_no_leak(
        &res,
        &r,
        &[url_password, "rekor-user:url-secret", &pem, PASSWORD],
    );
    // In the CLI too: the URL shows with `***` where its credentials were.
    let (cli, u) = run_measured(
        ferrosign(r.path())
            .env("COSIGN_PASSWORD", PASSWORD)
            .args([
                "sign-blob",
                "--key",
                "leak.key",
                "--rekor-url",
                &rekor,
                "--bundle",
                "b.json",
            ])
            .arg(r.path().join("leak.pub")),
    );
    bounded(
        "credentials in URLs (CLI)",
        "leaks::url_credentials_are_masked_and_redacted_everywhere",
        cli.code,
        u,
        RSS_MIB,
        WALL_S,
    );
    assert_eq!(cli.code, 1, "{}", cli.all());
    assert!(!cli.all().contains(url_password), "{}", cli.all());
    assert!(!cli.all().contains("rekor-user"), "{}", cli.all());
}

/// A docker config's password (the registry client reads it) is masked before any other line, and
/// never shows — here against the real registry refusing it.
#[test]
fn docker_config_passwords_are_masked_first() {
    let reg = TestRegistry::start_with_auth("octocat", REGISTRY_PASSWORD);
    let digest = reg.push_image("acme/app", "v1", "leak-docker-config");
    let r = Runner::new();
    let pem = make_key(r.path());
    let config_password = "docker-config-secret-9931";
    let docker = r.path().join("docker");
    std::fs::create_dir(&docker).unwrap();
    let auth =
        base64::engine::general_purpose::STANDARD.encode(format!("octocat:{config_password}"));
    std::fs::write(
        docker.join("config.json"),
        format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, reg.addr),
    )
    .unwrap();
    let mut c = r.action("push");
    c.env("COSIGN_PRIVATE_KEY", &pem)
        .env("COSIGN_PASSWORD", PASSWORD)
        .env("DOCKER_CONFIG", &docker);
    input(&mut c, "images", &format!("{}/acme/app@{digest}", reg.addr));
    input(&mut c, "key", "env://COSIGN_PRIVATE_KEY");
    input(&mut c, "tlog-upload", "false");
    input(&mut c, "allow-insecure-registry", "true");
    let (res, u) = run_measured(&c);
    bounded(
        "docker config passwords (Action, the real registry refusing them)",
        "leaks::docker_config_passwords_are_masked_first",
        1,
        u,
        RSS_MIB,
        WALL_S,
    );
    assert_eq!(
        res.code,
        1,
        "the registry refuses that password:\n{}",
        res.all()
    );
    assert_masks_first(&res, &[config_password, &auth, &pem, PASSWORD]);
    assert_no_leak(&res, &r, &[config_password, &auth, &pem, PASSWORD]);
}

/// A kubeconfig's token is masked before any other line when the Action provisions `k8s://…`.
#[test]
fn kubeconfig_tokens_are_masked_first() {
    let r = Runner::new();
    let token = "kubeconfig-token-secret-5517";
    let kc = r.path().join("kubeconfig");
    std::fs::write(
        &kc,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: c\n\
             contexts: [{{name: c, context: {{cluster: k, user: u}}}}]\n\
             clusters: [{{name: k, cluster: {{server: 'http://127.0.0.1:1'}}}}]\n\
             users: [{{name: u, user: {{token: {token}}}}}]\n"
        ),
    )
    .unwrap();
    let mut c = r.action("workflow_dispatch");
    c.env("KUBECONFIG", &kc).env("COSIGN_PASSWORD", PASSWORD);
    input(&mut c, "generate-key-pair", "k8s://ns/name");
    let (res, u) = run_measured(&c);
    bounded(
        "a kubeconfig's token (Action, `generate-key-pair: k8s://…`)",
        "leaks::kubeconfig_tokens_are_masked_first",
        res.code,
        u,
        RSS_MIB,
        WALL_S,
    );
    assert_eq!(res.code, 1, "nothing listens there:\n{}", res.all());
    assert_masks_first(&res, &[token, PASSWORD]);
    assert_no_leak(&res, &r, &[token, PASSWORD]);
}

/// A generated password and key pair (no `COSIGN_PASSWORD`): masked before any other line, never shown.
/// The secrets are read back from what the fake GitHub received (opened with libsodium).
#[test]
fn generated_passwords_and_keys_are_masked_before_any_other_line() {
    let token = crate::action::SECRETS_TOKEN;
    let gh = crate::secrets::Peer::start("fake_github.py", &["--token", token]);
    let r = Runner::with_event("workflow_dispatch", r#"{"inputs":{}}"#);
    let mut c = r.action("workflow_dispatch");
    c.env("GITHUB_API_URL", gh.url());
    input(&mut c, "generate-key-pair", "github://acme/app");
    input(&mut c, "secrets-token", token);
    let (res, u) = run_measured(&c);
    bounded(
        "generated password and key (Action, `generate-key-pair: github://…`)",
        "leaks::generated_passwords_and_keys_are_masked_before_any_other_line",
        0,
        u,
        RSS_MIB,
        WALL_S,
    );
    let res = res.ok();
    let stored: Vec<(String, String)> = gh
        .records()
        .iter()
        .filter(|r| r["method"] == "PUT")
        .filter_map(|r| {
            let name = r["path"].as_str()?.rsplit('/').next()?.to_string();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(r["opened_b64"].as_str()?)
                .ok()?;
            Some((name, String::from_utf8(bytes).ok()?))
        })
        .collect();
    let get = |n: &str| {
        stored
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{n} not stored: {stored:?}"))
    };
    let password = get("COSIGN_PASSWORD");
    let private = get("COSIGN_PRIVATE_KEY");
    assert!(password.len() >= 32, "a generated password");
    assert_masks_first(&res, &[&password, &private, token]);
    assert_no_leak(&res, &r, &[&password, &private, token]);
}

/// `import-key-pair`, then the Action, as a user bringing an existing RSA key would: the PEM that was
/// imported and the password never show in `import-key-pair`'s output; in the Action the imported key
/// (`key: env://COSIGN_PRIVATE_KEY`) and its password are masked before any other line and never leak
/// (nor does the unencrypted PEM); the image is signed in both layouts, verified by the Action
/// (`verify: true`), and cosign v3 verifies each layout.
#[test]
fn an_imported_rsa_key_signs_in_the_action_and_is_masked_first() {
    let reg = TestRegistry::start();
    let digest = reg.push_image("acme/app", "v1", "imported-rsa");
    let r = Runner::new();
    let d = r.path();
    crate::support::openssl(d, &["genrsa", "-out", "rsa.pem", "3072"]);
    let plain = std::fs::read_to_string(d.join("rsa.pem")).unwrap();
    let imported = run(ferrosign(d)
        .args(["import-key-pair", "--key", "rsa.pem", "-o", "rsa"])
        .env("COSIGN_PASSWORD", PASSWORD))
    .ok();
    for line in plain.lines().chain([PASSWORD]).filter(|l| l.len() > 8) {
        assert!(
            !imported.all().contains(line),
            "import-key-pair echoed a secret line: {}",
            imported.all()
        );
    }
    let pem = std::fs::read_to_string(d.join("rsa.key")).unwrap();
    let image = format!("{}/acme/app@{digest}", reg.addr);
    let mut c = r.action("push");
    c.env("COSIGN_PRIVATE_KEY", &pem)
        .env("COSIGN_PASSWORD", PASSWORD);
    input(&mut c, "images", &image);
    input(&mut c, "key", "env://COSIGN_PRIVATE_KEY");
    input(&mut c, "tlog-upload", "false");
    input(&mut c, "allow-insecure-registry", "true");
    input(&mut c, "verify", "true");
    let res = run(&mut c).ok();
    assert_masks_first(&res, &[&pem, PASSWORD]);
    assert_no_leak(&res, &r, &[&pem, PASSWORD, &plain]);
    for extra in [&[][..], &["--new-bundle-format=false"][..]] {
        let v = run(cosign(3, d)
            .args(["verify", "--key", "rsa.pub", "--insecure-ignore-tlog"])
            .arg("--allow-http-registry")
            .args(extra)
            .arg(&image));
        assert_eq!(v.code, 0, "cosign v3 verify {extra:?}: {}", v.all());
    }
}
