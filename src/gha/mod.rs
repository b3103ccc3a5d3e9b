//! The only writer of user-facing output: stdout data, stderr logs, workflow commands, `GITHUB_OUTPUT`
//! and the job summary. No other module prints.
//!
//! Data (signatures, keys, JSON) goes to stdout; messages go to stderr. In Actions mode
//! (`GITHUB_ACTIONS=true`) warnings and errors become `::warning::`/`::error::` commands, and every
//! secret is masked with `::add-mask::` (line by line) before it could appear anywhere. As a second line
//! of defence, every masked value is replaced by `***` in everything written through [`Ui`].

pub(crate) mod escape;
pub(crate) mod files;

use crate::secret::SecretString;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// What can go wrong writing the runner's files (`GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum GhaError {
    /// An output name the runner could not parse back.
    #[error("invalid output name `{0}`")]
    InvalidOutputName(String),
    /// A runner file could not be written.
    #[error("cannot write the {what} file {}: {source}", path.display())]
    Write {
        /// "step output" or "job summary"
        what: &'static str,
        /// the file
        path: PathBuf,
        /// the cause
        source: std::io::Error,
    },
}

impl GhaError {
    /// What the user can do about it.
    pub(crate) fn hint(&self) -> Option<String> {
        match self {
            GhaError::InvalidOutputName(_) => None,
            GhaError::Write { .. } => Some(
                "the runner provides this file; check that the step runs on a GitHub runner (or set the variable to a writable file)"
                    .into(),
            ),
        }
    }
}

/// What stdin can give as a password ([`Ui::stdin_password`]).
pub(crate) enum StdinPassword {
    /// A terminal: prompt on it.
    Terminal,
    /// The bytes of a pipe or file.
    Read(crate::secret::SecretBytes),
    /// Reading failed, or stdin is too large to be a password.
    Failed(String),
    /// Neither a terminal nor a pipe or file (e.g. `/dev/null`).
    Unusable,
}

/// The most bytes a password read from stdin may have: 1 MiB.
const STDIN_PASSWORD_LIMIT: u64 = 1024 * 1024;

/// True when stdin is a pipe (FIFO), a regular file or a socket, which cosign reads a password from.
fn stdin_is_pipe_or_file() -> bool {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        let Ok(fd) = std::io::stdin().as_fd().try_clone_to_owned() else {
            return false;
        };
        std::fs::File::from(fd)
            .metadata()
            .is_ok_and(|m| pipe_file_or_socket(m.file_type()))
    }
    #[cfg(not(unix))]
    {
        false
    }
}

/// True for a pipe (FIFO), a regular file or a socket: what a password may be read from (not a
/// character device such as `/dev/null`, not a directory).
#[cfg(unix)]
fn pipe_file_or_socket(t: std::fs::FileType) -> bool {
    use std::os::unix::fs::FileTypeExt;
    t.is_fifo() || t.is_file() || t.is_socket()
}

/// A password read from `r` (stdin when it is a pipe or file) to its end, bytes verbatim; refused
/// beyond [`STDIN_PASSWORD_LIMIT`] bytes (at most one byte more is read).
fn read_password(r: impl std::io::Read) -> StdinPassword {
    use std::io::Read;
    let mut buf = Vec::new();
    match r.take(STDIN_PASSWORD_LIMIT + 1).read_to_end(&mut buf) {
        Ok(_) if buf.len() as u64 > STDIN_PASSWORD_LIMIT => {
            zeroize::Zeroize::zeroize(&mut buf);
            StdinPassword::Failed(format!(
                "stdin holds more than {STDIN_PASSWORD_LIMIT} bytes, too many for a password"
            ))
        }
        Ok(_) => StdinPassword::Read(crate::secret::SecretBytes::new(buf)),
        Err(e) => StdinPassword::Failed(format!("cannot read the password from stdin: {e}")),
    }
}

/// Rewrites a message before it is shown (the Action names its inputs where the CLI names flags).
pub(crate) type Wording = fn(&str) -> String;

/// Where output goes; the real process streams, or buffers in tests.
pub(crate) struct Ui {
    actions: bool,
    wording: Option<Wording>,
    out: Box<dyn Write + Send>,
    err: Box<dyn Write + Send>,
    masked: Vec<SecretString>,
    output_file: Option<PathBuf>,
    summary_file: Option<PathBuf>,
    warned_no_output_file: bool,
}

impl std::fmt::Debug for Ui {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ui")
            .field("actions", &self.actions)
            .finish_non_exhaustive()
    }
}

impl Ui {
    /// Output to the process's stdout and stderr (the front-end says whether this is Actions mode).
    pub(crate) fn stdio(actions: bool) -> Self {
        Self::new(
            actions,
            Box::new(std::io::stdout()),
            Box::new(std::io::stderr()),
        )
    }

    /// Rewrites warnings, errors and hints with `wording` before they are shown.
    pub(crate) fn with_wording(mut self, wording: Wording) -> Self {
        self.wording = Some(wording);
        self
    }

    /// A message in the front-end's words.
    pub(crate) fn worded(&self, text: &str) -> String {
        match self.wording {
            Some(w) => w(text),
            None => text.to_string(),
        }
    }

    /// Sets the step output and job summary files (Actions mode).
    pub(crate) fn with_runner_files(
        mut self,
        output: Option<PathBuf>,
        summary: Option<PathBuf>,
    ) -> Self {
        self.output_file = output;
        self.summary_file = summary;
        self
    }

    /// Output to the given writers.
    pub(crate) fn new(
        actions: bool,
        out: Box<dyn Write + Send>,
        err: Box<dyn Write + Send>,
    ) -> Self {
        Ui {
            actions,
            wording: None,
            out,
            err,
            masked: Vec::new(),
            output_file: None,
            summary_file: None,
            warned_no_output_file: false,
        }
    }

    /// Registers a secret: in Actions mode prints `::add-mask::` for each of its non-empty lines, and from
    /// now on replaces it by `***` in everything this `Ui` writes.
    pub(crate) fn mask(&mut self, secret: &str) {
        for line in secret.lines() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || self.masked.iter().any(|m| m.expose() == line) {
                continue;
            }
            if self.actions {
                let _ = writeln!(self.out, "::add-mask::{}", escape::data(line));
            }
            self.masked.push(SecretString::from(line.to_string()));
        }
        // Longest first, so that a secret containing another is replaced whole.
        self.masked
            .sort_by_key(|m| std::cmp::Reverse(m.expose().len()));
        let _ = self.out.flush();
    }

    /// Replaces every masked value in `text`, and the credentials of any URL in it, by `***`.
    pub(crate) fn redact(&self, text: &str) -> String {
        let mut text = crate::secret::redact_url_credentials(text).into_owned();
        for m in &self.masked {
            if !m.expose().is_empty() && text.contains(m.expose().as_str()) {
                text = text.replace(m.expose().as_str(), "***");
            }
        }
        text
    }

    /// Writes data (a result a script may read) to stdout, followed by a newline.
    pub(crate) fn data(&mut self, text: &str) {
        let text = self.redact(text);
        let _ = writeln!(self.out, "{text}");
        let _ = self.out.flush();
    }

    /// Raw bytes on stdout, as they are (a signature with `--b64=false`); never in Actions mode, where
    /// stdout carries workflow commands.
    pub(crate) fn data_bytes(&mut self, bytes: &[u8]) {
        if self.actions {
            return;
        }
        let _ = self.out.write_all(bytes);
        let _ = self.out.flush();
    }

    /// Writes an informational line to stderr.
    pub(crate) fn info(&mut self, text: &str) {
        let text = self.redact(text);
        let _ = writeln!(self.err, "{text}");
    }

    /// Writes a warning: `::warning::` in Actions, `warning: …` on stderr otherwise.
    pub(crate) fn warn(&mut self, text: &str) {
        let text = self.redact(&self.worded(text));
        if self.actions {
            let _ = writeln!(self.out, "::warning::{}", escape::data(&text));
            let _ = self.out.flush();
        } else {
            let _ = writeln!(self.err, "warning: {text}");
        }
    }

    /// Writes the one error line and its hint: `::error::` in Actions (hint included), and always
    /// `error: …` / `hint: …` on stderr.
    pub(crate) fn error(&mut self, text: &str, hint: Option<&str>) {
        let text = self.redact(&self.worded(text));
        let hint = hint.map(|h| self.redact(&self.worded(h)));
        if self.actions {
            let full = match &hint {
                Some(h) => format!("{text}\nhint: {h}"),
                None => text.clone(),
            };
            let _ = writeln!(self.out, "::error::{}", escape::data(&full));
            let _ = self.out.flush();
        }
        let _ = writeln!(self.err, "error: {text}");
        if let Some(h) = hint {
            let _ = writeln!(self.err, "hint: {h}");
        }
    }

    /// What stdin offers for a password when `COSIGN_PASSWORD` is not set, as cosign decides it: a
    /// terminal (the caller prompts); a pipe or a file, read to its end (at most 1 MiB), bytes verbatim;
    /// or something else (`/dev/null`, a closed stdin), which cannot give one.
    pub(crate) fn stdin_password() -> StdinPassword {
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            return StdinPassword::Terminal;
        }
        if !stdin_is_pipe_or_file() {
            return StdinPassword::Unusable;
        }
        read_password(stdin.lock())
    }

    /// Asks for a password on the terminal (the prompt goes to the terminal, not to stdout); `None`
    /// when there is no terminal to ask on or reading fails.
    pub(crate) fn prompt_password(&mut self, prompt: &str) -> Option<SecretString> {
        if !std::io::stdin().is_terminal() {
            return None;
        }
        // What was written so far comes before the prompt.
        let _ = self.out.flush();
        let _ = self.err.flush();
        rpassword::prompt_password(prompt)
            .ok()
            .map(SecretString::from)
    }

    /// Opens a collapsible group in the Actions log (a plain line elsewhere).
    pub(crate) fn group(&mut self, title: &str) {
        let title = self.redact(title);
        if self.actions {
            let _ = writeln!(self.out, "::group::{}", escape::data(&title));
            let _ = self.out.flush();
        } else {
            let _ = writeln!(self.err, "{title}");
        }
    }

    /// Sets a step output: appends `name<<DELIMITER`, the value and the delimiter to `GITHUB_OUTPUT`, with
    /// a fresh random delimiter that occurs in neither. Masked values are replaced by `***`. Outside
    /// Actions this does nothing; in Actions without `GITHUB_OUTPUT` it warns once.
    pub(crate) fn set_output(&mut self, name: &str, value: &str) -> Result<(), GhaError> {
        files::check_output_name(name)?;
        let Some(path) = self.output_file.clone() else {
            if self.actions && !self.warned_no_output_file {
                self.warned_no_output_file = true;
                self.warn("GITHUB_OUTPUT is not set: this step's outputs are not written");
            }
            return Ok(());
        };
        let value = self.redact(value);
        let record = files::output_record(name, &value);
        files::append(&path, record.as_bytes()).map_err(|source| GhaError::Write {
            what: "step output",
            path,
            source,
        })
    }

    /// Appends Markdown to the job summary (`GITHUB_STEP_SUMMARY`); masked values become `***`. Does
    /// nothing when there is no summary file (outside Actions).
    pub(crate) fn append_summary(&mut self, markdown: &str) -> Result<(), GhaError> {
        let Some(path) = self.summary_file.clone() else {
            return Ok(());
        };
        let text = self.redact(markdown);
        files::append(&path, text.as_bytes()).map_err(|source| GhaError::Write {
            what: "job summary",
            path,
            source,
        })
    }

    /// A `Ui` for one of several tasks running at once: the same mode, wording and masks, but what it
    /// writes is kept, in order and with its stream, until [`Ui::replay`] writes it out here. Tasks that
    /// run concurrently thus print their lines in the order the caller replays them (the input order),
    /// never interleaved. A secret must be masked on this `Ui` before the task starts: one masked only on
    /// the capture would be announced to the runner late.
    pub(crate) fn capture(&self) -> (Ui, Captured) {
        let captured = Captured::default();
        let ui = Ui {
            actions: self.actions,
            wording: self.wording,
            out: Box::new(CaptureWriter {
                to: captured.clone(),
                stream: Stream::Out,
            }),
            err: Box::new(CaptureWriter {
                to: captured.clone(),
                stream: Stream::Err,
            }),
            masked: self.masked.clone(),
            output_file: None,
            summary_file: None,
            warned_no_output_file: true,
        };
        (ui, captured)
    }

    /// Makes a capture redact everything `parent` masks now, including secrets registered after the
    /// capture was made (the runner was told of them by `parent`).
    pub(crate) fn adopt_masks(&mut self, parent: &Ui) {
        self.masked.clone_from(&parent.masked);
    }

    /// Writes out what a [`Ui::capture`] kept, each chunk to its stream, in the order it was written.
    pub(crate) fn replay(&mut self, captured: &Captured) {
        let chunks = match captured.0.lock() {
            Ok(mut c) => std::mem::take(&mut *c),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        };
        for (stream, bytes) in chunks {
            let w = match stream {
                Stream::Out => &mut self.out,
                Stream::Err => &mut self.err,
            };
            let _ = w.write_all(&bytes);
            let _ = w.flush();
        }
    }

    /// Closes the group opened by [`Ui::group`].
    pub(crate) fn end_group(&mut self) {
        if self.actions {
            let _ = writeln!(self.out, "::endgroup::");
            let _ = self.out.flush();
        }
    }
}

/// Which stream a captured chunk was written to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stream {
    Out,
    Err,
}

/// Chunks of bytes with their stream, in the order they were written.
type Chunks = Vec<(Stream, Vec<u8>)>;

/// What a [`Ui::capture`] wrote.
#[derive(Clone, Debug, Default)]
pub(crate) struct Captured(Arc<Mutex<Chunks>>);

/// One stream of a captured `Ui`: appends to the last chunk when it is of the same stream.
struct CaptureWriter {
    to: Captured,
    stream: Stream,
}

impl Write for CaptureWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        let mut chunks = match self.to.0.lock() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        match chunks.last_mut() {
            Some((s, bytes)) if *s == self.stream => bytes.extend_from_slice(b),
            _ => chunks.push((self.stream, b.to_vec())),
        }
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    /// A writer whose bytes can be read back.
    #[derive(Clone, Default)]
    pub(crate) struct Buf(pub(crate) Arc<Mutex<Vec<u8>>>);

    impl Buf {
        pub(crate) fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
        }
    }

    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::Buf;
    use super::*;

    fn ui(actions: bool) -> (Ui, Buf, Buf) {
        make(actions)
    }

    fn make(actions: bool) -> (Ui, Buf, Buf) {
        let (o, e) = (Buf::default(), Buf::default());
        (
            Ui::new(actions, Box::new(o.clone()), Box::new(e.clone())),
            o,
            e,
        )
    }

    #[test]
    fn masks_line_by_line_before_anything_else_and_redacts() {
        let (mut ui, o, e) = ui(true);
        ui.mask("-----BEGIN X-----\nAAAA\n\n-----END X-----\n");
        ui.info("the key is AAAA");
        ui.error("bad AAAA", Some("try AAAA"));
        let out = o.text();
        assert!(out.starts_with(
            "::add-mask::-----BEGIN X-----\n::add-mask::AAAA\n::add-mask::-----END X-----\n"
        ));
        assert!(!e.text().contains("AAAA"), "{}", e.text());
        assert!(out.contains("::error::bad ***%0Ahint: try ***"));
    }

    #[test]
    fn cli_mode_prints_no_commands() {
        let (mut ui, o, e) = ui(false);
        ui.mask("pw");
        ui.warn("careful\n::error::x");
        assert_eq!(o.text(), "");
        assert_eq!(e.text(), "warning: careful\n::error::x\n");
    }

    #[test]
    fn outputs_and_summary_go_to_the_runner_files_redacted() {
        let dir = tempfile::tempdir().unwrap();
        let (out_path, sum_path) = (dir.path().join("out"), dir.path().join("sum"));
        let (ui, o, _) = ui(true);
        let mut ui = ui.with_runner_files(Some(out_path.clone()), Some(sum_path.clone()));
        ui.mask("s3cret");
        ui.set_output("digests", "a\nb s3cret").unwrap();
        ui.append_summary("| x s3cret |\n").unwrap();
        let text = std::fs::read_to_string(&out_path).unwrap();
        let parsed = files::parse_outputs(&text).unwrap();
        assert_eq!(
            parsed,
            vec![("digests".to_string(), "a\nb ***".to_string())]
        );
        assert_eq!(std::fs::read_to_string(&sum_path).unwrap(), "| x *** |\n");
        assert_eq!(o.text(), "::add-mask::s3cret\n");
        assert!(matches!(
            ui.set_output("bad\nname", "x"),
            Err(GhaError::InvalidOutputName(_))
        ));
    }

    #[test]
    fn missing_output_file_warns_once_in_actions_and_is_silent_on_the_cli() {
        let (mut ui, o, _) = ui(true);
        ui.set_output("a", "1").unwrap();
        ui.set_output("b", "2").unwrap();
        assert_eq!(o.text().matches("::warning::").count(), 1);
        let (mut cli, o, e) = make(false);
        cli.set_output("a", "1").unwrap();
        cli.append_summary("x").unwrap();
        assert_eq!(o.text() + &e.text(), "");
    }

    #[test]
    fn captured_output_is_replayed_in_order_with_its_streams_and_masks() {
        let (mut ui, o, e) = ui(true);
        ui.mask("s3cret");
        let (mut a, ca) = ui.capture();
        let (mut b, cb) = ui.capture();
        b.info("b info");
        a.group("Sign a");
        a.info("a info s3cret");
        a.warn("a warn");
        a.end_group();
        b.warn("b warn");
        ui.mask("later");
        b.adopt_masks(&ui);
        b.info("b later");
        assert_eq!(
            o.text(),
            "::add-mask::s3cret\n::add-mask::later\n",
            "nothing before the replay"
        );
        ui.replay(&ca);
        ui.replay(&cb);
        assert_eq!(
            o.text(),
            "::add-mask::s3cret\n::add-mask::later\n::group::Sign a\n::warning::a warn\n::endgroup::\n::warning::b warn\n"
        );
        assert_eq!(e.text(), "a info ***\nb info\nb ***\n");
    }

    #[test]
    fn warning_cannot_inject_a_command() {
        let (mut ui, o, _) = ui(true);
        ui.warn("x\n::add-mask::y");
        assert_eq!(o.text(), "::warning::x%0A::add-mask::y\n");
    }

    #[test]
    fn each_secret_line_is_masked_once_and_empty_lines_never() {
        let (mut ui, o, _) = ui(true);
        ui.mask("s3cret");
        ui.mask("other\n\n  \ns3cret\r\n");
        ui.mask("s3cret");
        assert_eq!(o.text(), "::add-mask::s3cret\n::add-mask::other\n");
        // the longer secret is replaced whole, before the shorter one it contains
        ui.mask("s3cret-and-more");
        assert_eq!(ui.redact("a s3cret-and-more b s3cret"), "a *** b ***");
    }

    #[test]
    fn a_password_is_read_from_a_pipe_a_file_or_a_socket_only() {
        use std::os::fd::AsFd;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "pw").unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let (socket, _peer) = std::os::unix::net::UnixStream::pair().unwrap();
        let socket = std::fs::File::from(socket.as_fd().try_clone_to_owned().unwrap());
        let kind = |m: std::fs::Metadata| pipe_file_or_socket(m.file_type());
        assert!(kind(std::fs::metadata(&file).unwrap()));
        assert!(kind(std::fs::metadata(&fifo).unwrap()));
        assert!(kind(socket.metadata().unwrap()));
        assert!(!kind(std::fs::metadata("/dev/null").unwrap()));
        assert!(!kind(std::fs::metadata(dir.path()).unwrap()));
    }

    #[test]
    fn a_password_is_read_verbatim_up_to_one_mebibyte() {
        let read = |bytes: Vec<u8>| read_password(std::io::Cursor::new(bytes));
        match read(b"pw\n\xff".to_vec()) {
            StdinPassword::Read(pw) => assert_eq!(pw.expose(), b"pw\n\xff"),
            _ => panic!("not read"),
        }
        let limit = usize::try_from(STDIN_PASSWORD_LIMIT).unwrap();
        assert_eq!(limit, 1 << 20);
        match read(vec![b'x'; limit]) {
            StdinPassword::Read(pw) => assert_eq!(pw.expose().len(), limit),
            _ => panic!("1 MiB not read"),
        }
        match read(vec![b'x'; limit + 1]) {
            StdinPassword::Failed(why) => {
                assert_eq!(
                    why,
                    "stdin holds more than 1048576 bytes, too many for a password"
                );
            }
            _ => panic!("more than 1 MiB read"),
        }
    }

    #[test]
    fn data_goes_to_stdout_redacted_and_raw_bytes_only_outside_actions() {
        let (mut cli, o, e) = make(false);
        cli.mask("s3cret");
        cli.data("a s3cret b");
        cli.data_bytes(b"\x00raw\xff");
        assert_eq!(o.0.lock().unwrap().as_slice(), b"a *** b\n\x00raw\xff");
        assert_eq!(e.text(), "");
        let (mut actions, o, _) = make(true);
        actions.data_bytes(b"raw");
        actions.data("text");
        assert_eq!(o.text(), "text\n");
        assert_eq!(format!("{actions:?}"), "Ui { actions: true, .. }");
    }
}
