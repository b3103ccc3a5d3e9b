//! PEM read the way cosign reads it: Go's `encoding/pem.Decode` (Go 1.26 `src/encoding/pem/pem.go`), which
//! cosign uses for every key, public key and certificate it loads.
//!
//! Go's rules, kept here exactly (docs/inputs.md §A3): text before the first `-----BEGIN` line is skipped;
//! the FIRST complete block counts and anything after it is ignored; `Key: value` header lines may follow
//! the BEGIN line; spaces and tabs in the body are removed; the body is standard base64 with padding, and
//! line breaks (`\n`, `\r\n`) may fall anywhere — so line width does not matter and a one-line body is
//! fine. A block whose END label differs, whose END line has trailing text, or whose body is not base64
//! is skipped (the search goes on for a later block). BEGIN must start a line (an indented BEGIN, or a
//! byte-order mark before it, is not a block), and so must END.
//!
//! `pem-rfc7468` (used for writing, and by other modules) is strict by design; cosign users meet files
//! re-wrapped by editors and secret stores, hence this reader.

use base64::alphabet::STANDARD;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;

/// Go's `base64.StdEncoding` when decoding: padding required, non-zero trailing bits allowed.
const GO_STD: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

const BEGIN: &[u8] = b"-----BEGIN ";
const END: &[u8] = b"-----END ";
const DASHES: &[u8] = b"-----";

/// One PEM block.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Block {
    /// the label, e.g. `PUBLIC KEY`
    pub(crate) label: String,
    /// the `Key: value` header lines, in order
    pub(crate) headers: Vec<(String, String)>,
    /// the decoded body (DER for keys; cosign's key file holds JSON)
    pub(crate) bytes: Vec<u8>,
}

impl std::fmt::Debug for Block {
    // The body may be a private key: never shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Block")
            .field("label", &self.label)
            .field("bytes", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.bytes);
    }
}

/// The lines of `data`: each without its line end (`\n`, `\r\n`) and trailing spaces/tabs, with the
/// offset just past its line end.
fn lines(data: &[u8]) -> impl Iterator<Item = (&[u8], usize)> {
    let mut at = 0;
    std::iter::from_fn(move || {
        if at >= data.len() {
            return None;
        }
        let rest = &data[at..];
        let (line, next) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..i], at + i + 1),
            None => (rest, data.len()),
        };
        at = next;
        let mut line = line;
        while let [head @ .., b' ' | b'\t' | b'\r'] = line {
            line = head;
        }
        Some((line, next))
    })
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Decodes the first PEM block in `data` with Go's rules (module docs); returns it and the text after
/// its END line, or `None` when there is no complete block. Line by line: a BEGIN line opens a
/// candidate (a later BEGIN replaces it; a `-----BEGIN ` inside a line spoils it); `Key: value` lines
/// right after it are headers (the text ending among them means no block at all); the body runs to the
/// next END line, which must carry the same label and nothing after its dashes; a body that is not
/// base64 drops the candidate and the search goes on.
pub(crate) fn decode(data: &[u8]) -> Option<(Block, &[u8])> {
    struct Open<'d> {
        label: &'d [u8],
        headers: Vec<(String, String)>,
        in_headers: bool,
        body: zeroize::Zeroizing<Vec<u8>>,
    }
    let mut open: Option<Open<'_>> = None;
    for (line, next) in lines(data) {
        if let Some(rest) = line.strip_prefix(BEGIN) {
            open = if contains(rest, BEGIN) {
                None
            } else {
                rest.strip_suffix(DASHES).map(|label| Open {
                    label,
                    headers: Vec::new(),
                    in_headers: true,
                    body: zeroize::Zeroizing::new(Vec::new()),
                })
            };
            continue;
        }
        if contains(line, BEGIN) {
            open = None;
            continue;
        }
        if let Some(rest) = line.strip_prefix(END) {
            let Some(o) = open.take() else { continue };
            if rest.strip_suffix(DASHES) != Some(o.label) {
                continue;
            }
            let body: zeroize::Zeroizing<Vec<u8>> = zeroize::Zeroizing::new(
                o.body
                    .iter()
                    .copied()
                    .filter(|b| !matches!(b, b' ' | b'\t'))
                    .collect(),
            );
            let Ok(bytes) = GO_STD.decode(&body) else {
                continue;
            };
            let block = Block {
                label: String::from_utf8_lossy(o.label).into_owned(),
                headers: o.headers,
                bytes,
            };
            return Some((block, &data[next..]));
        }
        let Some(o) = open.as_mut() else { continue };
        if o.in_headers {
            if let Some(colon) = line.iter().position(|&b| b == b':') {
                o.headers.push((
                    String::from_utf8_lossy(line[..colon].trim_ascii()).into_owned(),
                    String::from_utf8_lossy(line[colon + 1..].trim_ascii()).into_owned(),
                ));
                if next >= data.len() {
                    // Go: text that ends among the headers holds no block.
                    return None;
                }
                continue;
            }
            o.in_headers = false;
        }
        o.body.extend_from_slice(line);
    }
    None
}

/// PEM text as cosign writes it (Go's `pem.EncodeToMemory`): 64-column base64 lines, LF line ends.
pub(crate) fn encode(label: &str, bytes: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        // base64 output is ASCII
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEuPZuzzGn+DMc8jP8AXLUZCRk0HqW3hOKvGPJ/LMhL9ZW8XyuBWgKGcE5o7ZkzVTmNsQ1wuIj5w1xwTrpHqxR1g==";

    fn pem_of(body: &str) -> String {
        format!("-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----\n")
    }

    fn wrapped(width: usize) -> String {
        BODY.as_bytes()
            .chunks(width)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn der() -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .decode(BODY)
            .unwrap()
    }

    #[track_caller]
    fn accepts(text: &str) {
        let (b, _) = decode(text.as_bytes()).unwrap_or_else(|| panic!("refused:\n{text}"));
        assert_eq!(b.label, "PUBLIC KEY");
        assert_eq!(b.bytes, der(), "{text}");
    }

    #[test]
    fn accepts_what_go_accepts() {
        accepts(&pem_of(&wrapped(64)));
        accepts(&pem_of(&wrapped(76))); // A3a
        accepts(&pem_of(&wrapped(40))); // A3b
        accepts(&pem_of(BODY)); // A3c
        accepts(&pem_of(&wrapped(64)).replace('\n', "\r\n")); // A3d
        accepts(pem_of(&wrapped(64)).trim_end()); // A3e
        accepts(&format!("my key:\n{}", pem_of(&wrapped(64)))); // A3f
        accepts(&format!("{}trailing text\n", pem_of(&wrapped(64)))); // A3g
        accepts(&pem_of(&wrapped(64)).repeat(2)); // A3h
        accepts(&format!(
            "-----BEGIN PUBLIC KEY-----\nComment: x\n\n{}\n-----END PUBLIC KEY-----\n",
            wrapped(64)
        )); // A3i
        accepts(&pem_of(&wrapped(64).replacen('\n', "\n\n", 1))); // A3j
        accepts(&pem_of(&wrapped(64).replace('\n', "\n \t"))); // A3k
    }

    #[test]
    fn refuses_what_go_refuses() {
        let refused = [
            pem_of(&wrapped(64))
                .lines()
                .flat_map(|l| ["  ", l, "\n"])
                .collect::<String>(), // A3l
            format!("-----BEGIN PUBLIC KEY-----{BODY}-----END PUBLIC KEY-----"), // A3m
            format!("\u{feff}{}", pem_of(&wrapped(64))),                         // A3n
            pem_of(&wrapped(64).replacen('A', "!", 1)),                          // A3o
            pem_of(&wrapped(64)).replace("END PUBLIC KEY", "END PRIVATE KEY"),   // A3p
            pem_of(BODY.trim_end_matches('=')),                                  // no padding
            pem_of(&wrapped(64)).replace("-----END PUBLIC KEY-----", "-----END PUBLIC KEY----- x"),
            String::new(),
            "just text".into(),
        ];
        for text in refused {
            assert!(decode(text.as_bytes()).is_none(), "accepted:\n{text}");
        }
    }

    #[test]
    fn headers_rest_and_later_blocks() {
        let two = format!(
            "-----BEGIN A-----\nProc-Type: 4,ENCRYPTED\n\nAAAA\n-----END A-----\nnext\n{}",
            pem_of(BODY)
        );
        let (a, rest) = decode(two.as_bytes()).unwrap();
        assert_eq!(a.label, "A");
        assert_eq!(a.headers, vec![("Proc-Type".into(), "4,ENCRYPTED".into())]);
        assert_eq!(a.bytes, vec![0, 0, 0]);
        assert!(rest.starts_with(b"next\n"));
        // A damaged first block is skipped, as Go does.
        let damaged_then_good = format!("{}{}", pem_of("!!!!"), pem_of(BODY));
        accepts(&damaged_then_good);
        // An empty body.
        let (e, _) = decode(b"-----BEGIN X-----\n-----END X-----\n").unwrap();
        assert!(e.bytes.is_empty());
    }

    #[test]
    fn encodes_at_64_columns() {
        let text = encode("PUBLIC KEY", &der());
        assert_eq!(text, pem_of(&wrapped(64)));
        accepts(&text);
    }
}
