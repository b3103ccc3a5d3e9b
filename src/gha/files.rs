//! The runner's file commands: step outputs in `GITHUB_OUTPUT` and Markdown in `GITHUB_STEP_SUMMARY`.
//!
//! An output is written as the runner's multi-line form, always:
//! ```text
//! name<<ghadelimiter_<32 random hex digits>
//! value (any lines)
//! ghadelimiter_<the same digits>
//! ```
//! The delimiter is fresh for every record and chosen so that it occurs in neither the name nor the value:
//! a value cannot end its own record early and smuggle in another output.

use super::GhaError;
use rand_core::{OsRng, RngCore};
use std::io::Write;
use std::path::Path;

/// The prefix of every delimiter (as the official toolkit names it).
pub(crate) const DELIMITER_PREFIX: &str = "ghadelimiter_";

/// Output names the runner and `steps.<id>.outputs.<name>` accept: letters, digits, `_` and `-`.
pub(crate) fn check_output_name(name: &str) -> Result<(), GhaError> {
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(GhaError::InvalidOutputName(name.escape_debug().to_string()))
    }
}

fn random_delimiter() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    format!("{DELIMITER_PREFIX}{}", hex::encode(bytes))
}

/// One `name<<DELIMITER` record, ending in a newline.
pub(crate) fn output_record(name: &str, value: &str) -> String {
    // 128 random bits make a collision with the value practically impossible; the loop makes it certain.
    let mut delimiter = random_delimiter();
    while value.contains(&delimiter) || name.contains(&delimiter) {
        delimiter = random_delimiter();
    }
    format!("{name}<<{delimiter}\n{value}\n{delimiter}\n")
}

/// Appends `bytes` to `path` in one write (the runner creates the file; we create it if it is missing).
pub(crate) fn append(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(bytes)?;
    f.flush()
}

#[cfg(test)]
/// Reads a `GITHUB_OUTPUT` file back the way the runner does (`name=value` lines and `name<<DELIM`
/// blocks); `None` when a block is not closed.
pub(crate) fn parse_outputs(text: &str) -> Option<Vec<(String, String)>> {
    let mut result = Vec::new();
    let mut lines = text.split('\n');
    while let Some(line) = lines.next() {
        if line.is_empty() {
            continue;
        }
        if let Some((name, delimiter)) = line.split_once("<<") {
            let mut value: Vec<&str> = Vec::new();
            loop {
                let l = lines.next()?;
                if l == delimiter {
                    break;
                }
                value.push(l);
            }
            result.push((name.to_string(), value.join("\n")));
        } else {
            let (name, value) = line.split_once('=')?;
            result.push((name.to_string(), value.to_string()));
        }
    }
    Some(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_delimiters_are_fresh() {
        let a = output_record("json", "{\n  \"a\": 1\n}");
        let b = output_record("json", "x");
        let delim = |r: &str| {
            r.lines()
                .next()
                .unwrap()
                .split_once("<<")
                .unwrap()
                .1
                .to_string()
        };
        assert_ne!(delim(&a), delim(&b));
        assert!(delim(&a).starts_with(DELIMITER_PREFIX));
        assert_eq!(delim(&a).len(), DELIMITER_PREFIX.len() + 32);
        let both = format!("{a}{b}");
        assert_eq!(
            parse_outputs(&both).unwrap(),
            vec![
                ("json".to_string(), "{\n  \"a\": 1\n}".to_string()),
                ("json".to_string(), "x".to_string())
            ]
        );
    }

    #[test]
    fn a_value_cannot_close_its_record_or_inject_another() {
        let evil = "x\nghadelimiter_\nEOF\nother<<EOF\ninjected\nEOF";
        let r = output_record("digests", evil);
        let parsed = parse_outputs(&r).unwrap();
        assert_eq!(parsed, vec![("digests".to_string(), evil.to_string())]);
    }

    #[test]
    fn empty_values_and_names() {
        assert_eq!(
            parse_outputs(&output_record("a", "")).unwrap(),
            vec![("a".to_string(), String::new())]
        );
        assert!(check_output_name("rekor-log-indexes").is_ok());
        for bad in ["", "a b", "a<<b", "a=b", "a\nb"] {
            assert!(check_output_name(bad).is_err(), "{bad:?}");
        }
        assert!(parse_outputs("a<<E\nunclosed").is_none());
    }
}
