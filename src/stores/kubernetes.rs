//! Kubernetes: one immutable Opaque Secret holding `cosign.key`, `cosign.pub` and `cosign.password`,
//! created with a single `POST /api/v1/namespaces/{ns}/secrets` (409 if it exists: never overwritten).
//!
//! The cluster comes from the current kubeconfig context (`KUBECONFIG`, a `:`-separated list, else
//! `~/.kube/config`) or, with neither, from the in-cluster service account. Supported: the server URL,
//! `certificate-authority(-data)` (then only that CA is trusted), bearer `token`/`tokenFile`, and
//! `client-certificate(-data)` + `client-key(-data)`. Refused with a hint: exec and auth-provider
//! plugins, basic auth, and `insecure-skip-tls-verify` (a signing key is not sent over an unverified
//! connection). Plain `http://` servers are accepted on loopback only (tests), by [`Http`]'s policy.
//!
//! Why not the kube crate: it brings its own hyper/tower client (bypassing [`Http`]: our timeouts,
//! retries, user agent, plain-HTTP policy), k8s-openapi and a YAML stack: minutes of compile time on a
//! small machine for one POST. What it would save us is the kubeconfig reading, and the subset above is
//! what CI runners and kind/k3d/minikube clusters use; cloud exec plugins (`gke-gcloud-auth-plugin`,
//! `aws eks get-token`) would need running external programs, which we decline either way.

use super::StoreError;
use crate::net::server_message;
use crate::net::{Http, HttpOptions, TlsSettings};
use crate::secret::{SecretBytes, SecretString};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use std::path::{Path, PathBuf};
use yaml_rust2::{Yaml, YamlLoader};

/// Where the in-cluster service account's token, CA and namespace are mounted.
pub(crate) const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
const SERVICE: &str = "Kubernetes";

/// `k8s://NAMESPACE/NAME`, and where to find the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct K8sTarget {
    /// namespace
    pub(crate) namespace: String,
    /// Secret name
    pub(crate) name: String,
    /// what the front-end found in the environment to locate the cluster
    pub(crate) lookup: ClusterLookup,
}

/// Where the cluster may be named, as the front-end read the environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ClusterLookup {
    /// `KUBECONFIG`: a `:`-separated list of files
    pub(crate) kubeconfig: Option<String>,
    /// the home directory (`~/.kube/config`)
    pub(crate) home: Option<PathBuf>,
    /// `KUBERNETES_SERVICE_HOST` (inside a pod)
    pub(crate) service_host: Option<String>,
    /// `KUBERNETES_SERVICE_PORT` (inside a pod)
    pub(crate) service_port: Option<String>,
}

/// How the client proves who it is.
#[derive(Debug)]
pub(crate) enum Auth {
    /// No credentials (an API server that allows it, e.g. a test fake).
    None,
    /// `Authorization: Bearer …`
    Token(SecretString),
    /// Mutual TLS: the client certificate chain and key, PEM.
    ClientCert(SecretBytes),
}

/// One API server and how to talk to it.
#[derive(Debug)]
pub(crate) struct Cluster {
    /// the API server's base URL, without a trailing slash
    pub(crate) server: String,
    /// trust only this CA bundle (PEM), when given
    pub(crate) ca_pem: Option<Vec<u8>>,
    /// credentials
    pub(crate) auth: Auth,
    /// where this came from, for messages: "context `kind-dev` of /root/.kube/config"
    pub(crate) origin: String,
}

/// The secrets of the cluster's credentials, to be masked before any output (Action mode): the bearer
/// token, or the client certificate's key (the PEM, masked line by line). Empty when no cluster is
/// found or it has no credentials (the error comes later, where the cluster is used).
pub(crate) fn credential_secrets(lookup: &ClusterLookup, sa_dir: &Path) -> Vec<SecretString> {
    match find_cluster(lookup, sa_dir).map(|c| c.auth) {
        Ok(Auth::Token(t)) => vec![t],
        Ok(Auth::ClientCert(pem)) => {
            vec![SecretString::from(
                String::from_utf8_lossy(pem.expose()).into_owned(),
            )]
        }
        Ok(Auth::None) | Err(_) => Vec::new(),
    }
}

/// Finds the cluster: `KUBECONFIG`, else `~/.kube/config`, else the in-cluster service account
/// (`sa_dir` is its mount, [`SERVICE_ACCOUNT_DIR`]).
pub(crate) fn find_cluster(lookup: &ClusterLookup, sa_dir: &Path) -> Result<Cluster, StoreError> {
    if let Some(list) = lookup.kubeconfig.clone().filter(|v| !v.trim().is_empty()) {
        let files: Vec<PathBuf> = std::env::split_paths(&list)
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
        let existing: Vec<PathBuf> = files.iter().filter(|p| p.is_file()).cloned().collect();
        if existing.is_empty() {
            return Err(StoreError::Kubeconfig {
                path: list,
                reason: "KUBECONFIG names no existing file".into(),
            });
        }
        return from_kubeconfig(&existing);
    }
    if let Some(home) = &lookup.home {
        let default = home.join(".kube").join("config");
        if default.is_file() {
            return from_kubeconfig(&[default]);
        }
    }
    if let (Some(host), Some(port)) = (&lookup.service_host, &lookup.service_port) {
        return in_cluster(host, port, sa_dir);
    }
    Err(StoreError::NoCluster(
        "KUBECONFIG is not set, there is no ~/.kube/config, and this is not a pod \
         (KUBERNETES_SERVICE_HOST is not set)"
            .into(),
    ))
}

/// The in-cluster configuration: `https://HOST:PORT`, the mounted token and CA.
pub(crate) fn in_cluster(host: &str, port: &str, sa_dir: &Path) -> Result<Cluster, StoreError> {
    let origin = "the in-cluster service account".to_string();
    let read = |name: &str| {
        let limit = if name == "token" {
            crate::fsutil::TOKEN_FILE
        } else {
            crate::fsutil::CERTIFICATE_FILE
        };
        crate::fsutil::read_limited(&sa_dir.join(name), limit).map_err(|e| StoreError::Kubeconfig {
            path: origin.clone(),
            reason: format!("cannot read {}: {e}", sa_dir.join(name).display()),
        })
    };
    let token = String::from_utf8(read("token")?).map_err(|_| StoreError::Kubeconfig {
        path: origin.clone(),
        reason: "the token is not text".into(),
    })?;
    let ca = read("ca.crt")?;
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    Ok(Cluster {
        server: format!("https://{host}:{port}"),
        ca_pem: Some(ca),
        auth: Auth::Token(SecretString::from(token.trim().to_string())),
        origin,
    })
}

/// A kubeconfig's current context, from one file or several merged (the first file that sets a
/// name wins, as kubectl merges them).
pub(crate) fn from_kubeconfig(files: &[PathBuf]) -> Result<Cluster, StoreError> {
    let mut docs: Vec<(PathBuf, Yaml)> = Vec::new();
    for f in files {
        let err = |reason: String| StoreError::Kubeconfig {
            path: f.display().to_string(),
            reason,
        };
        let text = crate::fsutil::read_limited_string(f, crate::fsutil::KUBECONFIG_FILE)
            .map_err(|e| err(format!("cannot read it: {e}")))?;
        let mut parsed =
            YamlLoader::load_from_str(&text).map_err(|e| err(format!("not YAML: {e}")))?;
        if parsed.is_empty() {
            continue;
        }
        let doc = parsed.swap_remove(0);
        if !doc.is_hash() && !doc.is_null() {
            return Err(err(
                "not a kubeconfig (the top level is not a mapping)".into()
            ));
        }
        docs.push((f.clone(), doc));
    }
    let shown = files
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(":");
    let err = |reason: String| StoreError::Kubeconfig {
        path: shown.clone(),
        reason,
    };
    let context_name = docs
        .iter()
        .find_map(|(_, d)| d["current-context"].as_str().filter(|s| !s.is_empty()))
        .ok_or_else(|| {
            err("no current-context: pick one with `kubectl config use-context NAME`".into())
        })?
        .to_string();
    let named = |list: &str, name: &str, field: &str| -> Option<(PathBuf, Yaml)> {
        docs.iter().find_map(|(path, d)| {
            d[list].as_vec()?.iter().find_map(|e| {
                (e["name"].as_str() == Some(name)).then(|| (path.clone(), e[field].clone()))
            })
        })
    };
    let (_, context) = named("contexts", &context_name, "context").ok_or_else(|| {
        err(format!(
            "the current context `{context_name}` is not defined"
        ))
    })?;
    let cluster_name = context["cluster"]
        .as_str()
        .ok_or_else(|| err(format!("context `{context_name}` names no cluster")))?;
    let (cluster_file, cluster) = named("clusters", cluster_name, "cluster")
        .ok_or_else(|| err(format!("cluster `{cluster_name}` is not defined")))?;
    let origin = format!("context `{context_name}` of {shown}");
    let server = cluster["server"]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| err(format!("cluster `{cluster_name}` has no server")))?
        .trim_end_matches('/')
        .to_string();
    if cluster["insecure-skip-tls-verify"].as_bool() == Some(true) {
        return Err(StoreError::KubeconfigUnsupported {
            path: shown.clone(),
            what: format!("insecure-skip-tls-verify on cluster `{cluster_name}`"),
            hint: "give the cluster's CA (certificate-authority-data) instead: ferrosign does not \
                   send a signing key over a connection it cannot verify"
                .into(),
        });
    }
    let ca_pem = data_or_file(&cluster, "certificate-authority", &cluster_file)
        .map_err(|r| err(format!("cluster `{cluster_name}`: {r}")))?
        .map(|s| s.expose().clone());
    let auth = match context["user"].as_str().filter(|s| !s.is_empty()) {
        None => Auth::None,
        Some(user_name) => {
            let (user_file, user) = named("users", user_name, "user")
                .ok_or_else(|| err(format!("user `{user_name}` is not defined")))?;
            user_auth(&user, user_name, &user_file, &shown)?
        }
    };
    Ok(Cluster {
        server,
        ca_pem,
        auth,
        origin,
    })
}

fn user_auth(user: &Yaml, name: &str, file: &Path, shown: &str) -> Result<Auth, StoreError> {
    let unsupported = |what: String| StoreError::KubeconfigUnsupported {
        path: shown.to_string(),
        what,
        hint: "use a context whose user has a token or a client certificate (e.g. a service \
               account token from `kubectl create token NAME`), or make key files with \
               `ferrosign generate-key-pair` and create the Secret with kubectl"
            .into(),
    };
    let err = |reason: String| StoreError::Kubeconfig {
        path: shown.to_string(),
        reason: format!("user `{name}`: {reason}"),
    };
    if !user["exec"].is_badvalue() && !user["exec"].is_null() {
        return Err(unsupported(format!(
            "the exec credential plugin of user `{name}`"
        )));
    }
    if !user["auth-provider"].is_badvalue() && !user["auth-provider"].is_null() {
        return Err(unsupported(format!("the auth-provider of user `{name}`")));
    }
    if let Some(t) = user["token"].as_str().filter(|t| !t.is_empty()) {
        return Ok(Auth::Token(SecretString::from(t.trim().to_string())));
    }
    if let Some(path) = user["tokenFile"].as_str().filter(|t| !t.is_empty()) {
        let path = resolve(file, path);
        let text = crate::fsutil::read_limited_string(&path, crate::fsutil::TOKEN_FILE)
            .map_err(|e| err(format!("cannot read tokenFile {}: {e}", path.display())))?;
        return Ok(Auth::Token(SecretString::from(text.trim().to_string())));
    }
    let cert = data_or_file(user, "client-certificate", file).map_err(err)?;
    let key = data_or_file(user, "client-key", file).map_err(err)?;
    match (cert, key) {
        (Some(cert), Some(key)) => {
            let mut pem = key.expose().clone();
            pem.push(b'\n');
            pem.extend_from_slice(cert.expose());
            Ok(Auth::ClientCert(SecretBytes::from(pem)))
        }
        (None, None) => {
            if user["username"].as_str().is_some() || user["password"].as_str().is_some() {
                Err(unsupported(format!(
                    "basic authentication of user `{name}`"
                )))
            } else {
                Ok(Auth::None)
            }
        }
        _ => Err(err("needs both client-certificate and client-key".into())),
    }
}

/// `FIELD-data` (base64) or `FIELD` (a path, relative to the kubeconfig's directory).
fn data_or_file(node: &Yaml, field: &str, file: &Path) -> Result<Option<SecretBytes>, String> {
    if let Some(data) = node[format!("{field}-data").as_str()]
        .as_str()
        .filter(|d| !d.is_empty())
    {
        let compact: String = data.split_whitespace().collect();
        return B64
            .decode(compact)
            .map(|b| Some(SecretBytes::from(b)))
            .map_err(|e| format!("{field}-data is not base64: {e}"));
    }
    if let Some(path) = node[field].as_str().filter(|p| !p.is_empty()) {
        let path = resolve(file, path);
        return crate::fsutil::read_limited(&path, crate::fsutil::CERTIFICATE_FILE)
            .map(|b| Some(SecretBytes::from(b)))
            .map_err(|e| format!("cannot read {field} {}: {e}", path.display()));
    }
    Ok(None)
}

fn resolve(kubeconfig: &Path, path: &str) -> PathBuf {
    let p = Path::new(path);
    if p.is_absolute() {
        return p.to_path_buf();
    }
    kubeconfig
        .parent()
        .map(|d| d.join(p))
        .unwrap_or_else(|| p.to_path_buf())
}

/// Creates the immutable Secret `target` holding the key pair and password, with one POST through
/// the cluster's own TLS settings and credentials; a Secret of that name is never replaced (409).
pub(crate) async fn create_secret(
    cluster: &Cluster,
    target: &K8sTarget,
    key_pem: &str,
    pub_pem: &str,
    password: &str,
) -> Result<(), StoreError> {
    let (token, identity) = match &cluster.auth {
        Auth::None => (None, None),
        Auth::Token(t) => (Some(t.clone()), None),
        Auth::ClientCert(pem) => (None, Some(pem.clone())),
    };
    let http = Http::with_tls(
        HttpOptions::default(),
        &TlsSettings {
            roots_pem: cluster.ca_pem.clone(),
            identity_pem: identity,
        },
    )
    .map_err(|e| StoreError::Kubeconfig {
        path: cluster.origin.clone(),
        reason: e.to_string(),
    })?;
    let body = secret_body(target, key_pem, pub_pem, password);
    let (ns, name) = (&target.namespace, &target.name);
    let url = format!("{}/api/v1/namespaces/{ns}/secrets", cluster.server);
    let resp = http
        .send(&url, |c, u| {
            let r = c
                .post(u)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(reqwest::header::ACCEPT, "application/json")
                .body(body.expose().clone());
            match &token {
                Some(t) => r.bearer_auth(t.expose()),
                None => r,
            }
        })
        .await?;
    let status = resp.status();
    if status == reqwest::StatusCode::CONFLICT {
        return Err(StoreError::K8sSecretExists {
            namespace: ns.clone(),
            name: name.clone(),
        });
    }
    if !status.is_success() {
        let url = resp.url().to_string();
        let text = crate::net::read_answer(resp, &url, crate::net::API_ANSWER, http.deadline())
            .await
            .unwrap_or_default();
        return Err(StoreError::Status {
            service: SERVICE,
            action: format!("creating secret {ns}/{name} through {}", cluster.origin),
            status: status.as_u16(),
            message: server_message(&text),
            target: format!("namespace {ns}"),
        });
    }
    Ok(())
}

/// The Secret object: immutable, Opaque, the three keys base64-encoded. Secret bytes.
fn secret_body(target: &K8sTarget, key_pem: &str, pub_pem: &str, password: &str) -> SecretBytes {
    let body = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": target.name,
            "namespace": target.namespace,
            "labels": {"app.kubernetes.io/managed-by": "ferrosign"},
        },
        "type": "Opaque",
        "immutable": true,
        "data": {
            "cosign.key": B64.encode(key_pem),
            "cosign.pub": B64.encode(pub_pem),
            "cosign.password": B64.encode(password),
        },
    });
    // Serialising a JSON value built from strings cannot fail.
    SecretBytes::from(serde_json::to_vec(&body).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    const TWO_CONTEXTS: &str = r#"
apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: prod
  cluster: {server: "https://prod.example:6443"}
- name: dev
  cluster:
    server: https://127.0.0.1:6443/
    certificate-authority: ca.pem
contexts:
- name: prod
  context: {cluster: prod, user: prod}
- name: dev
  context: {cluster: dev, user: dev, namespace: signing}
users:
- name: prod
  user: {token: prod-token}
- name: dev
  user:
    client-certificate-data: Q0VSVA==
    client-key: keys/dev.key
"#;

    #[test]
    fn current_context_with_files_relative_to_the_kubeconfig() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("keys")).unwrap();
        write(d.path(), "ca.pem", "CA");
        write(d.path(), "keys/dev.key", "KEY");
        let cfg = write(d.path(), "config", TWO_CONTEXTS);
        let c = from_kubeconfig(&[cfg]).unwrap();
        assert_eq!(c.server, "https://127.0.0.1:6443");
        assert_eq!(c.ca_pem.as_deref(), Some(&b"CA"[..]));
        match c.auth {
            Auth::ClientCert(pem) => assert_eq!(pem.expose(), b"KEY\nCERT"),
            other => panic!("{other:?}"),
        }
        assert!(c.origin.starts_with("context `dev` of "), "{}", c.origin);
    }

    #[test]
    fn merged_files_first_wins_and_token_users() {
        let d = tempfile::tempdir().unwrap();
        let a = write(d.path(), "a", "current-context: prod\n");
        let b = write(d.path(), "b", TWO_CONTEXTS);
        let c = from_kubeconfig(&[a, b]).unwrap();
        assert_eq!(c.server, "https://prod.example:6443");
        assert!(matches!(c.auth, Auth::Token(t) if t.expose() == "prod-token"));
        assert!(c.ca_pem.is_none());
    }

    #[test]
    fn refuses_what_it_cannot_do_safely() {
        let d = tempfile::tempdir().unwrap();
        let exec = TWO_CONTEXTS
            .replace(
                "user: {token: prod-token}",
                "user: {exec: {command: gke-gcloud-auth-plugin}}",
            )
            .replace("current-context: dev", "current-context: prod");
        let e = from_kubeconfig(&[write(d.path(), "exec", &exec)]).unwrap_err();
        assert!(
            e.to_string()
                .contains("exec credential plugin of user `prod` is not supported"),
            "{e}"
        );
        assert!(e.hint().unwrap().contains("kubectl create token"));
        let insecure = TWO_CONTEXTS
            .replace(
                "{server: \"https://prod.example:6443\"}",
                "{server: \"https://p:1\", insecure-skip-tls-verify: true}",
            )
            .replace("current-context: dev", "current-context: prod");
        let e = from_kubeconfig(&[write(d.path(), "insecure", &insecure)]).unwrap_err();
        assert!(e.to_string().contains("insecure-skip-tls-verify"), "{e}");
        let e = from_kubeconfig(&[write(d.path(), "nocur", "clusters: []\n")]).unwrap_err();
        assert!(e.to_string().contains("no current-context"), "{e}");
        let e = from_kubeconfig(&[write(d.path(), "bad", "current-context: x\n")]).unwrap_err();
        assert!(e.to_string().contains("`x` is not defined"), "{e}");
        let e = from_kubeconfig(&[write(d.path(), "notyaml", "a: [\n")]).unwrap_err();
        assert!(e.to_string().contains("not YAML"), "{e}");
    }

    #[test]
    fn search_order_and_in_cluster() {
        let d = tempfile::tempdir().unwrap();
        let sa = d.path().join("sa");
        std::fs::create_dir(&sa).unwrap();
        write(&sa, "token", "sa-token\n");
        write(&sa, "ca.crt", "SA-CA");
        let pod = ClusterLookup {
            home: Some(d.path().to_path_buf()),
            service_host: Some("10.0.0.1".to_string()),
            service_port: Some("443".to_string()),
            ..ClusterLookup::default()
        };
        let c = find_cluster(&pod, &sa).unwrap();
        assert_eq!(c.server, "https://10.0.0.1:443");
        assert!(matches!(c.auth, Auth::Token(ref t) if t.expose() == "sa-token"));
        assert_eq!(c.ca_pem.as_deref(), Some(&b"SA-CA"[..]));
        // ~/.kube/config comes before the service account.
        std::fs::create_dir(d.path().join(".kube")).unwrap();
        write(
            &d.path().join(".kube"),
            "config",
            &TWO_CONTEXTS.replace("current-context: dev", "current-context: prod"),
        );
        let c = find_cluster(&pod, &sa).unwrap();
        assert_eq!(c.server, "https://prod.example:6443");
        // KUBECONFIG comes first and must name a file.
        let missing = ClusterLookup {
            kubeconfig: Some("/nonexistent/kubeconfig".to_string()),
            ..pod.clone()
        };
        let e = find_cluster(&missing, &sa).unwrap_err();
        assert!(e.to_string().contains("names no existing file"), "{e}");
        let e = find_cluster(&ClusterLookup::default(), &sa).unwrap_err();
        assert!(matches!(e, StoreError::NoCluster(_)));
    }

    #[test]
    fn the_secret_object() {
        let t = K8sTarget {
            namespace: "signing".into(),
            name: "cosign".into(),
            lookup: ClusterLookup::default(),
        };
        let body = secret_body(&t, "KEY", "PUB", "pw");
        let v: serde_json::Value = serde_json::from_slice(body.expose()).unwrap();
        assert_eq!(v["immutable"], true);
        assert_eq!(v["type"], "Opaque");
        assert_eq!(v["metadata"]["namespace"], "signing");
        assert_eq!(v["data"]["cosign.password"], B64.encode("pw"));
        assert_eq!(v["data"].as_object().unwrap().len(), 3);
    }
}
