//! `action.yml`, the code and the README agree: every input the code reads is declared with the same
//! default, every declared output is written, and the README's tables are what `action.yml` says.
//! `FERROSIGN_BLESS=1 cargo test --test it action_docs` rewrites the README tables.

use std::path::Path;
use yaml_rust2::{Yaml, YamlLoader};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn action_yml() -> Yaml {
    let text = std::fs::read_to_string(root().join("action.yml")).expect("action.yml");
    YamlLoader::load_from_str(&text)
        .expect("action.yml parses")
        .remove(0)
}

/// (name, default, description) of each input, in file order.
fn declared_inputs(doc: &Yaml) -> Vec<(String, Option<String>, String)> {
    doc["inputs"]
        .as_hash()
        .expect("inputs")
        .iter()
        .map(|(k, v)| {
            let default = match &v["default"] {
                Yaml::BadValue => None,
                Yaml::String(s) => Some(s.clone()),
                Yaml::Boolean(b) => Some(b.to_string()),
                other => panic!("default of {k:?} is not a string: {other:?}"),
            };
            let description = v["description"]
                .as_str()
                .expect("description")
                .trim()
                .to_string();
            (k.as_str().unwrap().to_string(), default, description)
        })
        .collect()
}

fn declared_outputs(doc: &Yaml) -> Vec<(String, String)> {
    doc["outputs"]
        .as_hash()
        .expect("outputs")
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().unwrap().to_string(),
                v["description"]
                    .as_str()
                    .expect("description")
                    .trim()
                    .to_string(),
            )
        })
        .collect()
}

fn cell(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

fn inputs_table(doc: &Yaml) -> String {
    let mut t = String::from("| input | default | description |\n|---|---|---|\n");
    for (name, default, description) in declared_inputs(doc) {
        let default = match default.as_deref() {
            None => "(none)".to_string(),
            Some("") => "`''`".to_string(),
            Some(d) => format!("`{d}`"),
        };
        t.push_str(&format!(
            "| `{name}` | {default} | {} |\n",
            cell(&description)
        ));
    }
    t
}

fn outputs_table(doc: &Yaml) -> String {
    let mut t = String::from("| output | description |\n|---|---|\n");
    for (name, description) in declared_outputs(doc) {
        t.push_str(&format!("| `{name}` | {} |\n", cell(&description)));
    }
    t
}

/// Replaces the text between `<!-- NAME:begin -->` and `<!-- NAME:end -->`.
fn splice(readme: &str, name: &str, table: &str) -> String {
    let begin = format!("<!-- {name}:begin -->\n");
    let end = format!("<!-- {name}:end -->");
    let a = readme
        .find(&begin)
        .unwrap_or_else(|| panic!("README lacks {begin}"))
        + begin.len();
    let b = readme[a..]
        .find(&end)
        .unwrap_or_else(|| panic!("README lacks {end}"))
        + a;
    format!("{}{}{}", &readme[..a], table, &readme[b..])
}

#[test]
fn readme_tables_match_action_yml() {
    let doc = action_yml();
    let path = root().join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let want = splice(
        &splice(&readme, "action-inputs", &inputs_table(&doc)),
        "action-outputs",
        &outputs_table(&doc),
    );
    if std::env::var_os("FERROSIGN_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    assert!(
        readme == want,
        "the README's input/output tables differ from action.yml: run \
         `FERROSIGN_BLESS=1 cargo test --test it action_docs` and commit README.md"
    );
}

#[test]
fn action_yml_declares_exactly_what_the_code_reads_and_writes() {
    let doc = action_yml();
    let declared: Vec<(String, Option<String>)> = declared_inputs(&doc)
        .into_iter()
        .map(|(n, d, _)| (n, d))
        .collect();
    let code: Vec<(String, Option<String>)> = ferrosign::front::inputs::INPUTS
        .iter()
        .map(|i| (i.name.to_string(), i.default.map(str::to_string)))
        .collect();
    assert_eq!(declared, code, "action.yml inputs vs src/inputs.rs INPUTS");
    for (name, _, description) in declared_inputs(&doc) {
        assert!(
            name.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
            "input {name} is not kebab-case"
        );
        assert!(
            description.len() > 20,
            "input {name} needs a prose description"
        );
    }
    let outputs: Vec<String> = declared_outputs(&doc).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        outputs,
        ferrosign::front::inputs::OUTPUTS,
        "action.yml outputs vs OUTPUTS"
    );
    // The outputs the Action writes are exactly the declared ones, in order.
    let written: Vec<&str> = ferrosign::front::render::outputs(&Default::default())
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(written, ferrosign::front::inputs::OUTPUTS);
    assert_eq!(doc["runs"]["using"].as_str(), Some("docker"));
    let image = doc["runs"]["image"].as_str().unwrap();
    assert!(
        image == "Dockerfile" || image.contains("@sha256:"),
        "runs.image must be the Dockerfile or an image pinned by digest: {image}"
    );
}

#[test]
fn dockerfile_keeps_its_promises() {
    let text = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let froms: Vec<&str> = text.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert!(froms.len() >= 2, "multi-stage");
    let last = froms.last().unwrap();
    assert!(
        *last == "FROM scratch" || last.contains("distroless/static"),
        "final stage: {last}"
    );
    assert!(
        text.contains("ENTRYPOINT [\"/ferrosign\"]"),
        "exec-form absolute ENTRYPOINT"
    );
    assert!(!text.lines().any(|l| l.starts_with("USER")), "no USER");
    assert!(
        text.contains("/etc/ssl/certs/ca-certificates.crt"),
        "CA certificates"
    );
    assert!(
        text.contains("org.opencontainers.image.source"),
        "OCI labels"
    );
    assert!(text.contains("unknown-linux-musl"), "static musl build");
}

#[test]
fn workflows_pin_actions_by_commit_and_start_with_no_permissions() {
    let dir = root().join(".github/workflows");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.extend(
        std::fs::read_dir(root().join("examples"))
            .unwrap()
            .map(|e| e.unwrap().path()),
    );
    let sha = regex::Regex::new(r"^[^@\s]+@[0-9a-f]{40} # v\d").unwrap();
    for f in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "yml"))
    {
        let text = std::fs::read_to_string(f).unwrap();
        let doc = YamlLoader::load_from_str(&text).unwrap().remove(0);
        assert!(
            !doc["permissions"].is_badvalue(),
            "{}: top-level permissions block",
            f.display()
        );
        let ours = f.starts_with(&dir);
        if ours {
            assert!(
                doc["permissions"].as_hash().is_some_and(|h| h.is_empty()),
                "{}: our workflows start with `permissions: {{}}`",
                f.display()
            );
        }
        for line in text.lines().map(str::trim) {
            let Some(uses) = line
                .strip_prefix("uses: ")
                .or_else(|| line.strip_prefix("- uses: "))
            else {
                continue;
            };
            if uses.starts_with("./") || uses.starts_with("acme/ferrosign@") {
                continue;
            }
            assert!(
                sha.is_match(uses),
                "{}: `{uses}` is not pinned by full commit SHA",
                f.display()
            );
        }
    }
}
