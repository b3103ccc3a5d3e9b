//! Image references: the OCI/Docker reference grammar (`[registry[:port]/]path[:tag][@digest]`), with
//! Docker Hub short names normalised as `docker` normalises them (`alpine` → `docker.io/library/alpine`).
//!
//! Parse, don't validate: an [`ImageRef`] is always well-formed, its repository lowercase.

use std::fmt;

/// Docker Hub, as references name it.
pub(crate) const DOCKER_HUB: &str = "docker.io";
/// The name go-containerregistry (and so cosign) gives Docker Hub in signature payloads.
pub(crate) const DOCKER_HUB_INDEX: &str = "index.docker.io";
const MAX_NAME_LEN: usize = 255;
const MAX_TAG_LEN: usize = 128;

/// Why a reference does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum ReferenceError {
    /// The reference is empty.
    #[error("the image reference is empty")]
    Empty,
    /// The repository has upper-case letters (registries reject them).
    #[error("invalid image reference `{reference}`: repository names must be lowercase")]
    UpperCase {
        /// the reference as given
        reference: String,
        /// the same reference with the repository lower-cased
        suggestion: String,
    },
    /// Anything else about the grammar.
    #[error("invalid image reference `{reference}`: {reason}")]
    Invalid {
        /// the reference as given
        reference: String,
        /// what is wrong
        reason: String,
    },
}

impl ReferenceError {
    /// What the user can do about it.
    pub(crate) fn hint(&self) -> String {
        match self {
            ReferenceError::Empty => "pass an image such as ghcr.io/owner/app@sha256:<digest> or ghcr.io/owner/app:tag".into(),
            ReferenceError::UpperCase { suggestion, .. } => format!(
                "use `{suggestion}` (in a workflow, lower-case the owner: e.g. `${{GITHUB_REPOSITORY,,}}` in bash)"
            ),
            ReferenceError::Invalid { .. } => {
                "write it as [registry[:port]/]name[:tag][@sha256:<64 hex>], e.g. ghcr.io/owner/app:v1".into()
            }
        }
    }
}

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ImageRef {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<String>,
}

fn invalid(reference: &str, reason: impl Into<String>) -> ReferenceError {
    ReferenceError::Invalid {
        reference: reference.to_string(),
        reason: reason.into(),
    }
}

fn is_alnum_lower(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn valid_path_component(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || !is_alnum_lower(b[0] as char) || !is_alnum_lower(b[b.len() - 1] as char) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        let c = b[i] as char;
        if is_alnum_lower(c) {
            i += 1;
            continue;
        }
        // A separator run: ".", "_", "__" or one or more "-".
        let start = i;
        while i < b.len() && !is_alnum_lower(b[i] as char) {
            i += 1;
        }
        let sep = &s[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|c| c == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// `host[:port]`: DNS labels, IPv4, or `[IPv6]`.
fn valid_domain(s: &str) -> bool {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else {
            return false;
        };
        if v6.parse::<std::net::Ipv6Addr>().is_err() {
            return false;
        }
        match after {
            "" => return true,
            p => match p.strip_prefix(':') {
                Some(port) => ("", Some(port)),
                None => return false,
            },
        }
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if let Some(p) = port {
        if p.is_empty() || !p.bytes().all(|c| c.is_ascii_digit()) || p.parse::<u16>().is_err() {
            return false;
        }
    }
    if host.is_empty() && s.starts_with('[') {
        return true;
    }
    !host.is_empty()
        && host.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        })
}

fn valid_tag(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_TAG_LEN
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// `sha256:<64 hex>` or `sha512:<128 hex>`, lowercase hex.
fn check_digest(reference: &str, d: &str) -> Result<(), ReferenceError> {
    let Some((alg, hex)) = d.split_once(':') else {
        return Err(invalid(
            reference,
            format!("digest `{d}` has no algorithm (expected sha256:<hex>)"),
        ));
    };
    let want = match alg {
        "sha256" => 64,
        "sha512" => 128,
        other => {
            return Err(invalid(
                reference,
                format!("unsupported digest algorithm `{other}` (expected sha256)"),
            ))
        }
    };
    if hex.len() != want
        || !hex
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    {
        return Err(invalid(
            reference,
            format!("digest `{d}` is not {alg}: followed by {want} lowercase hex digits"),
        ));
    }
    Ok(())
}

/// Docker's rule: the first path component is a registry when it has a `.` or `:`, or is `localhost`.
/// (Docker also treats an upper-case first component as a registry; ferrosign treats it as a
/// mistyped repository and says so, which is what people mean by `MyOrg/app`.)
fn looks_like_domain(first: &str) -> bool {
    first.contains('.') || first.contains(':') || first == "localhost" || first.starts_with('[')
}

impl std::str::FromStr for ImageRef {
    type Err = ReferenceError;

    fn from_str(input: &str) -> Result<Self, ReferenceError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(ReferenceError::Empty);
        }
        if s.contains("://") {
            return Err(invalid(
                input,
                "a reference has no scheme (drop `http://`/`https://`)",
            ));
        }
        if let Some(c) = s.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid(input, format!("it contains the character {c:?}")));
        }
        let (name_tag, digest) = match s.split_once('@') {
            Some((n, d)) => {
                check_digest(input, d)?;
                (n, Some(d.to_string()))
            }
            None => (s, None),
        };
        // A tag is after the last ':' that follows the last '/'.
        let last_slash = name_tag.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name_tag[last_slash..].rfind(':') {
            Some(i) => {
                let at = last_slash + i;
                let tag = &name_tag[at + 1..];
                if !valid_tag(tag) {
                    return Err(invalid(
                        input,
                        format!("tag `{tag}` is not valid (letters, digits, `_`, `.`, `-`; at most 128; not starting with `.` or `-`)"),
                    ));
                }
                (&name_tag[..at], Some(tag.to_string()))
            }
            None => (name_tag, None),
        };
        if name.is_empty() {
            return Err(invalid(input, "the repository name is missing"));
        }
        let (mut registry, mut path) = match name.split_once('/') {
            Some((first, rest)) if looks_like_domain(first) => {
                (first.to_string(), rest.to_string())
            }
            _ => (DOCKER_HUB.to_string(), name.to_string()),
        };
        if !valid_domain(&registry) {
            return Err(invalid(
                input,
                format!("registry `{registry}` is not a host[:port]"),
            ));
        }
        if registry == DOCKER_HUB_INDEX || registry == "registry-1.docker.io" {
            registry = DOCKER_HUB.to_string();
        }
        if registry == DOCKER_HUB && !path.contains('/') {
            path = format!("library/{path}");
        }
        if path.is_empty() {
            return Err(invalid(input, "the repository name is missing"));
        }
        if path.chars().any(|c| c.is_ascii_uppercase()) {
            let lowered = path.to_ascii_lowercase();
            if lowered.split('/').all(valid_path_component) {
                let mut suggestion = match name.split_once('/') {
                    Some((first, _)) if looks_like_domain(first) => format!("{first}/{lowered}"),
                    _ => name.to_ascii_lowercase(),
                };
                if let Some(t) = &tag {
                    suggestion.push(':');
                    suggestion.push_str(t);
                }
                if let Some(d) = &digest {
                    suggestion.push('@');
                    suggestion.push_str(d);
                }
                return Err(ReferenceError::UpperCase {
                    reference: input.to_string(),
                    suggestion,
                });
            }
        }
        if let Some(bad) = path.split('/').find(|c| !valid_path_component(c)) {
            let what = if bad.is_empty() {
                "an empty path component".to_string()
            } else {
                format!("`{bad}`")
            };
            return Err(invalid(
                input,
                format!("repository path component {what} is not valid (lowercase letters, digits, and `.`, `_`, `__`, `-` between them)"),
            ));
        }
        if registry.len() + 1 + path.len() > MAX_NAME_LEN {
            return Err(invalid(
                input,
                format!("the name is longer than {MAX_NAME_LEN} characters"),
            ));
        }
        Ok(ImageRef {
            registry,
            repository: path,
            tag,
            digest,
        })
    }
}

impl ImageRef {
    /// The registry host (and port), `docker.io` for Docker Hub.
    pub(crate) fn registry(&self) -> &str {
        &self.registry
    }

    /// The repository path, e.g. `library/alpine`.
    pub(crate) fn repository(&self) -> &str {
        &self.repository
    }

    /// The digest, if the reference has one.
    pub(crate) fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// `registry/repository`, as docker prints it (`docker.io/library/alpine`).
    pub(crate) fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The repository as go-containerregistry names it (`index.docker.io/library/alpine` for Docker
    /// Hub): the `docker-reference` cosign writes in a signature payload.
    pub(crate) fn payload_name(&self) -> String {
        let reg = if self.registry == DOCKER_HUB {
            DOCKER_HUB_INDEX
        } else {
            &self.registry
        };
        format!("{reg}/{}", self.repository)
    }

    /// The same repository at a digest (tag dropped).
    pub(crate) fn with_digest(&self, digest: &str) -> ImageRef {
        ImageRef {
            registry: self.registry.clone(),
            repository: self.repository.clone(),
            tag: None,
            digest: Some(digest.to_string()),
        }
    }

    /// The same repository at a tag (digest dropped).
    pub(crate) fn with_tag(&self, tag: &str) -> ImageRef {
        ImageRef {
            registry: self.registry.clone(),
            repository: self.repository.clone(),
            tag: Some(tag.to_string()),
            digest: None,
        }
    }

    /// The `sha256-<hex>.sig` reference where cosign keeps the signatures of `digest`.
    pub(crate) fn signature_ref(&self, digest: &str) -> ImageRef {
        self.with_tag(&format!("{}.sig", digest.replacen(':', "-", 1)))
    }

    /// What to ask the registry for: the digest if there is one, else the tag, else `latest`.
    pub(crate) fn reference(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn p(s: &str) -> ImageRef {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn docker_hub_short_names_are_normalised() {
        assert_eq!(p("alpine").to_string(), "docker.io/library/alpine");
        assert_eq!(
            p("alpine:3.20").to_string(),
            "docker.io/library/alpine:3.20"
        );
        assert_eq!(p("acme/app").to_string(), "docker.io/acme/app");
        assert_eq!(
            p("index.docker.io/alpine").to_string(),
            "docker.io/library/alpine"
        );
        assert_eq!(
            p("docker.io/library/alpine").payload_name(),
            "index.docker.io/library/alpine"
        );
        assert_eq!(p("alpine").reference(), "latest");
    }

    #[test]
    fn full_grammar() {
        let r = p(&format!("127.0.0.1:5000/a/b/c:v1.2-rc_3@{D}"));
        assert_eq!(r.registry(), "127.0.0.1:5000");
        assert_eq!(r.repository(), "a/b/c");
        assert_eq!(r.tag.as_deref(), Some("v1.2-rc_3"));
        assert_eq!(r.digest(), Some(D));
        assert_eq!(r.reference(), D);
        assert_eq!(r.payload_name(), "127.0.0.1:5000/a/b/c");
        let r = p("localhost/app");
        assert_eq!(r.registry(), "localhost");
        let r = p("localhost:5000/app:latest");
        assert_eq!(
            (r.registry(), r.tag.as_deref()),
            ("localhost:5000", Some("latest"))
        );
        let r = p(&format!("[::1]:5000/x@{D}"));
        assert_eq!(r.registry(), "[::1]:5000");
        assert_eq!(p("ghcr.io/o/a__b.c-d---e").repository(), "o/a__b.c-d---e");
        assert_eq!(
            p(&format!("ghcr.io/o/a@{D}")).signature_ref(D).to_string(),
            "ghcr.io/o/a:sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.sig"
        );
    }

    #[test]
    fn upper_case_is_rejected_with_a_lowercase_suggestion() {
        match "ghcr.io/Acme/App:V1".parse::<ImageRef>() {
            Err(ReferenceError::UpperCase { suggestion, .. }) => {
                assert_eq!(suggestion, "ghcr.io/acme/app:V1");
            }
            other => panic!("{other:?}"),
        }
        match "MyOrg/app".parse::<ImageRef>() {
            Err(e @ ReferenceError::UpperCase { .. }) => {
                assert!(e.hint().contains("`myorg/app`"), "{}", e.hint());
            }
            other => panic!("{other:?}"),
        }
        // Upper case in the registry host is fine (hosts are case-insensitive).
        assert_eq!(
            p("Registry.Example.com/app").registry(),
            "Registry.Example.com"
        );
    }

    #[test]
    fn malformed_references_are_rejected() {
        for bad in [
            "",
            "   ",
            "https://ghcr.io/a/b",
            "ghcr.io/a/b:",
            "ghcr.io/a/b:-x",
            "ghcr.io/a/b@sha256:abc",
            "ghcr.io/a/b@md5:0123",
            &format!(
                "ghcr.io/a/b@{}",
                D.to_uppercase().replace("SHA256", "sha256")
            ),
            "ghcr.io//b",
            "ghcr.io/a/",
            "ghcr.io/a/-b",
            "ghcr.io/a/b_",
            "ghcr.io/a/b..c",
            "ghcr.io:99999/a",
            "ghcr.io:/a",
            "a b",
            "ghcr.io/a/b:t@",
            &format!("ghcr.io/{}", "a".repeat(260)),
            &format!("ghcr.io/a:{}", "t".repeat(129)),
        ] {
            assert!(bad.parse::<ImageRef>().is_err(), "accepted {bad:?}");
        }
        assert_eq!("".parse::<ImageRef>(), Err(ReferenceError::Empty));
    }

    #[test]
    fn registry_parts() {
        let r = p(&format!("127.0.0.1:5000/a/b@{D}"));
        assert_eq!(r.registry(), "127.0.0.1:5000");
        assert_eq!(r.repository(), "a/b");
        assert_eq!(r.digest(), Some(D));
        assert_eq!(r.reference(), D);
    }
}
