//! `generate-key-pair github://…` and `k8s://…` against fakes of the GitHub and Kubernetes APIs on
//! loopback (tests/peers/*.py). Real libsodium (PyNaCl) opens every sealed box the fake GitHub receives;
//! the key pair that comes out must load in ferrosign with the password that comes out, sign, verify
//! against COSIGN_PUBLIC_KEY, and load in the real cosign v2 and v3.

use crate::support::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const TOKEN: &str = "ghs_fake_token_for_tests_0123456789";
const NAMES: [&str; 3] = ["COSIGN_PASSWORD", "COSIGN_PRIVATE_KEY", "COSIGN_PUBLIC_KEY"];

/// The Python that has PyNaCl (installed by scripts/peers.sh `install_pynacl`).
fn python() -> PathBuf {
    let path = std::env::var("FERROSIGN_PYNACL_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            let cache = std::env::var("FERROSIGN_CACHE").unwrap_or_else(|_| {
                format!(
                    "{}/.cache/ferrosign",
                    std::env::var("HOME").unwrap_or_default()
                )
            });
            PathBuf::from(cache).join("pynacl-venv/bin/python")
        });
    assert!(
        path.is_file(),
        "PyNaCl's python not found at {} (FERROSIGN_PYNACL_PYTHON): run `bash scripts/test.sh`, which installs it",
        path.display()
    );
    path
}

/// A fake API server (a Python script under tests/peers/) on a free loopback port.
pub struct Peer {
    child: Child,
    pub port: u16,
    record: PathBuf,
    _dir: tempfile::TempDir,
}

impl Peer {
    pub fn start(script: &str, args: &[&str]) -> Peer {
        let dir = tempdir();
        let record = dir.path().join("records.json");
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/peers")
            .join(script);
        let mut child = Command::new(python())
            .arg(&script)
            .arg("--record")
            .arg(&record)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", script.display()));
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("port line");
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{} printed no port: {line:?}", script.display()));
        Peer {
            child,
            port,
            record,
            _dir: dir,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every request the fake saw, in order.
    pub fn records(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.record).expect("records");
        serde_json::from_str(&text).expect("records json")
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn b64(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .expect("base64")
}

fn fake_github(args: &[&str]) -> Peer {
    let mut all = vec!["--token", TOKEN];
    all.extend_from_slice(args);
    Peer::start("fake_github.py", &all)
}

/// `ferrosign generate-key-pair ARGS…` against the fake, with GITHUB_TOKEN and GITHUB_API_URL set.
fn gen_github(dir: &Path, gh: &Peer, args: &[&str], password: Option<&str>) -> Run {
    let mut c = ferrosign(dir);
    c.arg("generate-key-pair")
        .args(args)
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_API_URL", gh.url());
    if let Some(pw) = password {
        c.env("COSIGN_PASSWORD", pw);
    }
    run(&mut c)
}

/// The PUTs the fake accepted: secret name → what real libsodium found in the sealed box.
fn opened(records: &[Value]) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for r in records.iter().filter(|r| r["method"] == "PUT") {
        assert!(
            r["open_error"].is_null(),
            "libsodium could not open a box: {r}"
        );
        if let Some(o) = r["opened_b64"].as_str() {
            let name = r["path"].as_str().unwrap().rsplit('/').next().unwrap();
            out.insert(name.to_string(), b64(o));
        }
    }
    out
}

fn puts(records: &[Value]) -> Vec<&Value> {
    records.iter().filter(|r| r["method"] == "PUT").collect()
}

/// Asserts that the opened secrets are a working cosign key pair: the private key decrypts with the
/// password in ferrosign and in cosign v2/v3, signs, and the signatures verify against
/// COSIGN_PUBLIC_KEY, which is also what was written to `dir/cosign.pub`. Returns the password.
fn check_key_pair(dir: &Path, secrets: &BTreeMap<String, Vec<u8>>) -> String {
    let text = |n: &str| {
        String::from_utf8(
            secrets
                .get(n)
                .unwrap_or_else(|| panic!("{n} missing"))
                .clone(),
        )
        .expect("utf8")
    };
    let (pw, key, public) = (
        text("COSIGN_PASSWORD"),
        text("COSIGN_PRIVATE_KEY"),
        text("COSIGN_PUBLIC_KEY"),
    );
    assert!(
        key.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"),
        "{key}"
    );
    assert!(
        public.starts_with("-----BEGIN PUBLIC KEY-----\n"),
        "{public}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("cosign.pub")).expect("local cosign.pub"),
        public,
        "the local cosign.pub is COSIGN_PUBLIC_KEY"
    );
    let d = tempdir();
    let p = d.path();
    std::fs::write(p.join("opened.key"), &key).unwrap();
    std::fs::write(p.join("opened.pub"), &public).unwrap();
    std::fs::write(p.join("f.txt"), b"provisioned").unwrap();
    run(ferrosign(p)
        .args(["sign-blob", "--key", "opened.key", "--tlog-upload=false"])
        .args(["--output-signature", "f.sig", "f.txt"])
        .env("COSIGN_PASSWORD", &pw))
    .ok();
    run(ferrosign(p).args([
        "verify-blob",
        "--key",
        "opened.pub",
        "--signature",
        "f.sig",
        "f.txt",
    ]))
    .ok();
    for major in [2, 3] {
        let r = run(cosign(major, p)
            .args(["public-key", "--key", "opened.key"])
            .env("COSIGN_PASSWORD", &pw));
        assert_eq!(
            r.code,
            0,
            "cosign v{major} cannot load the key: {}",
            r.all()
        );
        assert_eq!(r.stdout.trim(), public.trim(), "cosign v{major}");
        let mut c = cosign(major, p);
        c.args(["sign-blob", "--key", "opened.key", "--tlog-upload=false"])
            .args(["--output-signature", &format!("c{major}.sig")]);
        if major == 3 {
            c.args(["--use-signing-config=false", "--new-bundle-format=false"]);
        }
        let r = run(c.arg("f.txt").env("COSIGN_PASSWORD", &pw));
        assert_eq!(r.code, 0, "cosign v{major} sign-blob: {}", r.all());
        run(ferrosign(p)
            .args(["verify-blob", "--key", "opened.pub"])
            .args(["--signature", &format!("c{major}.sig"), "f.txt"]))
        .ok();
    }
    pw
}

/// No password and no line of the private key's body anywhere in what the run printed.
fn assert_no_secret_in(out: &str, secrets: &BTreeMap<String, Vec<u8>>) {
    let pw = String::from_utf8_lossy(&secrets["COSIGN_PASSWORD"]).into_owned();
    if !pw.is_empty() {
        assert!(!out.contains(&pw), "the password was printed:\n{out}");
    }
    let key = String::from_utf8_lossy(&secrets["COSIGN_PRIVATE_KEY"]).into_owned();
    for line in key
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() > 8)
    {
        assert!(
            !out.contains(line),
            "a private key line was printed:\n{out}"
        );
    }
}

#[test]
fn repo_secrets_open_with_libsodium_and_load_in_cosign() {
    let gh = fake_github(&[]);
    let d = tempdir();
    let r = gen_github(d.path(), &gh, &["github://acme/app"], None).ok();
    let records = gh.records();
    // Access and the guard were checked first, then the three PUTs, public key last.
    let calls: Vec<String> = records
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["method"].as_str().unwrap(),
                r["path"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        calls,
        [
            "GET /repos/acme/app/actions/secrets/public-key",
            "GET /repos/acme/app/actions/secrets/COSIGN_PUBLIC_KEY",
            "PUT /repos/acme/app/actions/secrets/COSIGN_PASSWORD",
            "PUT /repos/acme/app/actions/secrets/COSIGN_PRIVATE_KEY",
            "PUT /repos/acme/app/actions/secrets/COSIGN_PUBLIC_KEY",
        ]
    );
    for rec in &records {
        assert_eq!(rec["authorization_ok"], true, "{rec}");
        assert_eq!(rec["accept"], "application/vnd.github+json");
        assert_eq!(rec["api_version"], "2022-11-28");
        assert!(rec["user_agent"]
            .as_str()
            .unwrap()
            .starts_with("ferrosign/"));
    }
    for put in puts(&records) {
        assert_eq!(put["status"], 201, "{put}");
        assert!(put["body"].get("visibility").is_none(), "{put}");
    }
    let secrets = opened(&records);
    assert_eq!(secrets.keys().collect::<Vec<_>>(), NAMES);
    let pw = check_key_pair(d.path(), &secrets);
    assert!(pw.len() >= 32, "generated password too short: {}", pw.len());
    assert!(pw.chars().all(|c| c.is_ascii_graphic()));
    assert_no_secret_in(&r.all(), &secrets);
    assert!(
        r.stderr
            .contains("COSIGN_PUBLIC_KEY Actions secret of repository acme/app"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("Public key also written to cosign.pub"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stdout, "");
    assert!(
        !d.path().join("cosign.key").exists(),
        "no private key on disk"
    );
}

#[test]
fn environment_secrets_use_cosign_password_when_set() {
    let gh = fake_github(&[]);
    let d = tempdir();
    let pw = "an env password, with spaces";
    gen_github(
        d.path(),
        &gh,
        &["github://acme/app", "--github-environment", "prod eu"],
        Some(pw),
    )
    .ok();
    let records = gh.records();
    assert_eq!(
        records[0]["path"],
        "/repos/acme/app/environments/prod%20eu/secrets/public-key"
    );
    assert!(records.iter().all(|r| r["environment"] == "prod eu"));
    let secrets = opened(&records);
    assert_eq!(secrets.len(), 3);
    assert_eq!(check_key_pair(d.path(), &secrets), pw);
}

#[test]
fn organisation_secrets_carry_the_visibility() {
    let gh = fake_github(&[]);
    let d = tempdir();
    let r = gen_github(
        d.path(),
        &gh,
        &["github://acme", "--github-visibility", "selected"],
        Some(""),
    )
    .ok();
    let records = gh.records();
    assert_eq!(records[0]["path"], "/orgs/acme/actions/secrets/public-key");
    for put in puts(&records) {
        assert_eq!(put["body"]["visibility"], "selected", "{put}");
    }
    let secrets = opened(&records);
    assert_eq!(
        check_key_pair(d.path(), &secrets),
        "",
        "an empty COSIGN_PASSWORD is kept"
    );
    assert!(
        r.stderr.contains("no repository can read them"),
        "{}",
        r.stderr
    );
    // The default visibility is `private`.
    let gh = fake_github(&[]);
    let d = tempdir();
    gen_github(d.path(), &gh, &["github://acme"], None).ok();
    for put in puts(&gh.records()) {
        assert_eq!(put["body"]["visibility"], "private", "{put}");
    }
}

#[test]
fn forbidden_token_changes_nothing_and_says_why() {
    let gh = fake_github(&["--status", "/public-key:403"]);
    let d = tempdir();
    gen_github(d.path(), &gh, &["github://acme/app"], None)
        .fails(1, "GitHub answered 403")
        .hint("the job's GITHUB_TOKEN cannot write secrets: use a token with secrets write permission");
    assert!(puts(&gh.records()).is_empty());
    assert!(!d.path().join("cosign.pub").exists());
}

#[test]
fn bad_token_unknown_repo_and_missing_token() {
    let gh = fake_github(&[]);
    let d = tempdir();
    run(ferrosign(d.path())
        .args(["generate-key-pair", "github://acme/app"])
        .env("GITHUB_TOKEN", "wrong")
        .env("GITHUB_API_URL", gh.url()))
    .fails(1, "GitHub answered 401 (Bad credentials)")
    .hint("secrets write permission");
    gen_github(d.path(), &gh, &["github://acme/nope"], None)
        .fails(1, "repository acme/nope: GitHub answered 404")
        .hint("check that repository acme/nope exists");
    gen_github(
        d.path(),
        &gh,
        &["github://acme/app", "--github-environment", "staging"],
        None,
    )
    .fails(1, "GitHub answered 404")
    .hint("environment `staging` of repository acme/app exists");
    run(ferrosign(d.path())
        .args(["generate-key-pair", "github://acme/app"])
        .env("GITHUB_API_URL", gh.url()))
    .fails(2, "GITHUB_TOKEN is not set")
    .hint("Secrets");
    assert!(puts(&gh.records()).is_empty());
    assert!(!d.path().join("cosign.pub").exists());
}

#[test]
fn failure_on_the_second_put_reports_what_was_written() {
    let gh = fake_github(&["--fail-put-attempt", "2:422"]);
    let d = tempdir();
    let r = gen_github(d.path(), &gh, &["github://acme/app"], None).fails(
        1,
        "error: written: COSIGN_PASSWORD; not written: COSIGN_PRIVATE_KEY, COSIGN_PUBLIC_KEY: \
         writing secret COSIGN_PRIVATE_KEY to repository acme/app: GitHub answered 422",
    );
    let r = r.hint("rerun the same command");
    let records = gh.records();
    let p = puts(&records);
    assert_eq!(p.len(), 2, "no PUT after the failed one");
    assert_eq!(
        opened(&records).keys().collect::<Vec<_>>(),
        ["COSIGN_PASSWORD"]
    );
    assert!(
        !d.path().join("cosign.pub").exists(),
        "no cosign.pub for a half-stored key"
    );
    assert!(
        r.stderr.contains("Password written to the COSIGN_PASSWORD"),
        "{}",
        r.stderr
    );
}

#[test]
fn transient_faults_are_retried() {
    let gh = fake_github(&["--fail-put-attempt", "1:502", "--fail-put-attempt", "3:503"]);
    let d = tempdir();
    gen_github(d.path(), &gh, &["github://acme/app"], None).ok();
    let records = gh.records();
    assert_eq!(puts(&records).len(), 5);
    check_key_pair(d.path(), &opened(&records));
}

#[test]
fn an_existing_public_key_stops_the_run_unless_forced() {
    let gh = fake_github(&["--existing", "COSIGN_PUBLIC_KEY"]);
    let d = tempdir();
    gen_github(d.path(), &gh, &["github://acme/app"], None)
        .fails(
            1,
            "repository acme/app already has a COSIGN_PUBLIC_KEY secret: nothing was changed",
        )
        .hint("--force");
    assert!(puts(&gh.records()).is_empty(), "nothing PUT");
    assert!(!d.path().join("cosign.pub").exists());
    let r = gen_github(d.path(), &gh, &["github://acme/app", "--force"], None).ok();
    assert!(r.stderr.contains("replacing the key pair"), "{}", r.stderr);
    let records = gh.records();
    let p = puts(&records);
    assert_eq!(p.len(), 3);
    assert_eq!(p[2]["status"], 204, "COSIGN_PUBLIC_KEY updated");
    check_key_pair(d.path(), &opened(&records));
}

#[test]
fn an_existing_local_public_key_file_is_kept_without_force() {
    let gh = fake_github(&[]);
    let d = tempdir();
    std::fs::write(d.path().join("cosign.pub"), "mine").unwrap();
    gen_github(d.path(), &gh, &["github://acme/app"], None)
        .fails(1, "cosign.pub already exists")
        .hint("--output-key-prefix");
    assert!(gh.records().is_empty(), "nothing sent");
    gen_github(
        d.path(),
        &gh,
        &["github://acme/app", "--output-key-prefix", "release"],
        None,
    )
    .ok();
    assert_eq!(
        std::fs::read_to_string(d.path().join("cosign.pub")).unwrap(),
        "mine"
    );
    let public = &opened(&gh.records())["COSIGN_PUBLIC_KEY"];
    assert_eq!(
        &std::fs::read(d.path().join("release.pub")).unwrap(),
        public
    );
}

#[test]
fn in_actions_secrets_are_masked_before_any_other_output() {
    let gh = fake_github(&[]);
    let d = tempdir();
    let pw = "masked-password-0123456789";
    let r = run(ferrosign(d.path())
        .args(["generate-key-pair", "github://acme/app"])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_API_URL", gh.url())
        .env("COSIGN_PASSWORD", pw))
    .ok();
    let secrets = opened(&gh.records());
    // Secrets appear only in ::add-mask:: lines, and those come first.
    let mut masking = true;
    for line in r.stdout.lines() {
        if line.starts_with("::add-mask::") {
            assert!(masking, "a mask after other output:\n{}", r.stdout);
        } else {
            masking = false;
            assert_no_secret_in(line, &secrets);
        }
    }
    assert!(
        r.stdout.contains(&format!("::add-mask::{pw}")),
        "{}",
        r.stdout
    );
    assert_no_secret_in(&r.stderr, &secrets);
}

// ---- Kubernetes ----

const KTOKEN: &str = "k8s-fake-bearer-token";

fn fake_kubernetes(args: &[&str]) -> Peer {
    Peer::start("fake_kubernetes.py", args)
}

/// A kubeconfig whose current context `test` points at `server`; another context points at a dead port.
fn kubeconfig(server: &str, cluster_extra: &str, user: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: test\nclusters:\n\
         - name: elsewhere\n  cluster: {{server: \"http://127.0.0.1:9\"}}\n\
         - name: fake\n  cluster:\n    server: {server}\n{cluster_extra}\
         contexts:\n- name: other\n  context: {{cluster: elsewhere, user: u}}\n\
         - name: test\n  context: {{cluster: fake, user: u, namespace: default}}\n\
         users:\n- name: u\n  user:\n{user}"
    )
}

/// The POSTs the fake accepted, as secret name (GitHub style) → value, for [`check_key_pair`].
fn k8s_secrets(rec: &Value) -> BTreeMap<String, Vec<u8>> {
    let d = &rec["decoded"];
    [
        ("COSIGN_PASSWORD", "cosign.password"),
        ("COSIGN_PRIVATE_KEY", "cosign.key"),
        ("COSIGN_PUBLIC_KEY", "cosign.pub"),
    ]
    .into_iter()
    .map(|(n, k)| (n.to_string(), d[k].as_str().expect(k).as_bytes().to_vec()))
    .collect()
}

fn gen_k8s(dir: &Path, home: &Path, target: &str, extra: &[(&str, &str)]) -> Run {
    let mut c = ferrosign(dir);
    c.args(["generate-key-pair", target]).env("HOME", home);
    for (k, v) in extra {
        c.env(k, v);
    }
    run(&mut c)
}

#[test]
fn k8s_secret_is_immutable_opaque_and_holds_a_working_key() {
    let k = fake_kubernetes(&["--token", KTOKEN]);
    let home = tempdir();
    std::fs::create_dir(home.path().join(".kube")).unwrap();
    std::fs::write(
        home.path().join(".kube/config"),
        kubeconfig(&k.url(), "", &format!("    token: {KTOKEN}\n")),
    )
    .unwrap();
    let d = tempdir();
    let r = gen_k8s(d.path(), home.path(), "k8s://signing/cosign-keys", &[]).ok();
    let records = k.records();
    assert_eq!(records.len(), 1, "one POST: {records:?}");
    let rec = &records[0];
    assert_eq!(rec["status"], 201, "{rec}");
    assert_eq!(rec["path"], "/api/v1/namespaces/signing/secrets");
    assert_eq!(rec["authorization_ok"], true);
    assert_eq!(rec["content_type"], "application/json");
    assert_eq!(rec["problems"], serde_json::json!([]));
    assert_eq!(rec["object"]["immutable"], true);
    assert_eq!(rec["object"]["type"], "Opaque");
    assert_eq!(rec["object"]["metadata"]["name"], "cosign-keys");
    let secrets = k8s_secrets(rec);
    let pw = check_key_pair(d.path(), &secrets);
    assert!(pw.len() >= 32, "generated password too short");
    assert_no_secret_in(&r.all(), &secrets);
    assert!(
        r.stderr
            .contains("Created immutable secret signing/cosign-keys"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("context `test`"), "{}", r.stderr);
}

/// Makes a CA, a server certificate for 127.0.0.1 and a client certificate with openssl.
fn pki(dir: &Path, ca: &str) {
    let sh = |args: &[&str]| openssl(dir, args);
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let ca_key = format!("{ca}.key");
    let ca_crt = format!("{ca}.crt");
    sh(&[
        &["req", "-x509"][..],
        &ec,
        &[
            "-keyout",
            &ca_key,
            "-out",
            &ca_crt,
            "-subj",
            "/CN=fake-k8s-ca",
            "-days",
            "1",
        ],
    ]
    .concat());
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
    for (who, cn) in [("server", "kube-apiserver"), ("client", "ferrosign-test")] {
        sh(&[
            &["req"][..],
            &ec,
            &[
                "-keyout",
                &format!("{who}.key"),
                "-out",
                &format!("{who}.csr"),
                "-subj",
                &format!("/O=system:masters/CN={cn}"),
            ],
        ]
        .concat());
        sh(&[
            "x509",
            "-req",
            "-in",
            &format!("{who}.csr"),
            "-CA",
            &ca_crt,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-out",
            &format!("{who}.crt"),
            "-days",
            "1",
            "-extfile",
            &format!("{who}.ext"),
        ]);
    }
}

#[test]
fn k8s_over_tls_with_the_cluster_ca_and_a_client_certificate() {
    use base64::Engine;
    let b64 =
        |p: &Path| base64::engine::general_purpose::STANDARD.encode(std::fs::read(p).unwrap());
    let pkd = tempdir();
    let p = pkd.path();
    pki(p, "ca");
    let k = fake_kubernetes(&[
        "--tls-cert",
        p.join("server.crt").to_str().unwrap(),
        "--tls-key",
        p.join("server.key").to_str().unwrap(),
        "--client-ca",
        p.join("ca.crt").to_str().unwrap(),
    ]);
    let server = format!("https://127.0.0.1:{}", k.port);
    // CA as data, client certificate as a path relative to the kubeconfig, client key as data.
    let cfg = kubeconfig(
        &server,
        &format!(
            "    certificate-authority-data: {}\n",
            b64(&p.join("ca.crt"))
        ),
        &format!(
            "    client-certificate: client.crt\n    client-key-data: {}\n",
            b64(&p.join("client.key"))
        ),
    );
    std::fs::write(p.join("kubeconfig"), cfg).unwrap();
    let home = tempdir();
    let d = tempdir();
    let kc = p.join("kubeconfig");
    gen_k8s(
        d.path(),
        home.path(),
        "k8s://default/cosign",
        &[("KUBECONFIG", kc.to_str().unwrap())],
    )
    .ok();
    let records = k.records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["status"], 201, "{}", records[0]);
    assert_eq!(records[0]["client_cn"], "ferrosign-test");
    let secrets = k8s_secrets(&records[0]);
    check_key_pair(d.path(), &secrets);
    // The real cosign reads the Secret back through the same kubeconfig, key and password from the
    // Secret. (client-go sends credentials over TLS only, hence here and not in the plain-HTTP test.)
    for major in [2, 3] {
        let out = run(cosign(major, d.path()).env("KUBECONFIG", &kc).args([
            "public-key",
            "--key",
            "k8s://default/cosign",
        ]));
        assert_eq!(
            out.code,
            0,
            "cosign v{major} cannot use the Secret: {}",
            out.all()
        );
        assert_eq!(
            out.stdout.trim(),
            String::from_utf8_lossy(&secrets["COSIGN_PUBLIC_KEY"]).trim()
        );
    }
    assert_eq!(k.records().len(), 3, "cosign's two reads reached the fake");

    // A kubeconfig trusting another CA does not talk to this server.
    let other = tempdir();
    pki(other.path(), "other");
    let cfg = kubeconfig(
        &server,
        &format!(
            "    certificate-authority-data: {}\n",
            b64(&other.path().join("other.crt"))
        ),
        &format!(
            "    client-certificate: {}\n    client-key: {}\n",
            p.join("client.crt").display(),
            p.join("client.key").display()
        ),
    );
    std::fs::write(other.path().join("kubeconfig"), cfg).unwrap();
    let d = tempdir();
    let kc = other.path().join("kubeconfig");
    gen_k8s(
        d.path(),
        home.path(),
        "k8s://default/cosign2",
        &[("KUBECONFIG", kc.to_str().unwrap())],
    )
    .fails(1, "cannot reach");
    assert_eq!(k.records().len(), 3, "nothing more reached the server");
    assert!(!d.path().join("cosign.pub").exists());
}

#[test]
fn k8s_existing_secret_forbidden_and_missing_namespace() {
    let k = fake_kubernetes(&["--token", KTOKEN, "--existing", "default/cosign"]);
    let home = tempdir();
    let kc = home.path().join("kubeconfig");
    std::fs::write(
        &kc,
        kubeconfig(&k.url(), "", &format!("    token: {KTOKEN}\n")),
    )
    .unwrap();
    let env = [("KUBECONFIG", kc.to_str().unwrap())];
    let d = tempdir();
    gen_k8s(d.path(), home.path(), "k8s://default/cosign", &env)
        .fails(
            1,
            "secret default/cosign already exists in the cluster: nothing was changed",
        )
        .hint("kubectl delete secret -n default cosign");
    assert!(!d.path().join("cosign.pub").exists());
    gen_k8s(d.path(), home.path(), "k8s://nowhere/cosign", &env)
        .fails(
            1,
            "Kubernetes answered 404 (namespaces \"nowhere\" not found)",
        )
        .hint("kubectl create namespace");
    let k403 = fake_kubernetes(&["--token", KTOKEN, "--status", "403"]);
    std::fs::write(
        &kc,
        kubeconfig(&k403.url(), "", &format!("    token: {KTOKEN}\n")),
    )
    .unwrap();
    gen_k8s(d.path(), home.path(), "k8s://default/cosign", &env)
        .fails(1, "Kubernetes answered 403")
        .hint("RBAC `create` on `secrets`");
    std::fs::write(&kc, kubeconfig(&k403.url(), "", "    token: wrong\n")).unwrap();
    gen_k8s(d.path(), home.path(), "k8s://default/cosign", &env)
        .fails(1, "Kubernetes answered 401")
        .hint("kubectl create token");
    assert!(!d.path().join("cosign.pub").exists());
}

#[test]
fn k8s_without_a_usable_cluster_says_what_to_do() {
    let home = tempdir();
    let d = tempdir();
    gen_k8s(d.path(), home.path(), "k8s://default/cosign", &[])
        .fails(2, "no Kubernetes cluster configured")
        .hint("KUBECONFIG");
    let kc = home.path().join("kubeconfig");
    std::fs::write(
        &kc,
        kubeconfig(
            "https://127.0.0.1:9",
            "",
            "    exec:\n      command: gke-gcloud-auth-plugin\n",
        ),
    )
    .unwrap();
    gen_k8s(
        d.path(),
        home.path(),
        "k8s://default/cosign",
        &[("KUBECONFIG", kc.to_str().unwrap())],
    )
    .fails(2, "exec credential plugin of user `u` is not supported")
    .hint("kubectl create token");
}
