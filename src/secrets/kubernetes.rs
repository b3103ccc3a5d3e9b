//! Kubernetes: one immutable Opaque Secret holding `cosign.key`, `cosign.pub` and `cosign.password`.

use crate::config::{GenerateKeyPair, K8sTarget};
use crate::error::Error;
use crate::gha::Ui;

/// `generate-key-pair k8s://NAMESPACE/NAME`.
pub async fn provision(
    _req: &GenerateKeyPair,
    _target: &K8sTarget,
    _ui: &mut Ui,
) -> Result<(), Error> {
    Err(Error::NotAvailable {
        message: "storing key pairs in Kubernetes is not available in this build yet".into(),
        hint: "write key files (no TARGET) and create the Secret with kubectl".into(),
    })
}
