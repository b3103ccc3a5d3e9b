//! Every environment variable ferrosign reads, one constant each: its name, whether its value is secret
//! (masked before any other output in Action mode), and what it is for.
//!
//! Only the front-ends ([`crate::front`]) read the environment, through [`Env`]; what they find goes into
//! the request. Below the front-ends nothing reads a variable. Two families are not constants: the Action
//! inputs (`INPUT_<NAME>`, see [`input_var`]) and the variable a key reference names (`--key env://VAR`),
//! which is as secret as [`COSIGN_PRIVATE_KEY`]. The HTTP library also honours the usual proxy variables
//! (`HTTPS_PROXY`, `NO_PROXY`, …) on its own.

/// One environment variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Var {
    /// its name
    pub(crate) name: &'static str,
    /// whether its value is secret (masked in Action mode, never printed)
    pub(crate) secret: bool,
    /// what ferrosign uses it for
    pub(crate) doc: &'static str,
}

const fn var(name: &'static str, secret: bool, doc: &'static str) -> Var {
    Var { name, secret, doc }
}

/// `true` inside GitHub Actions; with no arguments the binary then runs as the Action.
pub(crate) const GITHUB_ACTIONS: Var = var("GITHUB_ACTIONS", false, "`true` inside GitHub Actions");
/// The file the runner reads step outputs from.
pub(crate) const GITHUB_OUTPUT: Var = var("GITHUB_OUTPUT", false, "the step outputs file");
/// The file the runner renders as the job summary.
pub(crate) const GITHUB_STEP_SUMMARY: Var =
    var("GITHUB_STEP_SUMMARY", false, "the job summary file");
/// The JSON payload of the triggering event (fork pull requests, private repositories).
pub(crate) const GITHUB_EVENT_PATH: Var = var(
    "GITHUB_EVENT_PATH",
    false,
    "the triggering event's JSON payload",
);
/// The triggering event's name (`push`, `pull_request`, …).
pub(crate) const GITHUB_EVENT_NAME: Var =
    var("GITHUB_EVENT_NAME", false, "the triggering event's name");
/// The workflow's name: the `workflow=` default annotation.
pub(crate) const GITHUB_WORKFLOW: Var = var("GITHUB_WORKFLOW", false, "the `workflow=` annotation");
/// `owner/repo`: the `repo=` default annotation.
pub(crate) const GITHUB_REPOSITORY: Var = var("GITHUB_REPOSITORY", false, "the `repo=` annotation");
/// The ref that triggered the run: the `ref=` default annotation.
pub(crate) const GITHUB_REF: Var = var("GITHUB_REF", false, "the `ref=` annotation");
/// The commit: the `sha=` default annotation.
pub(crate) const GITHUB_SHA: Var = var("GITHUB_SHA", false, "the `sha=` annotation");
/// The workspace: in the Action's container the mount of the runner's workspace (`/github/workspace`);
/// a relative `DOCKER_CONFIG` is taken from it in Action mode.
pub(crate) const GITHUB_WORKSPACE: Var = var(
    "GITHUB_WORKSPACE",
    false,
    "the workspace (a relative DOCKER_CONFIG in Action mode)",
);
/// The GitHub web URL; on GitHub Enterprise Server it names the instance's container registry.
pub(crate) const GITHUB_SERVER_URL: Var = var(
    "GITHUB_SERVER_URL",
    false,
    "the GitHub instance (its container registry on GHES)",
);
/// The GitHub REST API base (GitHub Enterprise Server); default `https://api.github.com`.
pub(crate) const GITHUB_API_URL: Var = var(
    "GITHUB_API_URL",
    false,
    "the REST API base for `github://` key pair targets",
);
/// cosign's GitHub Enterprise host for `github://` targets (`https://ghe.example`; `/api/v3` is added).
pub(crate) const GITHUB_HOST: Var = var(
    "GITHUB_HOST",
    false,
    "the GitHub Enterprise host for `github://` key pair targets (cosign's variable)",
);
/// Set: cosign's partial trust material; refused without `--trusted-root` (docs/inputs.md E12).
pub(crate) const SIGSTORE_ROOT_FILE: Var =
    var("SIGSTORE_ROOT_FILE", false, "refused: use --trusted-root");
/// Set: refused without `--trusted-root` (E12).
pub(crate) const SIGSTORE_REKOR_PUBLIC_KEY: Var = var(
    "SIGSTORE_REKOR_PUBLIC_KEY",
    false,
    "refused: use --trusted-root",
);
/// Set: refused without `--trusted-root` (E12).
pub(crate) const SIGSTORE_CT_LOG_PUBLIC_KEY_FILE: Var = var(
    "SIGSTORE_CT_LOG_PUBLIC_KEY_FILE",
    false,
    "refused: use --trusted-root",
);
/// Set: refused without `--trusted-root` (E12).
pub(crate) const SIGSTORE_TSA_CERTIFICATE_FILE: Var = var(
    "SIGSTORE_TSA_CERTIFICATE_FILE",
    false,
    "refused: use --trusted-root",
);
/// A token that may write Actions secrets (`generate-key-pair github://…` on the command line).
pub(crate) const GITHUB_TOKEN: Var = var(
    "GITHUB_TOKEN",
    true,
    "the token that writes Actions secrets",
);
/// Set only when the job has `permissions: id-token: write`: the OIDC token service.
pub(crate) const ACTIONS_ID_TOKEN_REQUEST_URL: Var = var(
    "ACTIONS_ID_TOKEN_REQUEST_URL",
    false,
    "the Actions OIDC token service",
);
/// The bearer token for [`ACTIONS_ID_TOKEN_REQUEST_URL`].
pub(crate) const ACTIONS_ID_TOKEN_REQUEST_TOKEN: Var = var(
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    true,
    "the bearer token of the OIDC token service",
);
/// An OIDC identity token given directly, for keyless signing outside Actions.
pub(crate) const SIGSTORE_ID_TOKEN: Var = var(
    "SIGSTORE_ID_TOKEN",
    true,
    "an OIDC identity token for keyless signing",
);
/// The password of the private key (cosign's variable); may be empty.
pub(crate) const COSIGN_PASSWORD: Var = var("COSIGN_PASSWORD", true, "the private key's password");
/// The private key PEM the Action's `key: env://COSIGN_PRIVATE_KEY` reads.
pub(crate) const COSIGN_PRIVATE_KEY: Var = var(
    "COSIGN_PRIVATE_KEY",
    true,
    "the private key PEM (`--key env://COSIGN_PRIVATE_KEY`)",
);
/// The registry password, for `--registry-password`.
pub(crate) const FERROSIGN_REGISTRY_PASSWORD: Var = var(
    "FERROSIGN_REGISTRY_PASSWORD",
    true,
    "the registry password (`--registry-password`)",
);
/// cosign's switch for Docker media types on new `.sig` manifests (`1`/`true`/…: Go's `ParseBool`).
pub(crate) const COSIGN_DOCKER_MEDIA_TYPES: Var = var(
    "COSIGN_DOCKER_MEDIA_TYPES",
    false,
    "write new `.sig` manifests with Docker media types (registries that refuse OCI ones)",
);
/// The directory of the docker config file (`config.json`).
pub(crate) const DOCKER_CONFIG: Var = var("DOCKER_CONFIG", false, "where docker's config.json is");
/// The home directory (`~/.docker/config.json`, `~/.kube/config`).
pub(crate) const HOME: Var = var("HOME", false, "the home directory");
/// The kubeconfig search path (`:`-separated).
pub(crate) const KUBECONFIG: Var = var("KUBECONFIG", false, "the kubeconfig files");
/// Set inside a Kubernetes pod: the API server's address.
pub(crate) const KUBERNETES_SERVICE_HOST: Var = var(
    "KUBERNETES_SERVICE_HOST",
    false,
    "the in-cluster API server's host",
);
/// Set inside a Kubernetes pod: the API server's port.
pub(crate) const KUBERNETES_SERVICE_PORT: Var = var(
    "KUBERNETES_SERVICE_PORT",
    false,
    "the in-cluster API server's port",
);

/// cosign's variable for a TUF mirror: the repository the trusted root and signing config come from.
pub(crate) const TUF_MIRROR: Var = var(
    "TUF_MIRROR",
    false,
    "the TUF mirror (as cosign reads it; default: the one `ferrosign initialize` chose, else Sigstore's public-good repository)",
);
/// cosign's variable for the TUF root to start from for [`TUF_MIRROR`].
pub(crate) const TUF_ROOT_JSON: Var = var(
    "TUF_ROOT_JSON",
    false,
    "the TUF root.json to trust for the mirror (as cosign reads it)",
);
/// ferrosign's TUF cache directory (ferrosign does not share cosign's `TUF_ROOT`, whose layout differs).
pub(crate) const FERROSIGN_TUF_CACHE: Var = var(
    "FERROSIGN_TUF_CACHE",
    false,
    "the TUF cache directory (default `$XDG_CACHE_HOME/ferrosign/tuf`, else `~/.cache/ferrosign/tuf`)",
);
/// The XDG cache base directory (the TUF cache lives under it).
pub(crate) const XDG_CACHE_HOME: Var = var(
    "XDG_CACHE_HOME",
    false,
    "the cache base directory (`ferrosign/tuf` below it)",
);

/// Every variable above, for documentation and for masking the secret ones.
pub(crate) const ALL: &[Var] = &[
    GITHUB_ACTIONS,
    GITHUB_OUTPUT,
    GITHUB_STEP_SUMMARY,
    GITHUB_EVENT_PATH,
    GITHUB_EVENT_NAME,
    GITHUB_WORKFLOW,
    GITHUB_REPOSITORY,
    GITHUB_REF,
    GITHUB_SHA,
    GITHUB_WORKSPACE,
    GITHUB_SERVER_URL,
    GITHUB_API_URL,
    GITHUB_HOST,
    GITHUB_TOKEN,
    ACTIONS_ID_TOKEN_REQUEST_URL,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN,
    SIGSTORE_ID_TOKEN,
    COSIGN_PASSWORD,
    COSIGN_PRIVATE_KEY,
    FERROSIGN_REGISTRY_PASSWORD,
    COSIGN_DOCKER_MEDIA_TYPES,
    DOCKER_CONFIG,
    HOME,
    KUBECONFIG,
    KUBERNETES_SERVICE_HOST,
    KUBERNETES_SERVICE_PORT,
    TUF_MIRROR,
    TUF_ROOT_JSON,
    FERROSIGN_TUF_CACHE,
    XDG_CACHE_HOME,
    SIGSTORE_ROOT_FILE,
    SIGSTORE_REKOR_PUBLIC_KEY,
    SIGSTORE_CT_LOG_PUBLIC_KEY_FILE,
    SIGSTORE_TSA_CERTIFICATE_FILE,
];

/// The variable that carries the Action input `name`: `INPUT_` + the name uppercased, spaces as `_`,
/// dashes kept (as the runner sets them).
pub(crate) fn input_var(name: &str) -> String {
    format!("INPUT_{}", name.replace(' ', "_").to_uppercase())
}

/// A variable lookup: the process environment, or a map in tests.
type Lookup<'a> = Box<dyn Fn(&str) -> Option<std::ffi::OsString> + 'a>;

/// The environment as the front-ends see it.
pub(crate) struct Env<'a> {
    lookup: Lookup<'a>,
}

impl std::fmt::Debug for Env<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Env").finish_non_exhaustive()
    }
}

impl<'a> Env<'a> {
    /// The process environment (as text, variables that are not UTF-8 count as unset; [`Env::bytes`]
    /// reads them as they are).
    pub(crate) fn process() -> Env<'static> {
        Env::new_os(|name| std::env::var_os(name))
    }

    /// Any lookup of text values (tests pass a map).
    #[cfg(test)]
    pub(crate) fn new(lookup: impl Fn(&str) -> Option<String> + 'a) -> Self {
        Env::new_os(move |name| lookup(name).map(std::ffi::OsString::from))
    }

    /// Any lookup of raw values (tests of non-UTF-8 values).
    pub(crate) fn new_os(lookup: impl Fn(&str) -> Option<std::ffi::OsString> + 'a) -> Self {
        Env {
            lookup: Box::new(lookup),
        }
    }

    /// The variable's value, even when empty (`COSIGN_PASSWORD=` is a password).
    pub(crate) fn raw(&self, var: Var) -> Option<String> {
        self.named(var.name)
    }

    /// The variable's bytes, even when empty and whatever their encoding (cosign takes
    /// `COSIGN_PASSWORD` as the bytes it holds).
    pub(crate) fn bytes(&self, var: Var) -> Option<Vec<u8>> {
        (self.lookup)(var.name).map(std::ffi::OsString::into_encoded_bytes)
    }

    /// The variable's value; empty means unset.
    pub(crate) fn get(&self, var: Var) -> Option<String> {
        self.raw(var).filter(|v| !v.is_empty())
    }

    /// A variable named at run time (`env://VAR`, `INPUT_<NAME>`, `COSIGN_<FLAG>`), even when empty;
    /// one that is not UTF-8 counts as unset.
    pub(crate) fn named(&self, name: &str) -> Option<String> {
        (self.lookup)(name).and_then(|v| v.into_string().ok())
    }

    /// The bytes of a variable named at run time, even when empty, UTF-8 or not.
    pub(crate) fn named_bytes(&self, name: &str) -> Option<Vec<u8>> {
        (self.lookup)(name).map(std::ffi::OsString::into_encoded_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_documented() {
        for (i, v) in ALL.iter().enumerate() {
            assert!(!v.doc.is_empty(), "{}", v.name);
            assert!(
                ALL[i + 1..].iter().all(|w| w.name != v.name),
                "{} twice",
                v.name
            );
        }
        assert_eq!(input_var("tlog-upload"), "INPUT_TLOG-UPLOAD");
        assert_eq!(input_var("my input"), "INPUT_MY_INPUT");
    }
}
