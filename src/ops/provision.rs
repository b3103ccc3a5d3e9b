//! `generate-key-pair github://…` and `k8s://…`: a new key pair stored where CI can read it, never on
//! disk ([`crate::stores`] does the talking).
//!
//! Both write the public key locally (`PREFIX.pub`) once the secrets are stored, as cosign does. The
//! password is the one given (`COSIGN_PASSWORD`) or generated, and is never printed: it and the private
//! key are masked through [`Ui::mask`] before any other output. Nothing is generated before the target
//! is known to accept it (access and the guard secret for GitHub; the cluster's configuration for
//! Kubernetes).

use super::keys::{mask_password, new_key_pair, GenerateKeyPair, KeyPairReport, NewKeyPair};
use crate::error::Error;
use crate::fsutil::Staged;
use crate::gha::Ui;
use crate::signing::source::Password;
use crate::stores::github::{describe, GitHubScope, GitHubTarget, OrgVisibility, SecretsApi};
use crate::stores::kubernetes::{self, K8sTarget, SERVICE_ACCOUNT_DIR};
use crate::stores::{StoreError, SECRET_PASSWORD, SECRET_PRIVATE_KEY, SECRET_PUBLIC_KEY};
use std::path::{Path, PathBuf};

/// The key pair and its password, masked in the output before anything else is written.
struct Material {
    password: Password,
    pair: NewKeyPair,
}

fn make_material(req: &GenerateKeyPair, ui: &mut Ui) -> Result<Material, Error> {
    let password = req
        .password
        .get(false, ui)
        .map_err(|e| Error::key("cannot get a password for the new key", e))?;
    // A secret store keeps the password as text.
    if password.as_str().is_none() {
        return Err(Error::input(
            "COSIGN_PASSWORD is not UTF-8 text, and a secret store keeps the password as text",
            "set COSIGN_PASSWORD to text, or unset it to have a password generated",
        ));
    }
    mask_password(&password, ui);
    let pair = match &req.prepared {
        Some(p) => NewKeyPair {
            private_pem: p.private_pem.clone(),
            public: p.public.clone(),
        },
        None => new_key_pair(&password.bytes)?,
    };
    ui.mask(pair.private_pem.expose());
    Ok(Material { password, pair })
}

/// Refuses to overwrite the local public key file (`PREFIX.pub`) without `--force`.
fn check_local_pub(req: &GenerateKeyPair) -> Result<PathBuf, Error> {
    let path = PathBuf::from(format!("{}.pub", req.prefix));
    if !req.force && path.exists() {
        return Err(Error::Exists {
            hint: format!(
                "pass --output-key-prefix NAME to write NAME.pub instead (or --force to overwrite \
                 {} and the stored secrets)",
                path.display()
            ),
            path,
        });
    }
    Ok(path)
}

/// Writes the public key next to the user, as cosign does.
fn write_local_pub(path: &Path, material: &Material, ui: &mut Ui) -> Result<KeyPairReport, Error> {
    let io = |source| Error::Io {
        context: "cannot write",
        path: path.to_path_buf(),
        source,
    };
    let public_pem = material.pair.public.to_pem();
    Staged::write(path, public_pem.as_bytes(), 0o644)
        .map_err(io)?
        .commit()
        .map_err(io)?;
    ui.info(&format!("Public key also written to {}", path.display()));
    Ok(KeyPairReport { public_pem })
}

/// `generate-key-pair github://…`: checks access and the guard secret, makes the key pair, stores the
/// three secrets in order (password, private key, public key last), then writes `PREFIX.pub`.
pub(crate) async fn github(
    req: &GenerateKeyPair,
    target: &GitHubTarget,
    ui: &mut Ui,
) -> Result<KeyPairReport, Error> {
    let pub_path = check_local_pub(req)?;
    // Before any request: where the token goes.
    ui.info(&format!(
        "GitHub API: {} ({})",
        target.api_url,
        match target.api_from {
            "default" => "default; set GITHUB_HOST for GitHub Enterprise".to_string(),
            var => format!("from {var}"),
        }
    ));
    let api = SecretsApi::new(target)?;
    let name = describe(&target.scope);
    // Nothing is generated or written before both checks pass: access (the sealing key) and the guard.
    let key = api.sealing_key().await?;
    if api.exists(SECRET_PUBLIC_KEY).await? {
        if !req.force {
            return Err(StoreError::PublicKeyExists { target: name }.into());
        }
        ui.warn(&format!(
            "{name} already has a {SECRET_PUBLIC_KEY} secret: replacing the key pair (--force); \
             signatures made with the old key no longer verify against the new public key"
        ));
    }
    let material = make_material(req, ui)?;
    let public_pem = material.pair.public.to_pem();
    let values: [(&'static str, &[u8], &str); 3] = [
        (
            SECRET_PASSWORD,
            material.password.bytes.expose(),
            "Password",
        ),
        (
            SECRET_PRIVATE_KEY,
            material.pair.private_pem.expose().as_bytes(),
            "Private key",
        ),
        (SECRET_PUBLIC_KEY, public_pem.as_bytes(), "Public key"),
    ];
    // Seal all three before the first write, so that a sealing failure changes nothing.
    let mut sealed = Vec::with_capacity(values.len());
    for (secret, value, what) in values {
        let b64 = key.seal(secret, value)?;
        sealed.push((secret, b64, what));
    }
    let mut written: Vec<&'static str> = Vec::new();
    for (i, (secret, b64, what)) in sealed.iter().enumerate() {
        match api.put(&key, secret, b64).await {
            Ok(created) => {
                written.push(secret);
                ui.info(&format!(
                    "{what} written to the {secret} Actions secret of {name} ({})",
                    if created { "created" } else { "updated" }
                ));
            }
            Err(e) => {
                return Err(StoreError::Partial {
                    written,
                    not_written: sealed[i..].iter().map(|(s, _, _)| *s).collect(),
                    source: Box::new(e),
                }
                .into())
            }
        }
    }
    if let GitHubScope::Org {
        visibility: OrgVisibility::Selected,
        ..
    } = target.scope
    {
        ui.warn(&format!(
            "the secrets have visibility `selected`: no repository can read them until you add \
             repositories in the settings of {name}"
        ));
    }
    ui.info(&format!(
        "Public key fingerprint (SHA-256): {}",
        material.pair.public.fingerprint()
    ));
    write_local_pub(&pub_path, &material, ui)
}

/// `generate-key-pair k8s://NAMESPACE/NAME`: finds the cluster, makes the key pair, creates the
/// immutable Secret, then writes `PREFIX.pub`.
pub(crate) async fn kubernetes(
    req: &GenerateKeyPair,
    target: &K8sTarget,
    ui: &mut Ui,
) -> Result<KeyPairReport, Error> {
    let pub_path = check_local_pub(req)?;
    let cluster = kubernetes::find_cluster(&target.lookup, Path::new(SERVICE_ACCOUNT_DIR))?;
    let material = make_material(req, ui)?;
    kubernetes::create_secret(
        &cluster,
        target,
        material.pair.private_pem.expose(),
        &material.pair.public.to_pem(),
        material.password.as_str().unwrap_or_default(),
    )
    .await?;
    let (ns, name) = (&target.namespace, &target.name);
    ui.info(&format!(
        "Created immutable secret {ns}/{name} (cosign.key, cosign.pub, cosign.password) through {}",
        cluster.origin
    ));
    ui.info(&format!(
        "Public key fingerprint (SHA-256): {}",
        material.pair.public.fingerprint()
    ));
    write_local_pub(&pub_path, &material, ui)
}
