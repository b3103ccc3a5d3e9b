//! The signing config: which Fulcio, Rekor logs and timestamp authorities to sign with.
//!
//! Format: protobuf-specs `SigningConfig` v0.2 (`protos/sigstore_trustroot.proto`, media type
//! `application/vnd.dev.sigstore.signingconfig.v0.2+json`), parsed with the `sigstore-trust-root`
//! model. The choice of services is ours, because that crate's helpers ignore operators, selectors and
//! counts; it follows the protobuf-specs comments as sigstore-go v1.2.2 implements them
//! (`pkg/root/signing_config.go`, what cosign v3 uses):
//! - Fulcio: among services with a supported API version (1) that are valid now, the highest version,
//!   then the newest `validFor.start`;
//! - Rekor logs (API 1 and 2) and TSAs (API 1): only services valid now with a supported version; the
//!   highest version that has any (versions are never mixed); the newest service per operator; then the
//!   selector: `ALL` every one, `ANY` one, `EXACT` the first `count` (an error when fewer exist).
//!   Where sigstore-go picks `ANY`/`EXACT` at random, ferrosign takes them in order (newest first, then
//!   as listed), which the spec allows and which keeps runs reproducible.
//!
//! Every service not chosen is recorded with the reason, so that "no usable service" errors can list
//! what the config offered and why each was left out.

use sigstore_verify::trust_root::{
    ServiceConfiguration, ServiceEndpoint, ServiceSelector, SigningConfig,
};
use std::fmt;

/// The Fulcio API versions ferrosign speaks.
const FULCIO_VERSIONS: &[u32] = &[1];
/// The Rekor API versions ferrosign speaks.
const REKOR_VERSIONS: &[u32] = &[1, 2];
/// The TSA API versions ferrosign speaks.
const TSA_VERSIONS: &[u32] = &[1];
/// The one media type accepted.
const MEDIA_TYPE: &str = "application/vnd.dev.sigstore.signingconfig.v0.2+json";

/// A kind of service in the signing config.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ServiceKind {
    /// `caUrls`
    Fulcio,
    /// `rekorTlogUrls`
    Rekor,
    /// `tsaUrls`
    Tsa,
}

impl fmt::Display for ServiceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ServiceKind::Fulcio => "certificate authority (caUrls)",
            ServiceKind::Rekor => "Rekor log (rekorTlogUrls)",
            ServiceKind::Tsa => "timestamp authority (tsaUrls)",
        })
    }
}

/// A chosen service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Service {
    /// its URL (Fulcio and Rekor: the base URL; a TSA: the full timestamp URL)
    pub(crate) url: String,
    /// its major API version
    pub(crate) version: u32,
    /// its operator, when named
    pub(crate) operator: Option<String>,
}

/// A service the config lists that was not chosen, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Skipped {
    /// the service's URL
    pub(crate) url: String,
    /// its major API version
    pub(crate) version: u32,
    /// why it was left out
    pub(crate) reason: String,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (API v{}): {}", self.url, self.version, self.reason)
    }
}

/// Why the signing config cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum SigningConfigError {
    /// Not a signing config v0.2.
    #[error("{origin} is not a Sigstore signing config v0.2: {reason}")]
    Parse {
        /// which config
        origin: String,
        /// what is wrong
        reason: String,
    },
    /// No listed service of a kind can be used.
    #[error("{origin} lists no usable {kind}: {}", describe(seen))]
    NoService {
        /// which config
        origin: String,
        /// the kind of service
        kind: ServiceKind,
        /// what it lists, and why each was skipped
        seen: Vec<Skipped>,
    },
    /// A selector ferrosign cannot apply (`SERVICE_SELECTOR_UNDEFINED`, `EXACT` without a count).
    #[error("{origin} has an unusable selector for its {kind}s: {reason}")]
    Selector {
        /// which config
        origin: String,
        /// the kind of service
        kind: ServiceKind,
        /// what is wrong
        reason: String,
    },
}

fn describe(seen: &[Skipped]) -> String {
    if seen.is_empty() {
        "it lists none".into()
    } else {
        seen.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl SigningConfigError {
    /// What the user can do about it.
    pub(crate) fn hint(&self) -> String {
        match self {
            SigningConfigError::Parse { .. } => "pass --signing-config the signing_config.v0.2.json of your Sigstore instance (the TUF target of that name)".into(),
            SigningConfigError::NoService { kind: ServiceKind::Fulcio, .. } => "name the certificate authority with --fulcio-url, or sign with --key".into(),
            SigningConfigError::NoService { kind: ServiceKind::Rekor, .. } => "name the log with --rekor-url (and --rekor-version), or sign with a key and --tlog-upload=false".into(),
            SigningConfigError::NoService { kind: ServiceKind::Tsa, .. } => "name a timestamp authority with --timestamp-server-url, or log to Rekor v1 (--rekor-version 1), whose entries carry their own time".into(),
            SigningConfigError::Selector { .. } => "fix the signing config's rekorTlogConfig/tsaConfig (selector ALL, ANY, or EXACT with a count)".into(),
        }
    }
}

/// A parsed signing config and where it came from.
#[derive(Clone, Debug)]
pub(crate) struct ServiceConfig {
    config: SigningConfig,
    origin: String,
}

impl ServiceConfig {
    /// Parses a signing config; `origin` names it in errors (`the signing config FILE`, …).
    pub(crate) fn parse(json: &[u8], origin: &str) -> Result<Self, SigningConfigError> {
        let parse = |reason: String| SigningConfigError::Parse {
            origin: origin.to_string(),
            reason,
        };
        let value: serde_json::Value =
            serde_json::from_slice(json).map_err(|e| parse(format!("not JSON: {e}")))?;
        match value.get("mediaType").and_then(|m| m.as_str()) {
            Some(MEDIA_TYPE) => {}
            Some(other) => {
                return Err(parse(format!(
                    "its mediaType is `{other}`, not {MEDIA_TYPE}"
                )))
            }
            None => return Err(parse("it has no mediaType".into())),
        }
        let config: SigningConfig =
            serde_json::from_value(value).map_err(|e| parse(e.to_string()))?;
        Ok(ServiceConfig {
            config,
            origin: origin.to_string(),
        })
    }

    /// Where the config came from, as errors name it.
    pub(crate) fn origin(&self) -> &str {
        &self.origin
    }

    /// The certificate authority to ask for a certificate.
    pub(crate) fn fulcio(&self, now: jiff::Timestamp) -> Result<Service, SigningConfigError> {
        let (mut chosen, seen) = candidates(&self.config.ca_urls, FULCIO_VERSIONS, None, now);
        // One service: the first of the highest version, newest first.
        chosen.truncate(1);
        chosen.pop().ok_or_else(|| SigningConfigError::NoService {
            origin: self.origin.clone(),
            kind: ServiceKind::Fulcio,
            seen,
        })
    }

    /// The Rekor logs to record in, all of one API version (`force_version`: only that one).
    pub(crate) fn rekor(
        &self,
        force_version: Option<u32>,
        now: jiff::Timestamp,
    ) -> Result<Vec<Service>, SigningConfigError> {
        self.select(
            ServiceKind::Rekor,
            &self.config.rekor_tlog_urls,
            REKOR_VERSIONS,
            force_version,
            &self.config.rekor_tlog_config,
            now,
        )
    }

    /// The timestamp authorities to ask for a timestamp (empty when the config lists none).
    pub(crate) fn tsas(&self, now: jiff::Timestamp) -> Result<Vec<Service>, SigningConfigError> {
        if self.config.tsa_urls.is_empty() {
            return Ok(Vec::new());
        }
        self.select(
            ServiceKind::Tsa,
            &self.config.tsa_urls,
            TSA_VERSIONS,
            None,
            &self.config.tsa_config,
            now,
        )
    }

    fn select(
        &self,
        kind: ServiceKind,
        listed: &[ServiceEndpoint],
        supported: &[u32],
        force_version: Option<u32>,
        config: &ServiceConfiguration,
        now: jiff::Timestamp,
    ) -> Result<Vec<Service>, SigningConfigError> {
        let (chosen, seen) = candidates(listed, supported, force_version, now);
        let none = |seen: Vec<Skipped>| SigningConfigError::NoService {
            origin: self.origin.clone(),
            kind,
            seen,
        };
        if chosen.is_empty() {
            return Err(none(seen));
        }
        // The newest service of each operator (services without an operator each count alone).
        let mut per_operator: Vec<Service> = Vec::new();
        let mut seen = seen;
        for s in chosen {
            match per_operator
                .iter()
                .find(|p| p.operator.is_some() && p.operator == s.operator)
            {
                Some(newer) => seen.push(Skipped {
                    url: s.url.clone(),
                    version: s.version,
                    reason: format!(
                        "{} of the same operator ({}) is newer",
                        newer.url,
                        s.operator.as_deref().unwrap_or_default()
                    ),
                }),
                None => per_operator.push(s),
            }
        }
        let selector = |reason: String| SigningConfigError::Selector {
            origin: self.origin.clone(),
            kind,
            reason,
        };
        let take = match config.selector {
            ServiceSelector::All => per_operator.len(),
            ServiceSelector::Any => 1,
            ServiceSelector::Exact => {
                let count = config.count.unwrap_or(0) as usize;
                if count == 0 {
                    return Err(selector("EXACT without a count".into()));
                }
                if count > per_operator.len() {
                    return Err(selector(format!(
                        "EXACT asks for {count}, and only {} can be used ({})",
                        per_operator.len(),
                        per_operator
                            .iter()
                            .map(|s| s.url.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
                count
            }
            ServiceSelector::Undefined => {
                return Err(selector("SERVICE_SELECTOR_UNDEFINED".into()));
            }
            _ => return Err(selector("a selector this version does not know".into())),
        };
        per_operator.truncate(take);
        Ok(per_operator)
    }
}

/// The services valid now with a supported version (or exactly `force_version`), of the highest
/// version that has any, newest `validFor.start` first; and every other listed service with the reason
/// it was left out.
fn candidates(
    listed: &[ServiceEndpoint],
    supported: &[u32],
    force_version: Option<u32>,
    now: jiff::Timestamp,
) -> (Vec<Service>, Vec<Skipped>) {
    let mut seen = Vec::new();
    let mut usable: Vec<&ServiceEndpoint> = Vec::new();
    for s in listed {
        let skip = |reason: String| Skipped {
            url: s.url.clone(),
            version: s.major_api_version,
            reason,
        };
        if !supported.contains(&s.major_api_version) {
            seen.push(skip(format!(
                "API version {} is not supported (ferrosign speaks {})",
                s.major_api_version,
                supported
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(" and ")
            )));
        } else if force_version.is_some_and(|v| v != s.major_api_version) {
            seen.push(skip(format!(
                "API version {} was not asked for (--rekor-version {})",
                s.major_api_version,
                force_version.unwrap_or_default()
            )));
        } else if now < s.valid_for.start {
            seen.push(skip(format!("not valid before {}", s.valid_for.start)));
        } else if s.valid_for.end.is_some_and(|end| now > end) {
            seen.push(skip(format!(
                "valid only until {}",
                s.valid_for.end.map(|e| e.to_string()).unwrap_or_default()
            )));
        } else {
            usable.push(s);
        }
    }
    let Some(top) = usable.iter().map(|s| s.major_api_version).max() else {
        return (Vec::new(), seen);
    };
    let mut chosen: Vec<&ServiceEndpoint> = Vec::new();
    for s in usable {
        if s.major_api_version == top {
            chosen.push(s);
        } else {
            seen.push(Skipped {
                url: s.url.clone(),
                version: s.major_api_version,
                reason: format!("API version {top} is offered too and versions are not mixed"),
            });
        }
    }
    // Newest first; a stable sort keeps the listed order among equals.
    chosen.sort_by_key(|s| std::cmp::Reverse(s.valid_for.start));
    (
        chosen
            .into_iter()
            .map(|s| Service {
                url: s.url.trim_end_matches('/').to_string(),
                version: s.major_api_version,
                operator: s.operator.clone().filter(|o| !o.is_empty()),
            })
            .collect(),
        seen,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> jiff::Timestamp {
        "2026-06-01T00:00:00Z".parse().unwrap()
    }

    fn config(rekor: &serde_json::Value, selector: &serde_json::Value) -> ServiceConfig {
        let json = serde_json::json!({
            "mediaType": MEDIA_TYPE,
            "caUrls": [
                {"url": "https://old-ca", "majorApiVersion": 1, "validFor": {"start": "2020-01-01T00:00:00Z"}},
                {"url": "https://new-ca", "majorApiVersion": 1, "validFor": {"start": "2025-01-01T00:00:00Z"}},
                {"url": "https://future-ca", "majorApiVersion": 1, "validFor": {"start": "2027-01-01T00:00:00Z"}},
                {"url": "https://v2-ca", "majorApiVersion": 2, "validFor": {"start": "2025-06-01T00:00:00Z"}}
            ],
            "rekorTlogUrls": rekor,
            "tsaUrls": [],
            "rekorTlogConfig": selector,
            "tsaConfig": {"selector": "ANY"}
        });
        ServiceConfig::parse(json.to_string().as_bytes(), "the signing config x.json").unwrap()
    }

    fn svc(url: &str, v: u32, start: &str, end: Option<&str>, op: &str) -> serde_json::Value {
        let mut valid = serde_json::json!({"start": start});
        if let Some(e) = end {
            valid["end"] = e.into();
        }
        serde_json::json!({"url": url, "majorApiVersion": v, "validFor": valid, "operator": op})
    }

    #[test]
    fn fulcio_is_the_newest_valid_supported_one() {
        let c = config(
            &serde_json::json!([]),
            &serde_json::json!({"selector": "ANY"}),
        );
        assert_eq!(c.fulcio(now()).unwrap().url, "https://new-ca");
    }

    #[test]
    fn rekor_takes_the_highest_version_then_one_per_operator() {
        let logs = serde_json::json!([
            svc("https://v1-a", 1, "2021-01-01T00:00:00Z", None, "a"),
            svc("https://v2-a-old", 2, "2025-01-01T00:00:00Z", None, "a"),
            svc("https://v2-a-new", 2, "2025-09-01T00:00:00Z", None, "a"),
            svc("https://v2-b", 2, "2025-03-01T00:00:00Z", None, "b"),
            svc(
                "https://v2-expired",
                2,
                "2024-01-01T00:00:00Z",
                Some("2025-01-01T00:00:00Z"),
                "c"
            ),
            svc("https://v3", 3, "2025-01-01T00:00:00Z", None, "d"),
        ]);
        let all = config(&logs, &serde_json::json!({"selector": "ALL"}));
        let urls: Vec<String> = all
            .rekor(None, now())
            .unwrap()
            .into_iter()
            .map(|s| s.url)
            .collect();
        assert_eq!(urls, ["https://v2-a-new", "https://v2-b"]);
        let any = config(&logs, &serde_json::json!({"selector": "ANY"}));
        assert_eq!(any.rekor(None, now()).unwrap().len(), 1);
        let v1 = any.rekor(Some(1), now()).unwrap();
        assert_eq!(v1[0].url, "https://v1-a");
        let exact = config(&logs, &serde_json::json!({"selector": "EXACT", "count": 3}));
        let e = exact.rekor(None, now()).unwrap_err().to_string();
        assert!(e.contains("EXACT asks for 3, and only 2"), "{e}");
        let undefined = config(
            &logs,
            &serde_json::json!({"selector": "SERVICE_SELECTOR_UNDEFINED"}),
        );
        assert!(undefined.rekor(None, now()).is_err());
    }

    #[test]
    fn no_usable_service_lists_what_was_seen_and_why() {
        let logs = serde_json::json!([
            svc("https://later", 1, "2027-01-01T00:00:00Z", None, "a"),
            svc(
                "https://gone",
                1,
                "2020-01-01T00:00:00Z",
                Some("2021-01-01T00:00:00Z"),
                "b"
            ),
            svc("https://v9", 9, "2020-01-01T00:00:00Z", None, "c"),
        ]);
        let c = config(&logs, &serde_json::json!({"selector": "ANY"}));
        let e = c.rekor(None, now()).unwrap_err();
        let text = e.to_string();
        for needle in [
            "the signing config x.json lists no usable Rekor log",
            "https://later (API v1): not valid before 2027-01-01",
            "https://gone (API v1): valid only until 2021-01-01",
            "https://v9 (API v9): API version 9 is not supported (ferrosign speaks 1 and 2)",
        ] {
            assert!(text.contains(needle), "{needle:?} not in {text}");
        }
        assert!(e.hint().contains("--rekor-url"));
        let empty = config(
            &serde_json::json!([]),
            &serde_json::json!({"selector": "ANY"}),
        );
        assert!(empty
            .rekor(None, now())
            .unwrap_err()
            .to_string()
            .contains("it lists none"));
        assert!(empty.tsas(now()).unwrap().is_empty());
    }

    #[test]
    fn wrong_files_fail_with_reasons() {
        for (json, needle) in [
            ("", "not JSON"),
            ("{}", "no mediaType"),
            (
                r#"{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}"#,
                "mediaType is",
            ),
        ] {
            let e = ServiceConfig::parse(json.as_bytes(), "the signing config f").unwrap_err();
            assert!(e.to_string().contains(needle), "{json}: {e}");
        }
    }

    #[test]
    fn the_embedded_public_good_config_names_the_public_services() {
        let c = ServiceConfig::parse(
            include_bytes!("../production_signing_config.json"),
            "embedded",
        )
        .unwrap();
        assert_eq!(c.fulcio(now()).unwrap().url, "https://fulcio.sigstore.dev");
        assert_eq!(
            c.rekor(None, now()).unwrap()[0].url,
            "https://rekor.sigstore.dev"
        );
        assert_eq!(
            c.tsas(now()).unwrap()[0].url,
            "https://timestamp.sigstore.dev/api/v1/timestamp"
        );
    }
}
