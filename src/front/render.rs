//! Reports rendered for people and machines: the CLI's stdout data (signed references, payload JSON,
//! signatures, keys), the `verify-blob` account, and for the Action the step outputs, the `json`
//! output and the job summary (Markdown). The only place results are rendered; operations only log.

use crate::error::Error;
use crate::gha::Ui;
use crate::request::{Report, SignReport, SignedBy, VerifyBlobReport};
use crate::signing::payload::to_json_array;
use crate::sigstore::{PUBLIC_REKOR_SEARCH_URL, PUBLIC_REKOR_URL};
use serde::Serialize;

/// Prints a report the way the CLI does (data on stdout, the account of a verification on stderr).
/// A `sign` that stopped at a failed image prints what it signed, then returns that image's error.
pub(crate) fn cli(report: Report, ui: &mut Ui) -> Result<(), Error> {
    match report {
        Report::GenerateKeyPair | Report::ImportKeyPair => {}
        Report::PublicKey(r) => {
            if r.outfile.is_none() {
                ui.data(r.pem.trim_end());
            }
        }
        Report::SignBlob(r) => {
            if r.output_signature.is_none() {
                match &r.raw {
                    // `--b64=false`: the signature's bytes, as cosign prints them (no newline)
                    Some(raw) => ui.data_bytes(raw),
                    None => ui.data(&r.signature),
                }
            }
        }
        Report::VerifyBlob(r) => blob_verified(&r, ui),
        Report::SignImages(r) => {
            for s in &r.images {
                ui.data(&s.image);
            }
            if let Some(failed) = r.failed.into_iter().next() {
                return Err(failed.error);
            }
        }
        Report::VerifyImages(r) => {
            for i in &r.images {
                ui.data(&to_json_array(&i.payloads));
            }
        }
        Report::UploadBlob(r) => ui.data(&r.reference),
        Report::Initialize(r) => {
            ui.data(&format!(
                "TUF repository {} verified at root version {}; cache {}",
                r.mirror,
                r.root_version,
                r.cache_dir.display()
            ));
            ui.data(&format!(
                "trusted root: Rekor {}",
                if r.rekor_logs.is_empty() {
                    "(none)".to_string()
                } else {
                    r.rekor_logs.join(", ")
                }
            ));
            ui.data(&format!(
                "signing config: {}",
                if r.signing_config {
                    "published"
                } else {
                    "not published"
                }
            ));
        }
    }
    Ok(())
}

/// What `verify-blob` checked (stderr, like cosign's "Verified OK"): signer, issuer, log entries.
fn blob_verified(r: &VerifyBlobReport, ui: &mut Ui) {
    ui.info("Verified OK");
    let Some(v) = &r.verified else {
        return;
    };
    if let Some(id) = &v.identity {
        ui.info(&format!("  identity: {id}"));
    }
    if let Some(iss) = &v.issuer {
        ui.info(&format!("  issuer:   {iss}"));
    }
    for e in &v.log_entries {
        let log = e.log_url.as_deref().unwrap_or("transparency log");
        let when = e
            .integrated_time
            .as_deref()
            .map(|t| format!(", integrated {t}"))
            .unwrap_or_default();
        ui.info(&format!(
            "  tlog:     {log} log index {} ({}){when}",
            e.index, e.kind
        ));
    }
    if let Some(t) = v.verified_times.iter().min() {
        ui.info(&format!("  signed:   {t} (verified time)"));
    }
    if v.log_entries.is_empty() {
        ui.warn(
            "the signature has no transparency log entry: only the signature itself was checked",
        );
    }
}

/// One manifest that was signed, as the summary and outputs show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct SummaryRow {
    /// the repository, without tag or digest (`ghcr.io/acme/app`)
    pub(crate) repository: String,
    /// the signed manifest's digest (`sha256:…`)
    pub(crate) digest: String,
    /// the layouts written: `legacy` (the `.sig` tag), `bundle` (a Sigstore bundle referrer)
    pub(crate) formats: Vec<&'static str>,
    /// the `.sig` reference written (`…:sha256-<hex>.sig`), when that layout was written
    pub(crate) signature: Option<String>,
    /// the Sigstore bundle's referrer manifest (`…@sha256:…`), when that layout was written
    pub(crate) bundle: Option<String>,
    /// who signed
    #[serde(flatten)]
    pub(crate) signed_by: SignedBy,
    /// the Rekor log index of the `.sig` signature, when it was uploaded
    pub(crate) rekor_log_index: Option<u64>,
    /// a link to that Rekor entry
    pub(crate) rekor_entry_url: Option<String>,
    /// the Rekor log index of the bundle's `dsse` entry, when it was uploaded
    pub(crate) bundle_rekor_log_index: Option<u64>,
    /// a link to that Rekor entry
    pub(crate) bundle_rekor_entry_url: Option<String>,
    /// why no bundle was written although one was asked for (the registry refused it)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) bundle_refused: Option<String>,
    /// true/false when verified after signing; absent when not checked
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) verified: Option<bool>,
    /// registry requests sent for this image (for `recursive`, counted on the index's row)
    pub(crate) requests: u64,
}

impl SummaryRow {
    /// `repository@digest`.
    pub(crate) fn reference(&self) -> String {
        format!("{}@{}", self.repository, self.digest)
    }
}

/// An image that was not signed, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct SummaryFailure {
    /// the image as given
    pub(crate) image: String,
    /// the error line
    pub(crate) error: String,
}

/// Options a verifier needs to repeat what this run did (they shape the `cosign verify` command).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub(crate) struct VerifyHints {
    /// the Rekor URL when it is not the public-good instance
    pub(crate) rekor_url: Option<String>,
    /// false when the signatures were not uploaded to a transparency log
    pub(crate) tlog_upload: bool,
    /// a trusted root file the signer used (private Sigstore deployments)
    pub(crate) trusted_root: Option<String>,
    /// the registry was reached without TLS verification
    pub(crate) allow_insecure_registry: bool,
}

/// Where the trusted root a signing run checked its answers against came from, and how old it is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub(crate) struct TrustLine {
    /// `TUF https://… (root v16)`, `file …`, `embedded public-good snapshot`
    pub(crate) source: String,
    /// `refreshed now`, `cached, refreshed 3 hours ago`, `taken 2026-11-25 (5 days old)`
    pub(crate) age: String,
}

/// Everything a signing run reports to the workflow.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SummaryReport {
    /// what was signed, in order
    pub(crate) images: Vec<SummaryRow>,
    /// the trusted root used (none with a key and no transparency log)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) trusted_root: Option<TrustLine>,
    /// what was not
    pub(crate) failed: Vec<SummaryFailure>,
    /// how to verify
    #[serde(skip)]
    pub(crate) verify: VerifyHints,
}

impl SummaryReport {
    /// The workflow's view of a signing run: one row per signed manifest (with the link to its Rekor
    /// entry), the trusted root's source and age, and each failed image with its error in the
    /// Action's words, secrets masked.
    pub(crate) fn new(report: &SignReport, hints: &VerifyHints, ui: &Ui) -> Self {
        SummaryReport {
            trusted_root: report.trust.as_ref().map(|(source, age)| TrustLine {
                source: source.clone(),
                age: age.clone(),
            }),
            images: report
                .images
                .iter()
                .map(|s| {
                    let legacy_index = s.legacy.as_ref().and_then(|l| l.rekor_log_index);
                    let bundle_index = s.bundle.as_ref().and_then(|b| b.rekor_log_index);
                    let entry_url = |index: Option<u64>| match (&s.rekor_url, index) {
                        (Some(url), Some(i)) => Some(rekor_entry_url(url, i)),
                        _ => None,
                    };
                    SummaryRow {
                        repository: s.repository.clone(),
                        digest: s.digest.clone(),
                        formats: s.formats(),
                        signature: s.legacy.as_ref().map(|l| l.signature_ref.clone()),
                        bundle: s.bundle.as_ref().map(|b| b.referrer.clone()),
                        signed_by: report.signed_by.clone(),
                        rekor_log_index: legacy_index,
                        rekor_entry_url: entry_url(legacy_index),
                        bundle_rekor_log_index: bundle_index,
                        bundle_rekor_entry_url: entry_url(bundle_index),
                        bundle_refused: s.bundle_refused.as_ref().map(|m| ui.redact(m)),
                        verified: s.verified,
                        requests: s.requests,
                    }
                })
                .collect(),
            failed: report
                .failed
                .iter()
                .map(|f| SummaryFailure {
                    image: f.image.clone(),
                    error: ui.redact(&ui.worded(&f.error.to_string())),
                })
                .collect(),
            verify: hints.clone(),
        }
    }
}

/// The link to a Rekor entry: the search page for the public-good log, the API entry otherwise.
pub(crate) fn rekor_entry_url(rekor_url: &str, log_index: u64) -> String {
    let base = rekor_url.trim_end_matches('/');
    if base == PUBLIC_REKOR_URL {
        format!("{PUBLIC_REKOR_SEARCH_URL}/?logIndex={log_index}")
    } else {
        format!("{base}/api/v1/log/entries?logIndex={log_index}")
    }
}

/// Quotes a shell word when it has characters a POSIX shell would interpret.
pub(crate) fn shell_quote(word: &str) -> String {
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
pub(crate) fn cosign_verify_command(image: &SummaryRow, hints: &VerifyHints) -> String {
    let mut args: Vec<String> = vec!["cosign".into(), "verify".into()];
    match &image.signed_by {
        SignedBy::Key { .. } => args.extend(["--key".into(), "cosign.pub".into()]),
        SignedBy::Keyless {
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

/// The job summary: a heading, one table (image@digest | mode | identity or key | formats | Rekor
/// entries), the images the registry refused a bundle for, the images that failed, and the exact
/// `cosign verify` commands in a `<details>` block.
pub(crate) fn markdown(report: &SummaryReport) -> String {
    let mut md = String::new();
    let n = report.images.len();
    md.push_str(&format!(
        "### ferrosign signed {n} image{}\n\n",
        if n == 1 { "" } else { "s" }
    ));
    if n > 0 {
        md.push_str(
            "| image | mode | identity or key | formats | Rekor entry |\n|---|---|---|---|---|\n",
        );
        for img in &report.images {
            let who = match &img.signed_by {
                SignedBy::Key { key_fingerprint } => {
                    format!("key {}", code_cell(&format!("sha256:{key_fingerprint}")))
                }
                SignedBy::Keyless {
                    certificate_identity,
                    certificate_oidc_issuer,
                } => format!(
                    "{} from {}",
                    code_cell(certificate_identity),
                    code_cell(certificate_oidc_issuer)
                ),
            };
            let entry = |index: Option<u64>, url: &Option<String>| match (index, url) {
                (Some(i), Some(url)) => Some(format!("[{i}]({})", text_cell(url))),
                (Some(i), None) => Some(i.to_string()),
                _ => None,
            };
            let entries = [
                entry(img.rekor_log_index, &img.rekor_entry_url).map(|e| (e, "`.sig`")),
                entry(img.bundle_rekor_log_index, &img.bundle_rekor_entry_url)
                    .map(|e| (e, "bundle")),
            ];
            let entries: Vec<_> = entries.into_iter().flatten().collect();
            let rekor = match entries.as_slice() {
                [] => "not uploaded".to_string(),
                [(e, _)] => e.clone(),
                many => many
                    .iter()
                    .map(|(e, what)| format!("{e} ({what})"))
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            let mut formats = img
                .formats
                .iter()
                .map(|f| if *f == "legacy" { "`.sig`" } else { "bundle" })
                .collect::<Vec<_>>()
                .join(" + ");
            if img.bundle_refused.is_some() {
                formats.push_str(" (bundle refused by the registry)");
            }
            let mode = match img.verified {
                Some(true) => format!("{} (verified)", img.signed_by.mode()),
                Some(false) => format!("{} (verification failed)", img.signed_by.mode()),
                None => img.signed_by.mode().to_string(),
            };
            md.push_str(&format!(
                "| {} | {mode} | {who} | {formats} | {rekor} |\n",
                code_cell(&img.reference())
            ));
        }
        md.push('\n');
    }
    if let Some(t) = &report.trusted_root {
        md.push_str(&format!(
            "Trusted root: {} ({})\n\n",
            text_cell(&t.source),
            text_cell(&t.age)
        ));
    }
    let refused: Vec<&SummaryRow> = report
        .images
        .iter()
        .filter(|i| i.bundle_refused.is_some())
        .collect();
    if let Some(first) = refused.first() {
        md.push_str(&format!(
            "**No Sigstore bundle for {} image{}:** the registry refused a manifest with a `subject` \
             (OCI 1.1): {}. Their `.sig` signatures were written; cosign v3 and v2.6.3+ read them as long \
             as no one attaches a bundle to the image.\n\n",
            refused.len(),
            if refused.len() == 1 { "" } else { "s" },
            text_cell(first.bundle_refused.as_deref().unwrap_or_default())
        ));
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
            .any(|i| matches!(i.signed_by, SignedBy::Key { .. }))
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

/// The step outputs, in order: `digests`, `signature-formats`, `signatures`, `bundles`,
/// `rekor-log-indexes`, `bundle-rekor-log-indexes` (one line per signed manifest, aligned; an empty
/// line where that layout or log entry is absent), `certificate-identity`, `certificate-oidc-issuer`
/// (keyless; empty otherwise) and `json` (the whole report).
pub fn outputs(report: &SummaryReport) -> Vec<(&'static str, String)> {
    let lines = |f: &dyn Fn(&SummaryRow) -> String| {
        report.images.iter().map(f).collect::<Vec<_>>().join("\n")
    };
    let keyless = report.images.iter().find_map(|i| match &i.signed_by {
        SignedBy::Keyless {
            certificate_identity,
            certificate_oidc_issuer,
        } => Some((
            certificate_identity.clone(),
            certificate_oidc_issuer.clone(),
        )),
        SignedBy::Key { .. } => None,
    });
    let (identity, issuer) = keyless.unwrap_or_default();
    // Serializing plain strings, numbers and options cannot fail.
    let json = serde_json::to_string(report).unwrap_or_else(|_| "{}".into());
    vec![
        ("digests", lines(&|i| i.digest.clone())),
        ("signature-formats", lines(&|i| i.formats.join(","))),
        (
            "signatures",
            lines(&|i| i.signature.clone().unwrap_or_default()),
        ),
        ("bundles", lines(&|i| i.bundle.clone().unwrap_or_default())),
        (
            "rekor-log-indexes",
            lines(&|i| i.rekor_log_index.map(|n| n.to_string()).unwrap_or_default()),
        ),
        (
            "bundle-rekor-log-indexes",
            lines(&|i| {
                i.bundle_rekor_log_index
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            }),
        ),
        ("certificate-identity", identity),
        ("certificate-oidc-issuer", issuer),
        ("json", json),
    ]
}

/// The job summary of `generate-key-pair: TARGET`: where the secrets went and the public key to publish.
pub(crate) fn provisioned(target: &str, public_key_pem: &str) -> String {
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

    fn keyless(digest: &str, index: u64) -> SummaryRow {
        SummaryRow {
            repository: "ghcr.io/acme/app".into(),
            digest: digest.into(),
            formats: vec!["legacy", "bundle"],
            signature: Some(format!("ghcr.io/acme/app:{}.sig", digest.replace(':', "-"))),
            bundle: Some("ghcr.io/acme/app@sha256:dddd".into()),
            signed_by: SignedBy::Keyless {
                certificate_identity:
                    "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"
                        .into(),
                certificate_oidc_issuer: "https://token.actions.githubusercontent.com".into(),
            },
            rekor_log_index: Some(index),
            rekor_entry_url: Some(rekor_entry_url(PUBLIC_REKOR_URL, index)),
            bundle_rekor_log_index: Some(index + 1),
            bundle_rekor_entry_url: Some(rekor_entry_url(PUBLIC_REKOR_URL, index + 1)),
            bundle_refused: None,
            verified: None,
            requests: 8,
        }
    }

    #[test]
    fn summary_snapshot_keyless() {
        let report = SummaryReport {
            images: vec![keyless("sha256:aaaa", 7)],
            trusted_root: Some(TrustLine {
                source: "TUF https://tuf-repo-cdn.sigstore.dev (root v16)".into(),
                age: "refreshed now".into(),
            }),
            failed: vec![SummaryFailure {
                image: "ghcr.io/acme/other:v1".into(),
                error: "cannot reach ghcr.io | <b>".into(),
            }],
            verify: VerifyHints {
                tlog_upload: true,
                ..Default::default()
            },
        };
        insta::assert_snapshot!(markdown(&report));
    }

    #[test]
    fn key_mode_command_and_outputs() {
        let img = SummaryRow {
            repository: "127.0.0.1:5000/app".into(),
            digest: "sha256:bb".into(),
            formats: vec!["legacy"],
            signature: Some("127.0.0.1:5000/app:sha256-bb.sig".into()),
            bundle: None,
            signed_by: SignedBy::Key {
                key_fingerprint: "ff".into(),
            },
            rekor_log_index: None,
            rekor_entry_url: None,
            bundle_rekor_log_index: None,
            bundle_rekor_entry_url: None,
            bundle_refused: Some("MANIFEST_INVALID: subject".into()),
            verified: Some(true),
            requests: 8,
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
        let report = SummaryReport {
            images: vec![img.clone(), keyless("sha256:cc", 9)],
            trusted_root: None,
            failed: vec![],
            verify: hints,
        };
        let out = outputs(&report);
        let get = |n: &str| out.iter().find(|(k, _)| *k == n).unwrap().1.clone();
        assert_eq!(get("digests"), "sha256:bb\nsha256:cc");
        assert_eq!(get("rekor-log-indexes"), "\n9");
        assert_eq!(get("bundle-rekor-log-indexes"), "\n10");
        assert_eq!(get("signature-formats"), "legacy\nlegacy,bundle");
        assert_eq!(get("bundles"), "\nghcr.io/acme/app@sha256:dddd");
        assert_eq!(
            get("certificate-oidc-issuer"),
            "https://token.actions.githubusercontent.com"
        );
        let json: serde_json::Value = serde_json::from_str(&get("json")).unwrap();
        assert_eq!(json["images"][0]["mode"], "key");
        assert_eq!(json["images"][0]["key_fingerprint"], "ff");
        assert_eq!(json["images"][0]["verified"], true);
        assert_eq!(json["images"][1]["rekor_log_index"], 9);
        assert_eq!(
            json["images"][1]["formats"],
            serde_json::json!(["legacy", "bundle"])
        );
        assert_eq!(
            json["images"][0]["bundle_refused"],
            "MANIFEST_INVALID: subject"
        );
        let md = markdown(&report);
        assert!(
            md.contains("| key (verified) | key `sha256:ff` | `.sig` (bundle refused by the registry) | not uploaded |"),
            "{md}"
        );
        assert!(md.contains("**No Sigstore bundle for 1 image:**"), "{md}");
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
