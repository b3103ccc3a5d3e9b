//! Registry credentials: the command line's `--registry-username`/`--registry-password`, else the
//! docker config file (`$DOCKER_CONFIG/config.json` or `~/.docker/config.json`, found by the front-end;
//! its `auths` entries), else anonymous. The token exchange a registry asks for (`WWW-Authenticate: Bearer realm=…`) is done
//! by [`super::client`] with these credentials; `Basic` challenges get them directly.

use super::reference::DOCKER_HUB;
use super::OciError;
use crate::secret::SecretString;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use std::path::Path;

/// Credentials for one registry.
#[derive(Debug, Clone)]
pub(crate) enum Credentials {
    /// No credentials.
    Anonymous,
    /// A user name and a password or token.
    Basic {
        /// user name
        username: String,
        /// password or token
        password: SecretString,
    },
}

impl Credentials {
    /// True unless anonymous.
    pub(crate) fn is_some(&self) -> bool {
        !matches!(self, Credentials::Anonymous)
    }
}

/// The registry host an `auths` key names: scheme and path dropped, Docker Hub's aliases folded.
fn normalise_key(key: &str) -> String {
    let k = key
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let host = k.split('/').next().unwrap_or(k).to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "docker.io" => DOCKER_HUB.to_string(),
        _ => host,
    }
}

/// Looks `registry` up in a docker config file's `auths`. A missing file means no credentials. The
/// file is read up to [`crate::fsutil::DOCKER_CONFIG_FILE`] (4 MiB): a larger one (or `/dev/zero`) is
/// refused after that many bytes, naming the limit and nothing of its content
/// ([`OciError::DockerConfig`]).
pub(crate) fn from_docker_config(
    path: &Path,
    registry: &str,
) -> Result<Option<Credentials>, OciError> {
    let bad = |reason: String| OciError::DockerConfig {
        path: path.display().to_string(),
        reason,
    };
    let text = match crate::fsutil::read_limited(path, crate::fsutil::DOCKER_CONFIG_FILE) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(bad(e.to_string())),
    };
    let json: serde_json::Value =
        serde_json::from_slice(&text).map_err(|e| bad(format!("not JSON: {e}")))?;
    let Some(auths) = json.get("auths").and_then(|a| a.as_object()) else {
        return Ok(None);
    };
    let want = normalise_key(registry);
    let Some((key, entry)) = auths.iter().find(|(k, _)| normalise_key(k) == want) else {
        return Ok(None);
    };
    let field = |name: &str| {
        entry
            .get(name)
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
    };
    if let Some(auth) = field("auth") {
        let decoded = B64
            .decode(auth.trim())
            .map_err(|_| bad(format!("auths.{key}.auth is not base64")))?;
        let decoded = SecretString::from(
            String::from_utf8(decoded)
                .map_err(|_| bad(format!("auths.{key}.auth is not UTF-8")))?,
        );
        let Some((user, pass)) = decoded.expose().split_once(':') else {
            return Err(bad(format!(
                "auths.{key}.auth is not base64 of user:password"
            )));
        };
        return Ok(Some(Credentials::Basic {
            username: user.to_string(),
            password: SecretString::from(pass.to_string()),
        }));
    }
    if let (Some(user), Some(pass)) = (field("username"), field("password")) {
        return Ok(Some(Credentials::Basic {
            username: user.to_string(),
            password: SecretString::from(pass.to_string()),
        }));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_auths_entries_and_docker_hub_aliases() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        let auth = B64.encode("alice:s3cr:et");
        std::fs::write(
            &path,
            format!(
                r#"{{"auths":{{"https://index.docker.io/v1/":{{"auth":"{auth}"}},"127.0.0.1:5000":{{"username":"bob","password":"pw"}},"ghcr.io":{{}}}},"credsStore":"desktop"}}"#
            ),
        )
        .unwrap();
        match from_docker_config(&path, "docker.io").unwrap() {
            Some(Credentials::Basic {
                username, password, ..
            }) => {
                assert_eq!(username, "alice");
                assert_eq!(password.expose(), "s3cr:et");
            }
            other => panic!("{other:?}"),
        }
        match from_docker_config(&path, "127.0.0.1:5000").unwrap() {
            Some(Credentials::Basic { username, .. }) => assert_eq!(username, "bob"),
            other => panic!("{other:?}"),
        }
        assert!(from_docker_config(&path, "ghcr.io").unwrap().is_none());
        assert!(from_docker_config(&path, "quay.io").unwrap().is_none());
        assert!(from_docker_config(&dir.path().join("none.json"), "ghcr.io")
            .unwrap()
            .is_none());
        std::fs::write(&path, "{not json").unwrap();
        assert!(from_docker_config(&path, "ghcr.io").is_err());
    }

    #[test]
    fn a_docker_config_over_its_limit_is_refused_naming_the_limit() {
        let e = from_docker_config(Path::new("/dev/zero"), "ghcr.io").unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot read the docker config /dev/zero: it is larger than 4 MiB, the limit for docker configs"
        );
    }
}
