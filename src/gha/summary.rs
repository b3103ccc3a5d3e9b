//! What a signing run reports to the workflow: the job summary (Markdown), the step outputs and the
//! `json` output. A view of the run's results that depends on no signing module, so the signing code can
//! change shape without touching the renderer.

use serde::Serialize;

/// The public-good Rekor instance; its entries have a search page.
pub const PUBLIC_REKOR: &str = "https://rekor.sigstore.dev";
/// The public-good Fulcio instance.
pub const PUBLIC_FULCIO: &str = "https://fulcio.sigstore.dev";

/// Who signed: a key or a keyless (Fulcio certificate) identity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "mode", rename_all = "kebab-case")]
pub enum Signer {
    /// A private key.
    Key {
        /// hex SHA-256 of the DER public key
        key_fingerprint: String,
    },
    /// A short-lived Fulcio certificate for the workflow's identity.
    Keyless {
        /// the certificate's subject (SAN), e.g. the workflow URL
        certificate_identity: String,
        /// the OIDC issuer
        certificate_oidc_issuer: String,
    },
}

impl Signer {
    fn mode(&self) -> &'static str {
        match self {
            Signer::Key { .. } => "key",
            Signer::Keyless { .. } => "keyless",
        }
    }
}

/// One manifest that was signed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SignedImage {
    /// the repository, without tag or digest (`ghcr.io/acme/app`)
    pub repository: String,
    /// the signed manifest's digest (`sha256:…`)
    pub digest: String,
    /// what was written: the signature's reference (`…:sha256-<hex>.sig` or the referrer's digest)
    pub signature: String,
    /// who signed
    #[serde(flatten)]
    pub signer: Signer,
    /// the Rekor log index, when the signature was uploaded
    pub rekor_log_index: Option<u64>,
    /// a link to the Rekor entry
    pub rekor_entry_url: Option<String>,
    /// true/false when verified after signing; absent when not checked
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
}

impl SignedImage {
    /// `repository@digest`.
    pub fn reference(&self) -> String {
        format!("{}@{}", self.repository, self.digest)
    }
}

/// An image that was not signed, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FailedImage {
    /// the image as given
    pub image: String,
    /// the error line
    pub error: String,
}

/// Options a verifier needs to repeat what this run did (they shape the `cosign verify` command).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct VerifyHints {
    /// the Rekor URL when it is not the public-good instance
    pub rekor_url: Option<String>,
    /// false when the signatures were not uploaded to a transparency log
    pub tlog_upload: bool,
    /// a trusted root file the signer used (private Sigstore deployments)
    pub trusted_root: Option<String>,
    /// the registry was reached without TLS verification
    pub allow_insecure_registry: bool,
}

/// Everything a signing run reports.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// what was signed, in order
    pub images: Vec<SignedImage>,
    /// what was not
    pub failed: Vec<FailedImage>,
    /// how to verify
    #[serde(skip)]
    pub verify: VerifyHints,
}

/// The link to a Rekor entry: the search page for the public-good log, the API entry otherwise.
pub fn rekor_entry_url(rekor_url: &str, log_index: u64) -> String {
    let base = rekor_url.trim_end_matches('/');
    if base == PUBLIC_REKOR {
        format!("https://search.sigstore.dev/?logIndex={log_index}")
    } else {
        format!("{base}/api/v1/log/entries?logIndex={log_index}")
    }
}

/// Quotes a shell word when it has characters a POSIX shell would interpret.
pub fn shell_quote(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@%+=:,./_-".contains(&b));
    if safe {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// The `cosign verify` command a consumer runs for one signed image.
pub fn cosign_verify_command(image: &SignedImage, hints: &VerifyHints) -> String {
    let mut args: Vec<String> = vec!["cosign".into(), "verify".into()];
    match &image.signer {
        Signer::Key { .. } => args.extend(["--key".into(), "cosign.pub".into()]),
        Signer::Keyless {
            certificate_identity,
            certificate_oidc_issuer,
        } => args.extend([
            "--certificate-identity".into(),
            certificate_identity.clone(),
            "--certificate-oidc-issuer".into(),
            certificate_oidc_issuer.clone(),
        ]),
    }
    if let Some(url) = &hints.rekor_url {
        args.extend(["--rekor-url".into(), url.clone()]);
    }
    if let Some(root) = &hints.trusted_root {
        args.extend(["--trusted-root".into(), root.clone()]);
    }
    if !hints.tlog_upload {
        args.push("--insecure-ignore-tlog=true".into());
    }
    if hints.allow_insecure_registry {
        args.push("--allow-insecure-registry".into());
    }
    args.push(image.reference());
    args.iter()
        .map(|a| shell_quote(a))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Text for a table cell: no line breaks, `|` escaped, inside a code span that its content cannot close.
fn code_cell(text: &str) -> String {
    let text = text.replace(['\r', '\n'], " ").replace('|', "\\|");
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// Plain table-cell text: no line breaks, no `|`, no HTML.
fn text_cell(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The job summary: a heading, one table (image@digest | mode | identity or key | Rekor entry), the
/// images that failed, and the exact `cosign verify` commands in a `<details>` block.
pub fn render_markdown(report: &Report) -> String {
    let mut md = String::new();
    let n = report.images.len();
    md.push_str(&format!(
        "### ferrosign signed {n} image{}\n\n",
        if n == 1 { "" } else { "s" }
    ));
    if n > 0 {
        md.push_str("| image | mode | identity or key | Rekor entry |\n|---|---|---|---|\n");
        for img in &report.images {
            let who = match &img.signer {
                Signer::Key { key_fingerprint } => {
                    format!("key {}", code_cell(&format!("sha256:{key_fingerprint}")))
                }
                Signer::Keyless {
                    certificate_identity,
                    certificate_oidc_issuer,
                } => format!(
                    "{} from {}",
                    code_cell(certificate_identity),
                    code_cell(certificate_oidc_issuer)
                ),
            };
            let rekor = match (img.rekor_log_index, &img.rekor_entry_url) {
                (Some(i), Some(url)) => format!("[{i}]({})", text_cell(url)),
                (Some(i), None) => i.to_string(),
                _ => "not uploaded".into(),
            };
            let mode = match img.verified {
                Some(true) => format!("{} (verified)", img.signer.mode()),
                Some(false) => format!("{} (verification failed)", img.signer.mode()),
                None => img.signer.mode().to_string(),
            };
            md.push_str(&format!(
                "| {} | {mode} | {who} | {rekor} |\n",
                code_cell(&img.reference())
            ));
        }
        md.push('\n');
    }
    if !report.failed.is_empty() {
        md.push_str(&format!("**Not signed ({}):**\n\n", report.failed.len()));
        for f in &report.failed {
            md.push_str(&format!(
                "- {}: {}\n",
                code_cell(&f.image),
                text_cell(&f.error)
            ));
        }
        md.push('\n');
    }
    if n > 0 {
        md.push_str("<details><summary>Verify with cosign</summary>\n\n");
        if report
            .images
            .iter()
            .any(|i| matches!(i.signer, Signer::Key { .. }))
        {
            md.push_str(
                "`cosign.pub` is the public key whose SHA-256 fingerprint is shown above.\n\n",
            );
        }
        md.push_str("```sh\n");
        for img in &report.images {
            md.push_str(&cosign_verify_command(img, &report.verify));
            md.push('\n');
        }
        md.push_str("```\n\n</details>\n\n");
    }
    md
}

/// The step outputs, in order: `digests`, `signatures`, `rekor-log-indexes` (one line per signed
/// manifest, aligned; an empty line where there is no log entry), `certificate-identity`,
/// `certificate-oidc-issuer` (keyless; empty otherwise) and `json` (the whole report).
pub fn outputs(report: &Report) -> Vec<(&'static str, String)> {
    let lines = |f: &dyn Fn(&SignedImage) -> String| {
        report.images.iter().map(f).collect::<Vec<_>>().join("\n")
    };
    let keyless = report.images.iter().find_map(|i| match &i.signer {
        Signer::Keyless {
            certificate_identity,
            certificate_oidc_issuer,
        } => Some((
            certificate_identity.clone(),
            certificate_oidc_issuer.clone(),
        )),
        Signer::Key { .. } => None,
    });
    let (identity, issuer) = keyless.unwrap_or_default();
    // Serializing plain strings, numbers and options cannot fail.
    let json = serde_json::to_string(report).unwrap_or_else(|_| "{}".into());
    vec![
        ("digests", lines(&|i| i.digest.clone())),
        ("signatures", lines(&|i| i.signature.clone())),
        (
            "rekor-log-indexes",
            lines(&|i| i.rekor_log_index.map(|n| n.to_string()).unwrap_or_default()),
        ),
        ("certificate-identity", identity),
        ("certificate-oidc-issuer", issuer),
        ("json", json),
    ]
}

/// The job summary of `generate-key-pair: TARGET`: where the secrets went and the public key to publish.
pub fn render_provisioned(target: &str, public_key_pem: &str) -> String {
    let mut md = format!(
        "### ferrosign stored a new key pair at {}\n\n",
        code_cell(target)
    );
    md.push_str(
        "Sign with `key: env://COSIGN_PRIVATE_KEY` and `COSIGN_PRIVATE_KEY` / `COSIGN_PASSWORD` from the \
         secrets. Publish the public key below as `cosign.pub`; consumers verify with \
         `cosign verify --key cosign.pub IMAGE@DIGEST`.\n\n",
    );
    if !public_key_pem.is_empty() && !public_key_pem.contains("```") {
        md.push_str(&format!("```\n{public_key_pem}\n```\n\n"));
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyless(digest: &str, index: u64) -> SignedImage {
        SignedImage {
            repository: "ghcr.io/acme/app".into(),
            digest: digest.into(),
            signature: format!("ghcr.io/acme/app:{}.sig", digest.replace(':', "-")),
            signer: Signer::Keyless {
                certificate_identity:
                    "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"
                        .into(),
                certificate_oidc_issuer: "https://token.actions.githubusercontent.com".into(),
            },
            rekor_log_index: Some(index),
            rekor_entry_url: Some(rekor_entry_url(PUBLIC_REKOR, index)),
            verified: None,
        }
    }

    #[test]
    fn summary_snapshot_keyless() {
        let report = Report {
            images: vec![keyless("sha256:aaaa", 7)],
            failed: vec![FailedImage {
                image: "ghcr.io/acme/other:v1".into(),
                error: "cannot reach ghcr.io | <b>".into(),
            }],
            verify: VerifyHints {
                tlog_upload: true,
                ..Default::default()
            },
        };
        let expected = "\
### ferrosign signed 1 image

| image | mode | identity or key | Rekor entry |
|---|---|---|---|
| `ghcr.io/acme/app@sha256:aaaa` | keyless | `https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main` from `https://token.actions.githubusercontent.com` | [7](https://search.sigstore.dev/?logIndex=7) |

**Not signed (1):**

- `ghcr.io/acme/other:v1`: cannot reach ghcr.io \\| &lt;b&gt;

<details><summary>Verify with cosign</summary>

```sh
cosign verify --certificate-identity https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main --certificate-oidc-issuer https://token.actions.githubusercontent.com ghcr.io/acme/app@sha256:aaaa
```

</details>

";
        assert_eq!(render_markdown(&report), expected);
    }

    #[test]
    fn key_mode_command_and_outputs() {
        let img = SignedImage {
            repository: "127.0.0.1:5000/app".into(),
            digest: "sha256:bb".into(),
            signature: "127.0.0.1:5000/app:sha256-bb.sig".into(),
            signer: Signer::Key {
                key_fingerprint: "ff".into(),
            },
            rekor_log_index: None,
            rekor_entry_url: None,
            verified: Some(true),
        };
        let hints = VerifyHints {
            tlog_upload: false,
            rekor_url: Some("http://127.0.0.1:3000".into()),
            ..Default::default()
        };
        assert_eq!(
            cosign_verify_command(&img, &hints),
            "cosign verify --key cosign.pub --rekor-url http://127.0.0.1:3000 --insecure-ignore-tlog=true 127.0.0.1:5000/app@sha256:bb"
        );
        let report = Report {
            images: vec![img.clone(), keyless("sha256:cc", 9)],
            failed: vec![],
            verify: hints,
        };
        let out = outputs(&report);
        let get = |n: &str| out.iter().find(|(k, _)| *k == n).unwrap().1.clone();
        assert_eq!(get("digests"), "sha256:bb\nsha256:cc");
        assert_eq!(get("rekor-log-indexes"), "\n9");
        assert_eq!(
            get("certificate-oidc-issuer"),
            "https://token.actions.githubusercontent.com"
        );
        let json: serde_json::Value = serde_json::from_str(&get("json")).unwrap();
        assert_eq!(json["images"][0]["mode"], "key");
        assert_eq!(json["images"][0]["key_fingerprint"], "ff");
        assert_eq!(json["images"][0]["verified"], true);
        assert_eq!(json["images"][1]["rekor_log_index"], 9);
        assert!(render_markdown(&report)
            .contains("| key (verified) | key `sha256:ff` | not uploaded |"));
    }

    #[test]
    fn cells_and_words_cannot_break_out() {
        assert_eq!(code_cell("a`b|c\nd"), "``a`b\\|c d``");
        assert_eq!(code_cell("`x`"), "`` `x` ``");
        assert_eq!(shell_quote("it's $(x)"), "'it'\\''s $(x)'");
        assert_eq!(
            shell_quote("https://x/y@refs/tags/v1"),
            "https://x/y@refs/tags/v1"
        );
        assert_eq!(
            rekor_entry_url("https://rekor.example/", 3),
            "https://rekor.example/api/v1/log/entries?logIndex=3"
        );
    }
}
