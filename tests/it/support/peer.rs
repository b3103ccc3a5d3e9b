//! How every Python peer here starts: stdin a pipe (the peer exits when it closes, so a test that dies
//! takes it along), stdout read for its one `READY {json}` line, stderr shown with the test's.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, Stdio};

/// A started peer: the process, the stdin that keeps it alive, and its `READY` object.
pub struct Started {
    pub child: Child,
    pub stdin: ChildStdin,
    pub ready: serde_json::Value,
}

/// Spawns `cmd` and waits for its `READY {json}` line; panics naming `what` when the peer does not start.
pub fn start(cmd: &mut Command, what: &str) -> Started {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("start {what}: {e}"));
    let stdin = child.stdin.take().expect("stdin");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .unwrap_or_else(|e| panic!("read {what}'s READY line: {e}"));
    let json = line
        .strip_prefix("READY ")
        .unwrap_or_else(|| panic!("{what} did not start: {line:?}"));
    let ready = serde_json::from_str(json).unwrap_or_else(|e| panic!("{what}'s READY json: {e}"));
    Started {
        child,
        stdin,
        ready,
    }
}
