//! Registry credentials in Action mode from a docker config in the workspace, against the real registry
//! (Debian's docker-registry with htpasswd auth). In a real run the Action's container sees the
//! workspace and a home of its own, not the runner's `~/.docker` where login steps write; so a login step
//! and the Action share a `DOCKER_CONFIG` in the workspace.

use crate::action::*;
use crate::support::registry::TestRegistry;
use crate::support::*;
use base64::Engine;
use std::path::Path;
use std::process::Command;

/// What the runner fills in for `registry-password` by default: the job's token, which the Action
/// keeps for GitHub's registries.
const JOB_TOKEN: &str = "ghs_dockerconfigjobtoken0123456789abcdef";

/// The signing step as the runner starts it, with the default registry inputs, an empty home of the
/// container's own, and a working directory that is not the workspace (so that a relative
/// `DOCKER_CONFIG` must be taken from `GITHUB_WORKSPACE`).
fn step(r: &Runner, pem: &str, image: &str) -> Command {
    let home = r.path().join("container-home");
    let cwd = r.path().join("elsewhere");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&cwd).unwrap();
    let mut c = r.action("push");
    c.current_dir(&cwd)
        .env("HOME", &home)
        .env("COSIGN_PRIVATE_KEY", pem)
        .env("COSIGN_PASSWORD", PASSWORD);
    input(&mut c, "images", image);
    input(&mut c, "key", "env://COSIGN_PRIVATE_KEY");
    input(&mut c, "tlog-upload", "false");
    input(&mut c, "allow-insecure-registry", "true");
    input(&mut c, "registry-username", "octocat");
    input(&mut c, "registry-password", JOB_TOKEN);
    c
}

/// A docker config as `docker login` writes it: `auths.<registry>.auth` = base64 of `user:password`.
fn docker_login(dir: &Path, registry: &str, user: &str, password: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    std::fs::write(
        dir.join("config.json"),
        format!(r#"{{"auths":{{"{registry}":{{"auth":"{auth}"}}}}}}"#),
    )
    .unwrap();
}

#[test]
fn the_action_reads_a_docker_config_in_the_workspace() {
    let reg = TestRegistry::start_with_auth("robot", REGISTRY_PASSWORD);
    let digest = reg.push_image("acme/app", "v1", "action-docker-config");
    let image = format!("{}/acme/app@{digest}", reg.addr);
    let r = Runner::new();
    let pem = make_key(r.path());
    let secrets = [REGISTRY_PASSWORD, PASSWORD, JOB_TOKEN, pem.as_str()];
    docker_login(
        &r.path().join(".docker-login"),
        &reg.addr,
        "robot",
        REGISTRY_PASSWORD,
    );

    // No docker config in view: the job token is held back, nothing else is there, the registry says
    // no, and the hint says where the credentials must be for the Action to see them.
    let res = run(&mut step(&r, &pem, &image));
    assert_eq!(res.code, 1, "{}", res.all());
    assert!(
        res.stderr
            .contains("DOCKER_CONFIG` set to a directory in the workspace"),
        "{}",
        res.all()
    );
    assert!(reg.sig_payloads("acme/app", &digest).is_empty());
    assert_no_leak(&res, &r, &secrets);

    // A relative DOCKER_CONFIG, taken from the workspace: signed with the robot's credentials.
    let mut c = step(&r, &pem, &image);
    c.env("DOCKER_CONFIG", ".docker-login");
    let res = run(&mut c).ok();
    assert_eq!(reg.sig_payloads("acme/app", &digest).len(), 1);
    assert!(
        res.stderr.contains(&format!(
            "not sending the job's GitHub token to {} (it is for GitHub's registry only); using the credentials of {}",
            reg.addr,
            r.path().join(".docker-login/config.json").display()
        )),
        "{}",
        res.all()
    );
    assert_no_leak(&res, &r, &secrets);

    // The absolute path the runner hands over for `${{ github.workspace }}/.docker-login`.
    let mut c = step(&r, &pem, &image);
    c.env("DOCKER_CONFIG", r.path().join(".docker-login"));
    let res = run(&mut c).ok();
    assert_eq!(
        reg.sig_payloads("acme/app", &digest).len(),
        1,
        "signed once"
    );
    assert_no_leak(&res, &r, &secrets);

    // A runner path the container cannot see (the login step's default, or the runner's temp): a
    // warning that says so, and no credentials.
    let mut c = step(&r, &pem, &image);
    c.env("DOCKER_CONFIG", "/home/runner/.docker");
    let res = run(&mut c);
    assert_eq!(res.code, 1, "{}", res.all());
    assert!(
        res.stdout.contains(
            "::warning::DOCKER_CONFIG is `/home/runner/.docker`, but the Action's container has no"
        ),
        "{}",
        res.stdout
    );
    assert_no_leak(&res, &r, &secrets);
}
