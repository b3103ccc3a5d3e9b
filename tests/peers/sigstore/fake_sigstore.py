#!/usr/bin/env python3
"""A test instance of Sigstore on loopback: a GitHub Actions OIDC token endpoint, Fulcio, a CT log and Rekor.

Everything uses real cryptography, and each service checks what the real one checks:

- OIDC (`GET /oidc/token?audience=...`, bearer request token as GitHub's runner service wants it): mints
  RS256 JWTs with the claims GitHub puts in Actions tokens.
- Fulcio (`POST /api/v2/signingCert`): verifies the token's signature (the issuer key), issuer, audience
  `sigstore` and expiry, and the proof of possession (a signature over the `sub` claim, or a CSR); issues a
  10-minute leaf from a test CA (P-384 root -> P-384 intermediate, like the public-good instance) with the
  SAN `https://github.com/{job_workflow_ref}`, the GitHub workflow extensions 1.3.6.1.4.1.57264.1.* and an
  embedded SCT signed by the test CT log key over the precertificate.
- Rekor (`/api/v1/log/...`): accepts `hashedrekord` v0.0.1 entries whose signature verifies over the
  digest (sha256, or sha384/sha512 as cosign writes them for P-384/P-521 keys) with the given key (ECDSA,
  or RSA PKCS#1 v1.5) or certificate, and `dsse` v0.0.1 entries whose envelope signatures verify
  over the DSSE PAE with the given verifiers (stored as Rekor stores them: envelope and payload hashes,
  signatures with their canonical verifier PEM), keeps a real RFC 6962 Merkle tree (seeded with other entries),
  signs SETs and checkpoints with its log key, and answers 409 with a Location header for duplicates.

- With --rekor-v2 (fake_rekor_v2.py): a Rekor v2 log (hashedrekord 0.0.2, Ed25519 checkpoints with a
  witness cosignature) and an RFC 3161 TSA, which the signing config then names instead of Rekor v1.
  With --tsa: the TSA beside Rekor v1.
- POST /__test__/rotate (JSON: rekor_key, tsa, second_log "v1"|"v2", rekor_selector): the instance rotates
  its Rekor key, adds the TSA or a second log, and rewrites the files below (see Instance.rotate).
- GET /__test__/tokens: every identity token minted so far and the request token (leak tests).
- GET /__test__/counts: how many requests each service (fulcio, rekor, oidc, tsa) received, e.g. {"fulcio": 1}.

It writes, into --dir, what verifiers need to trust this instance: trusted_root.json,
signing_config.v0.2.json, trust_config.json (sigstore-python's --trust-config), fulcio_chain.pem
(SIGSTORE_ROOT_FILE), rekor.pub
(SIGSTORE_REKOR_PUBLIC_KEY), ctlog.pub (SIGSTORE_CT_LOG_PUBLIC_KEY_FILE), and prints one line
`READY {json}` on stdout (see README.md). It exits when its stdin closes, so that a test that dies takes
it along.

Faults for tests (repeatable `--fault NAME[=VALUE]`):
  oidc-status=CODE       the token endpoint answers CODE
  fulcio-status=CODE     Fulcio answers CODE to every signingCert request
  fulcio-fail-once=CODE  Fulcio answers CODE to the first request, then works (retry tests)
  fulcio-wrong-key       the leaf certifies another public key than the one requested
  fulcio-foreign-ca      the leaf is issued by a CA that is not in the trusted root
  fulcio-detached-sct    answer with signedCertificateDetachedSct (SCT outside the certificate)
  fulcio-foreign-sct     the embedded SCT is signed by a CT log that is not in the trusted root
  rekor-status=CODE      Rekor answers CODE to every upload
  rekor-fail-once=CODE   Rekor answers CODE to the first upload, then works
  tsa-status=CODE        the TSA answers CODE to every timestamp request
  tsa-fail-once=CODE     the TSA answers CODE to the first timestamp request, then works
  tsa-wrong-nonce        the TSA's (genuine, signed) token carries another nonce than the request's
  tsa-other-imprint      the TSA's (genuine, signed) token dates other data than the request's imprint
  rekor-foreign-key      SETs and checkpoints are signed with a key that is not in the trusted root
  rekor-other-entry      an upload is answered with another entry of the log (a valid one: SET, proof and
                         checkpoint all verify), as a log that replays an old answer would; Rekor v2 too
                         (another signer's hashedrekord 0.0.2 entry, its proof and checkpoint verify)
  rekor-unknown-log      an upload is answered by another log: the entry is ours, its SET, proof and
                         checkpoint verify with that log's key, but neither log ID nor key is in the trusted root
  rekor-bad-checkpoint   the checkpoint is signed by another key; SET and inclusion proof verify
  fulcio-expired         the leaf's validity ended before it was issued (not after: now - 20 min .. now - 10 min)
  fulcio-not-yet-valid   the leaf's validity starts in 10 minutes
  huge-answer=SERVICE    SERVICE (oidc, fulcio or rekor) answers 200 with a JSON body that goes on for 1 GiB,
                         without a length (the connection closes at its end)
  huge-answer-declared=SERVICE  the same, with `Content-Length: 1073741824` declared
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import json
import os
import secrets
import socket
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier
from fake_rekor_v2 import TSA, RekorV2  # this directory

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
REKOR_HASHES = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}
OID_SCT_LIST = ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")
FULCIO = "1.3.6.1.4.1.57264.1."


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def der_utf8(text: str) -> bytes:
    raw = text.encode()
    return b"\x0c" + der_len(len(raw)) + raw


def der_octets(raw: bytes) -> bytes:
    return b"\x04" + der_len(len(raw)) + raw


def der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def spki_der(key) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def spki_pem(key) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def rfc3339(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


# --------------------------------------------------------------------------------------------- the CA


class CA:
    """A root and an intermediate (both P-384, ecdsa-with-SHA384), as the public-good Fulcio has."""

    def __init__(self, label: str):
        start = now() - dt.timedelta(days=1)
        end = now() + dt.timedelta(days=365)
        self.root_key = ec.generate_private_key(ec.SECP384R1())
        root_name = x509.Name([
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"{label}.test"),
            x509.NameAttribute(NameOID.COMMON_NAME, label),
        ])
        self.root = (
            x509.CertificateBuilder()
            .subject_name(root_name).issuer_name(root_name)
            .public_key(self.root_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.root_key.public_key()), critical=False)
            .sign(self.root_key, hashes.SHA384())
        )
        self.key = ec.generate_private_key(ec.SECP384R1())
        self.intermediate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"{label}.test"),
                x509.NameAttribute(NameOID.COMMON_NAME, f"{label}-intermediate"),
            ]))
            .issuer_name(root_name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.root_key.public_key()), critical=False)
            .sign(self.root_key, hashes.SHA384())
        )
        self.start = start


class CTLog:
    """Signs RFC 6962 SCTs over precertificate entries."""

    def __init__(self):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.log_id = hashlib.sha256(spki_der(self.key.public_key())).digest()

    def sct(self, issuer_key, tbs_precert: bytes) -> bytes:
        timestamp = int(time.time() * 1000)
        issuer_key_hash = hashlib.sha256(spki_der(issuer_key)).digest()
        signed = (
            struct.pack("!BBQH", 0, 0, timestamp, 1)  # v1, certificate_timestamp, timestamp, precert_entry
            + issuer_key_hash
            + len(tbs_precert).to_bytes(3, "big") + tbs_precert
            + struct.pack("!H", 0)  # no extensions
        )
        sig = self.key.sign(signed, ec.ECDSA(hashes.SHA256()))
        return (
            struct.pack("!B", 0) + self.log_id + struct.pack("!QH", timestamp, 0)
            + struct.pack("!BBH", 4, 3, len(sig)) + sig  # sha256, ecdsa
        )


def github_extensions(claims: dict, issuer: str) -> list[tuple[str, bytes]]:
    """The Fulcio extensions for a GitHub Actions token: (OID suffix, extnValue), as Fulcio writes them."""
    gh = "https://github.com/"
    raw = lambda k: claims.get(k, "").encode()  # noqa: E731  the deprecated .1-.6 hold raw bytes
    out = [
        ("1", issuer.encode()),
        ("2", raw("event_name")),
        ("3", raw("sha")),
        ("4", raw("workflow")),
        ("5", raw("repository")),
        ("6", raw("ref")),
        ("8", der_utf8(issuer)),
        ("9", der_utf8(gh + claims.get("job_workflow_ref", ""))),
        ("10", der_utf8(claims.get("job_workflow_sha", ""))),
        ("11", der_utf8(claims.get("runner_environment", ""))),
        ("12", der_utf8(gh + claims.get("repository", ""))),
        ("13", der_utf8(claims.get("sha", ""))),
        ("14", der_utf8(claims.get("ref", ""))),
        ("15", der_utf8(claims.get("repository_id", ""))),
        ("16", der_utf8(gh + claims.get("repository_owner", ""))),
        ("17", der_utf8(claims.get("repository_owner_id", ""))),
        ("18", der_utf8(gh + claims.get("workflow_ref", ""))),
        ("19", der_utf8(claims.get("workflow_sha", ""))),
        ("20", der_utf8(claims.get("event_name", ""))),
        ("21", der_utf8(f"{gh}{claims.get('repository', '')}/actions/runs/{claims.get('run_id', '')}/attempts/{claims.get('run_attempt', '')}")),
    ]
    if "repository_visibility" in claims:
        out.append(("22", der_utf8(claims["repository_visibility"])))
    return out


def issue_leaf(ca: CA, ct: CTLog, public_key, claims: dict, issuer: str, embed_sct: bool = True,
               shift: dt.timedelta = dt.timedelta(0)):
    """Returns (leaf certificate, detached SCT bytes or None); `shift` moves its validity window."""
    if "job_workflow_ref" in claims:
        san = x509.UniformResourceIdentifier("https://github.com/" + claims["job_workflow_ref"])
        exts = github_extensions(claims, issuer)
    elif "email" in claims:
        san = x509.RFC822Name(claims["email"])
        exts = [("1", issuer.encode()), ("8", der_utf8(issuer))]
    else:
        san = x509.UniformResourceIdentifier(claims["sub"])
        exts = [("1", issuer.encode()), ("8", der_utf8(issuer))]
    start = now() - dt.timedelta(seconds=1) + shift
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(ca.intermediate.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(start + dt.timedelta(minutes=10))
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False)
        .add_extension(x509.SubjectAlternativeName([san]), critical=True)
    )
    for suffix, value in exts:
        builder = builder.add_extension(x509.UnrecognizedExtension(ObjectIdentifier(FULCIO + suffix), value), critical=False)
    # The precertificate's TBS is the final TBS without the SCT list: sign a throwaway to get it, then add
    # the SCT list as the last extension (verifiers remove it to rebuild the precertificate).
    tbs_precert = builder.sign(ca.key, hashes.SHA384()).tbs_certificate_bytes
    sct = ct.sct(ca.key.public_key(), tbs_precert)
    if not embed_sct:
        return builder.sign(ca.key, hashes.SHA384()), sct
    sct_list = struct.pack("!H", len(sct) + 2) + struct.pack("!H", len(sct)) + sct
    builder = builder.add_extension(x509.UnrecognizedExtension(OID_SCT_LIST, der_octets(sct_list)), critical=False)
    return builder.sign(ca.key, hashes.SHA384()), None


# ------------------------------------------------------------------------------------------ the log


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def largest_power_of_two_below(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


class Tree:
    """RFC 6962 Merkle tree hashes over an append-only list of leaf hashes (`leaves`, shared with the
    log, which appends to it). The hash of a complete subtree (2^k leaves from a multiple of 2^k) never
    changes once its leaves are there, so each is computed once: a root or an inclusion proof costs
    O(log^2 n) hashes instead of n, and a long-running test log (a benchmark adding thousands of
    entries) stays as fast as a new one."""

    def __init__(self, leaves: list[bytes]):
        self.leaves = leaves
        self._complete: dict[tuple[int, int], bytes] = {}

    def hash(self, start: int, n: int) -> bytes:
        """MTH(D[start:start+n])."""
        if n == 0:
            return hashlib.sha256(b"").digest()
        if n == 1:
            return self.leaves[start]
        complete = n & (n - 1) == 0
        if complete and (start, n) in self._complete:
            return self._complete[(start, n)]
        k = largest_power_of_two_below(n)
        h = node_hash(self.hash(start, k), self.hash(start + k, n - k))
        if complete:
            self._complete[(start, n)] = h
        return h

    def root(self) -> bytes:
        return self.hash(0, len(self.leaves))

    def path(self, m: int) -> list[bytes]:
        """RFC 6962 PATH(m, D[n]) for the whole tree, bottom-up, as Rekor returns it."""
        return self._path(m, 0, len(self.leaves))

    def _path(self, m: int, start: int, n: int) -> list[bytes]:
        if n <= 1:
            return []
        k = largest_power_of_two_below(n)
        if m < k:
            return self._path(m, start, k) + [self.hash(start + k, n - k)]
        return self._path(m - k, start + k, n - k) + [self.hash(start, k)]


def canonical(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


class Rekor:
    def __init__(self, seed_entries: int, origin_host: str):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.signing_key = self.key
        self.checkpoint_key = None  # rekor-bad-checkpoint: checkpoints signed by another key
        self.log_id = hashlib.sha256(spki_der(self.key.public_key())).digest()
        self.tree_id = 1_000_000_000_000_000_000 + secrets.randbelow(10**18)
        self.set_origin(origin_host)
        self.lock = threading.Lock()
        # Other people's entries: random leaves, so that indexes and proofs are not trivial.
        self.leaves: list[bytes] = [leaf_hash(secrets.token_bytes(40)) for _ in range(seed_entries)]
        self.tree = Tree(self.leaves)
        self.entries: dict[str, dict] = {}  # leaf hash hex -> {body, integratedTime, logIndex}

    def set_origin(self, host: str) -> None:
        self.host = host
        self.origin = f"{host} - {self.tree_id}"

    def uuid(self, lh: bytes) -> str:
        return f"{self.tree_id & 0xFFFFFFFFFFFFFFFF:016x}" + lh.hex()

    def sign(self, data: bytes) -> bytes:
        return self.signing_key.sign(data, ec.ECDSA(hashes.SHA256()))

    def checkpoint(self, size: int, root: bytes) -> str:
        note = f"{self.origin}\n{size}\n{b64(root)}\nTimestamp: {time.time_ns()}\n"
        key = self.checkpoint_key or self.signing_key
        hint = hashlib.sha256(spki_der(self.signing_key.public_key())).digest()[:4]
        sig = key.sign(note.encode(), ec.ECDSA(hashes.SHA256()))
        return note + "\n" + f"\u2014 {self.host} {b64(hint + sig)}\n"

    def entry_json(self, lh: bytes) -> dict:
        e = self.entries[lh.hex()]
        size = len(self.leaves)
        root = self.tree.root()
        payload = {
            "body": b64(e["body"]),
            "integratedTime": e["integratedTime"],
            "logID": self.log_id.hex(),
            "logIndex": e["logIndex"],
        }
        set_sig = self.sign(canonical(payload))
        return {
            self.uuid(lh): {
                **payload,
                "verification": {
                    "signedEntryTimestamp": b64(set_sig),
                    "inclusionProof": {
                        "logIndex": e["logIndex"],
                        "rootHash": root.hex(),
                        "treeSize": size,
                        "hashes": [h.hex() for h in self.tree.path(e["logIndex"])],
                        "checkpoint": self.checkpoint(size, root),
                    },
                },
            }
        }

    def add(self, proposed: dict) -> tuple[int, dict, str]:
        """Returns (status, response body, location)."""
        kind, version = proposed.get("kind"), proposed.get("apiVersion")
        if (kind, version) == ("hashedrekord", "0.0.1"):
            body, problem = hashedrekord_body(proposed.get("spec"))
        elif (kind, version) == ("dsse", "0.0.1"):
            body, problem = dsse_body(proposed.get("spec"))
        else:
            return 400, err(400, "only hashedrekord 0.0.1 and dsse 0.0.1 entries are accepted by this test log"), ""
        if problem:
            return 400, err(400, problem), ""
        lh = leaf_hash(body)
        with self.lock:
            location = f"/api/v1/log/entries/{self.uuid(lh)}"
            if lh.hex() in self.entries:
                return 409, err(409, f"an equivalent entry already exists in the transparency log with UUID {self.uuid(lh)}"), location
            self.entries[lh.hex()] = {"body": body, "integratedTime": int(time.time()), "logIndex": len(self.leaves)}
            self.leaves.append(lh)
            # Others keep writing: a few more leaves after ours, so our entry is not the last one.
            for _ in range(secrets.randbelow(3)):
                self.leaves.append(leaf_hash(secrets.token_bytes(40)))
            return 201, self.entry_json(lh), location

    def get(self, uuid: str):
        lh_hex = uuid[-64:].lower()
        with self.lock:
            if lh_hex not in self.entries:
                return 404, err(404, "entry not found")
            return 200, self.entry_json(bytes.fromhex(lh_hex))


def load_verifier(pem: bytes):
    """A key or certificate PEM as Rekor's pki/x509 NewPublicKey reads it: (public key, canonical PEM).

    Several concatenated certificates are a chain whose first one holds the key. The canonical value is
    what Rekor stores: the PEM re-encoded from the parsed key or certificate(s)."""
    text = pem.strip()
    if text.count(b"-----BEGIN") > 1:
        certs = x509.load_pem_x509_certificates(text)
        if len(certs) > 10:
            raise ValueError("more than 10 certificates in the chain")
        return certs[0].public_key(), b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)
    if text.startswith(b"-----BEGIN CERTIFICATE-----"):
        cert = x509.load_pem_x509_certificate(text)
        return cert.public_key(), cert.public_bytes(serialization.Encoding.PEM)
    if text.startswith(b"-----BEGIN PUBLIC KEY-----"):
        key = serialization.load_pem_public_key(text)
        return key, spki_pem(key).encode()
    raise ValueError("invalid public key: failure decoding PEM")


def verify_raw(key, sig: bytes, message: bytes) -> None:
    """Verifies as sigstore's signature.LoadVerifier(key, SHA256) does; raises InvalidSignature."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(sig, message, ec.ECDSA(hashes.SHA256()))
    elif isinstance(key, ed25519.Ed25519PublicKey):
        key.verify(sig, message)
    elif isinstance(key, rsa.RSAPublicKey):
        key.verify(sig, message, padding.PKCS1v15(), hashes.SHA256())
    else:
        raise ValueError("unsupported key type")


def b64_either(text: str) -> bytes:
    """DSSE fields are standard base64; go-securesystemslib also takes URL-safe base64."""
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding."""
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def hashedrekord_body(spec) -> tuple[bytes, str]:
    """The canonical body Rekor stores for a proposed hashedrekord v0.0.1 entry, or a reason to refuse it."""
    try:
        h = spec["data"]["hash"]
        # sha384/sha512 are what cosign writes for P-384/P-521 keys
        if h["algorithm"] not in REKOR_HASHES or len(bytes.fromhex(h["value"])) != REKOR_HASHES[h["algorithm"]].digest_size:
            return b"", "unsupported hash"
        hash_alg = REKOR_HASHES[h["algorithm"]]
        sig = base64.b64decode(spec["signature"]["content"], validate=True)
        key_pem = base64.b64decode(spec["signature"]["publicKey"]["content"], validate=True)
    except (KeyError, TypeError, ValueError) as e:
        return b"", f"invalid hashedrekord entry: {e!r}"
    try:
        if b"CERTIFICATE" in key_pem:
            pub = x509.load_pem_x509_certificate(key_pem).public_key()
        else:
            pub = serialization.load_pem_public_key(key_pem)
        if isinstance(pub, rsa.RSAPublicKey):  # cosign's RSA keys sign PKCS#1 v1.5
            pub.verify(sig, bytes.fromhex(h["value"]), padding.PKCS1v15(), Prehashed(hash_alg))
        elif isinstance(pub, ec.EllipticCurvePublicKey):
            pub.verify(sig, bytes.fromhex(h["value"]), ec.ECDSA(Prehashed(hash_alg)))
        else:
            return b"", "unsupported public key type"
    except InvalidSignature:
        return b"", "verifying signature: invalid signature when validating ASN.1 encoded signature"
    except Exception as e:  # noqa: BLE001  any unreadable key is the client's fault
        return b"", f"invalid public key: {e}"
    return canonical({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": h["algorithm"], "value": h["value"].lower()}},
            "signature": {"content": spec["signature"]["content"],
                          "publicKey": {"content": spec["signature"]["publicKey"]["content"]}},
        },
    }), ""


def dsse_body(spec) -> tuple[bytes, str]:
    """The canonical body Rekor stores for a proposed dsse v0.0.1 entry, or a reason to refuse it.

    As rekor's pkg/types/dsse/v0.0.1 (V001Entry.Unmarshal, verifyEnvelope, Canonicalize): the spec holds
    only `proposedContent` (`envelope`: the DSSE envelope as a JSON string; `verifiers`: base64 PEM keys
    or certificates, at least one); every envelope signature must verify over the DSSE PAE with one of
    the verifiers. The stored body keeps no envelope: `envelopeHash` (SHA-256 of the envelope string as
    sent), `payloadHash` (SHA-256 of the decoded payload) and `signatures` sorted by their base64 text,
    each with the canonical PEM of the key that verified it, base64-encoded."""
    if not isinstance(spec, dict):
        return b"", "invalid dsse entry: spec must be an object"
    # Rekor decodes null or empty server-side fields as absent (DecodeEntry), and refuses them when set.
    if (isinstance(spec.get("envelopeHash"), dict) or isinstance(spec.get("payloadHash"), dict)
            or (isinstance(spec.get("signatures"), list) and spec["signatures"])):
        return b"", ("either proposedContent or envelopeHash, payloadHash, and signatures must be present "
                     "but not both")
    pc = spec.get("proposedContent")
    if not isinstance(pc, dict) or not isinstance(pc.get("envelope"), str) or not pc["envelope"]:
        return b"", "missing proposed DSSE envelope"
    verifiers = pc.get("verifiers")
    if not isinstance(verifiers, list) or not verifiers:
        return b"", "missing proposed verifiers"
    try:
        env = json.loads(pc["envelope"])
        payload_type = env.get("payloadType", "")
        payload = b64_either(env.get("payload", ""))
        sigs = env.get("signatures") or []
        if not isinstance(payload_type, str) or not isinstance(sigs, list):
            raise ValueError("malformed envelope")
        if not sigs:
            return b"", "DSSE envelope must contain 1 or more signatures"
        sig_texts = [s["sig"] for s in sigs]
        if not all(isinstance(t, str) for t in sig_texts):
            raise ValueError("signature is not a string")
        keys = [load_verifier(base64.b64decode(v, validate=True)) for v in verifiers]
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        return b"", f"invalid dsse entry: {e}"
    message = pae(payload_type, payload)
    pending = set(sig_texts)
    verifier_of: dict[str, bytes] = {}
    for key, canonical_pem in keys:
        if not pending:
            break  # as Rekor: once every signature is verified, later verifiers are not tried
        accepted = []
        for text in sig_texts:
            try:
                verify_raw(key, b64_either(text), message)
                accepted.append(text)
            except (InvalidSignature, ValueError):
                continue
        if not accepted:
            return b"", "could not verify envelope: accepted signatures do not match threshold, Found: 0, Expected 1"
        for text in accepted:
            pending.discard(text)
            verifier_of[text] = canonical_pem
    if pending:
        return b"", "all signatures must have a key that verifies it"
    return canonical({
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "envelopeHash": {"algorithm": "sha256", "value": hashlib.sha256(pc["envelope"].encode()).hexdigest()},
            "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()},
            "signatures": [{"signature": t, "verifier": b64(verifier_of[t])} for t in sorted(verifier_of)],
        },
    }), ""


def err(code: int, message: str) -> dict:
    return {"code": code, "message": message}


# ------------------------------------------------------------------------------------------ the server


class Instance:
    def __init__(self, args):
        self.args = args
        self.faults: dict[str, str] = {}
        for f in args.fault:
            name, _, value = f.partition("=")
            self.faults[name] = value
        self.issuer = args.issuer
        self.oidc_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.oidc_kid = secrets.token_hex(8)
        self.request_token = secrets.token_urlsafe(24)
        self.ca = CA("sigstore-test")
        self.foreign_ca = CA("foreign") if "fulcio-foreign-ca" in self.faults else None
        self.ct = CTLog()
        self.rekor = Rekor(args.seed_entries, "rekor.test")
        self.rekor_start = self.ca.start
        # Rekor v1 logs whose key was rotated away (POST /__test__/rotate): (log, valid from, valid until).
        self.retired_rekors: list[tuple[Rekor, dt.datetime, dt.datetime]] = []
        # A second Rekor v1 log under /log2 (another operator), added by POST /__test__/rotate.
        self.rekor2: Rekor | None = None
        # --rekor-v2: clients are sent to a Rekor v2 log and a TSA (fake_rekor_v2.py) instead of Rekor v1.
        self.rekor_v2 = RekorV2(args.seed_entries) if args.rekor_v2 else None
        self.rekor_v2_signing = bool(args.rekor_v2)  # the signing config names the v2 log
        self.rekor_v1_signing = not args.rekor_v2  # the signing config names the v1 log
        self.rekor_selector = "ANY"
        # --tsa (or --rekor-v2): an RFC 3161 TSA, named in the trusted root and the signing config.
        self.tsa = TSA() if (args.rekor_v2 or args.tsa) else None
        self.base_url = ""
        self.origin_host = "rekor.test"
        if "rekor-foreign-key" in self.faults:
            self.rekor.signing_key = ec.generate_private_key(ec.SECP256R1())
        if "rekor-bad-checkpoint" in self.faults:
            self.rekor.checkpoint_key = ec.generate_private_key(ec.SECP256R1())
        # rekor-unknown-log: a log of its own (own key and log ID) that the trusted root does not list
        self.unknown_log = Rekor(args.seed_entries, "rekor.test") if "rekor-unknown-log" in self.faults else None
        # rekor-other-entry: a genuine entry of someone else's, the answer to every upload
        # Made at the first upload, not here: logged before the signer's certificate existed, its
        # integratedTime could fall before the certificate's notBefore on a slow machine, and signing
        # would then be refused for that instead of for the entry being another's.
        self.decoy: bytes | None = None
        self.decoy_v2: dict | None = None  # the same for the Rekor v2 log: its answer for that entry
        self.claims = default_claims()
        for c in args.claim:
            k, _, v = c.partition("=")
            self.claims[k] = v
        self.counts: dict[str, int] = {}
        self.lock = threading.Lock()
        # Every token minted (GET /__test__/tokens): leak tests learn the secrets from here, never from
        # the client's own output.
        self.minted: list[str] = []

    def make_decoy(self) -> bytes:
        """Logs a hashedrekord entry of another signer over another digest; returns its leaf hash."""
        key = ec.generate_private_key(ec.SECP256R1())
        digest = hashlib.sha256(secrets.token_bytes(32)).digest()
        sig = key.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256())))
        entry = {"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": digest.hex()}},
            "signature": {"content": b64(sig), "publicKey": {"content": b64(spki_pem(key.public_key()).encode())}},
        }}
        status, obj, _ = self.rekor.add(entry)
        assert status == 201, obj
        return bytes.fromhex(next(iter(obj))[-64:])

    def rekor_for(self, path: str) -> tuple[Rekor | None, str]:
        """The Rekor v1 log a request path is for, and the path below its base URL."""
        if path.startswith("/log2/"):
            return self.rekor2, path[len("/log2"):]
        return self.rekor, path

    def find_entry(self, log: Rekor, uuid: str):
        """GET an entry: from `log`, or for the main URL also from the logs retired by a key rotation."""
        status, obj = log.get(uuid)
        if status == 404 and log is self.rekor:
            for old, _, _ in self.retired_rekors:
                found = old.get(uuid)
                if found[0] == 200:
                    return found
        return status, obj

    def rotate(self, req: dict) -> dict:
        """POST /__test__/rotate: change the instance the way Sigstore changes, then rewrite the files in --dir.

        `{"rekor_key": true}` replaces the Rekor v1 log at the base URL with one under a new key (a new log ID
        and tree, as a new shard); the trusted root keeps the old key with `validFor.end` = now and lists the
        new one from now. `{"tsa": true}` adds the RFC 3161 TSA (trusted root and signing config).
        `{"second_log": "v1"}` adds another Rekor v1 log at <base>/log2 (operator `log2.test`);
        `{"second_log": "v2"}` adds the Rekor v2 log at the base URL (and the TSA it needs), named in the
        signing config as API version 2 beside the v1 log. `{"rekor_selector": "ALL"}` sets the signing
        config's rekorTlogConfig selector (ANY by default).
        """
        with self.lock:
            t = now().replace(microsecond=0)
            if req.get("rekor_key"):
                self.retired_rekors.append((self.rekor, self.rekor_start, t))
                new = Rekor(self.args.seed_entries, self.origin_host)
                new.set_origin(self.origin_host)
                self.rekor, self.rekor_start = new, t
            if req.get("tsa") and not self.tsa:
                self.tsa = TSA()
            second = req.get("second_log")
            if second == "v1" and not self.rekor2:
                self.rekor2 = Rekor(self.args.seed_entries, self.origin_host)
                self.rekor2.set_origin(self.origin_host)
                self.rekor2_start = t
            elif second == "v2":
                if not self.rekor_v2:
                    self.rekor_v2 = RekorV2(self.args.seed_entries)
                    self.rekor_v2.set_origin("127.0.0.1")
                self.rekor_v2_signing = True
                if not self.tsa:
                    self.tsa = TSA()
            elif second not in (None, "v1"):
                raise ValueError(f"second_log must be v1 or v2, not {second!r}")
            if req.get("rekor_selector"):
                if req["rekor_selector"] not in ("ANY", "ALL", "EXACT"):
                    raise ValueError("rekor_selector must be ANY, ALL or EXACT")
                self.rekor_selector = req["rekor_selector"]
        return self.write_outputs(self.args.dir, self.base_url)

    def fault_status(self, service: str) -> int | None:
        """The status to fail with for this request, if a fault says so."""
        with self.lock:
            n = self.counts[service] = self.counts.get(service, 0) + 1
        if f"{service}-status" in self.faults:
            return int(self.faults[f"{service}-status"])
        if f"{service}-fail-once" in self.faults and n == 1:
            return int(self.faults[f"{service}-fail-once"])
        return None

    def mint(self, audience="sigstore", ttl=300, **extra) -> str:
        t = int(time.time())
        claims = {**self.claims, **extra, "iss": self.issuer, "aud": audience, "iat": t, "nbf": t - 5,
                  "exp": t + ttl, "jti": secrets.token_hex(16)}
        token = jwt.encode(claims, self.oidc_key, algorithm="RS256", headers={"kid": self.oidc_kid})
        with self.lock:
            self.minted.append(token)
        return token

    # Fulcio
    def signing_cert(self, req: dict, auth_header: str) -> tuple[int, dict]:
        status = self.fault_status("fulcio")
        if status:
            return status, {"code": 13 if status >= 500 else 3, "message": f"test fault: fulcio answers {status}"}
        token = (req.get("credentials") or {}).get("oidcIdentityToken") or ""
        if not token and auth_header.lower().startswith("bearer "):
            token = auth_header[7:]
        try:
            claims = jwt.decode(token, self.oidc_key.public_key(), algorithms=["RS256"], audience="sigstore",
                                issuer=self.issuer, options={"require": ["exp", "iat", "sub", "aud", "iss"]})
        except jwt.PyJWTError as e:
            return 401, {"code": 16, "message": f"There was an error processing the identity token: {e}"}
        pkr = req.get("publicKeyRequest")
        csr_b64 = req.get("certificateSigningRequest")
        try:
            if pkr:
                public_key = serialization.load_pem_public_key(pkr["publicKey"]["content"].encode())
                proof = base64.b64decode(pkr["proofOfPossession"], validate=True)
                public_key.verify(proof, claims["sub"].encode(), ec.ECDSA(hashes.SHA256()))
            elif csr_b64:
                csr = x509.load_pem_x509_csr(base64.b64decode(csr_b64))
                if not csr.is_signature_valid:
                    raise InvalidSignature()
                public_key = csr.public_key()
            else:
                return 400, {"code": 3, "message": "publicKeyRequest or certificateSigningRequest is required"}
        except InvalidSignature:
            return 400, {"code": 3, "message": "The signature supplied in the request could not be verified"}
        except (KeyError, ValueError, TypeError) as e:
            return 400, {"code": 3, "message": f"The public key supplied in the request could not be parsed: {e}"}
        if not isinstance(public_key, ec.EllipticCurvePublicKey):
            return 400, {"code": 3, "message": "unsupported key type"}
        if "fulcio-wrong-key" in self.faults:
            public_key = ec.generate_private_key(ec.SECP256R1()).public_key()
        ca = self.foreign_ca or self.ca
        detached = "fulcio-detached-sct" in self.faults
        shift = dt.timedelta(0)
        if "fulcio-expired" in self.faults:
            shift = dt.timedelta(minutes=-20)
        elif "fulcio-not-yet-valid" in self.faults:
            shift = dt.timedelta(minutes=10)
        ct = CTLog() if "fulcio-foreign-sct" in self.faults else self.ct
        leaf, sct = issue_leaf(ca, ct, public_key, claims, self.issuer, embed_sct=not detached, shift=shift)
        chain = {"certificates": [cert_pem(leaf), cert_pem(ca.intermediate), cert_pem(ca.root)]}
        # Fulcio's v2 REST API (grpc-gateway) answers 200; sigstore-go (cosign v3) refuses anything else.
        if detached:
            return 200, {"signedCertificateDetachedSct": {"chain": chain, "signedCertificateTimestamp": b64(sct)}}
        return 200, {"signedCertificateEmbeddedSct": {"chain": chain}}

    def signing_cert_v1(self, req: dict, auth_header: str) -> tuple[int, object, dict]:
        """Fulcio's legacy v1 API (cosign v2): the same checks, answered as a PEM chain (201) and an SCT header."""
        v2 = {}
        pk = (req or {}).get("publicKey") or {}
        try:
            if pk.get("content"):
                raw = base64.b64decode(pk["content"], validate=True)
                key = (serialization.load_pem_public_key(raw) if raw.lstrip().startswith(b"-----BEGIN")
                       else serialization.load_der_public_key(raw))
                pem = key.public_bytes(serialization.Encoding.PEM,
                                       serialization.PublicFormat.SubjectPublicKeyInfo).decode()
                v2["publicKeyRequest"] = {"publicKey": {"algorithm": "ECDSA", "content": pem},
                                          "proofOfPossession": req.get("signedEmailAddress") or ""}
            elif req.get("certificateSigningRequest"):
                v2["certificateSigningRequest"] = req["certificateSigningRequest"]
        except (ValueError, TypeError) as e:
            return 400, {"code": 400, "message": f"invalid public key: {e}"}, {}
        status, obj = self.signing_cert(v2, auth_header)
        if status != 200:
            return status, obj, {}
        if "signedCertificateDetachedSct" in obj:
            d = obj["signedCertificateDetachedSct"]
            return 201, "".join(d["chain"]["certificates"]), {"SCT": d["signedCertificateTimestamp"]}
        return 201, "".join(obj["signedCertificateEmbeddedSct"]["chain"]["certificates"]), {}

    # Outputs
    def trusted_root(self, base_url: str) -> dict:
        start = rfc3339(self.ca.start)

        def tlog(log: Rekor, url: str, valid_for: dict) -> dict:
            return {
                "baseUrl": url,
                "hashAlgorithm": "SHA2_256",
                "publicKey": {"rawBytes": b64(spki_der(log.key.public_key())),
                              "keyDetails": "PKIX_ECDSA_P256_SHA_256", "validFor": valid_for},
                "logId": {"keyId": b64(log.log_id)},
            }

        tlogs = [tlog(old, base_url, {"start": rfc3339(s), "end": rfc3339(e)}) for old, s, e in self.retired_rekors]
        tlogs.append(tlog(self.rekor, base_url, {"start": rfc3339(self.rekor_start)}))
        if self.rekor2:
            tlogs.append(tlog(self.rekor2, base_url + "/log2", {"start": rfc3339(self.rekor2_start)}))
        root = {
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": tlogs,
            "certificateAuthorities": [{
                "subject": {"organization": "sigstore-test.test", "commonName": "sigstore-test"},
                "uri": base_url,
                "certChain": {"certificates": [
                    {"rawBytes": b64(self.ca.intermediate.public_bytes(serialization.Encoding.DER))},
                    {"rawBytes": b64(self.ca.root.public_bytes(serialization.Encoding.DER))},
                ]},
                "validFor": {"start": start},
            }],
            "ctlogs": [{
                "baseUrl": base_url + "/ct",
                "hashAlgorithm": "SHA2_256",
                "publicKey": {"rawBytes": b64(spki_der(self.ct.key.public_key())),
                              "keyDetails": "PKIX_ECDSA_P256_SHA_256", "validFor": {"start": start}},
                "logId": {"keyId": b64(self.ct.log_id)},
            }],
            "timestampAuthorities": [],
        }
        if self.rekor_v2:
            # the Rekor v2 log beside the v1 log(s)
            root["tlogs"].append(self.rekor_v2.trusted_root_entry(base_url, start))
        if self.tsa:
            # the TSA that dates v2 entries (and, with --tsa, signatures logged to Rekor v1)
            root["timestampAuthorities"] = [
                self.tsa.trusted_root_entry(base_url + "/api/v1/timestamp", rfc3339(self.tsa.start))]
        return root

    def signing_config(self, base_url: str) -> dict:
        """Sigstore's signing config v0.2 (protobuf-specs `SigningConfig`): the service URLs clients use."""
        start = rfc3339(self.ca.start)
        svc = lambda url, v=1, op="test": {"url": url, "majorApiVersion": v, "validFor": {"start": start}, "operator": op}  # noqa: E731
        tlogs = []
        if self.rekor_v2_signing:
            tlogs.append(svc(base_url, 2))
        if self.rekor_v1_signing:
            tlogs.append(svc(base_url, 1))
        if self.rekor2:
            tlogs.append(svc(base_url + "/log2", 1, "log2.test"))
        return {
            "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
            "caUrls": [svc(base_url)],
            "oidcUrls": [svc(base_url + "/oidc")],
            "rekorTlogUrls": tlogs,
            "tsaUrls": [svc(base_url + "/api/v1/timestamp")] if self.tsa else [],
            "rekorTlogConfig": {"selector": self.rekor_selector},
            "tsaConfig": {"selector": "ANY"},
        }


    def write_outputs(self, directory: str, base_url: str) -> dict:
        os.makedirs(directory, exist_ok=True)
        tr = self.trusted_root(base_url)
        sc = self.signing_config(base_url)
        trust_config = {
            "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
            "trustedRoot": tr,
            "signingConfig": sc,
        }
        files = {
            "trusted_root.json": json.dumps(tr, indent=2),
            "signing_config.v0.2.json": json.dumps(sc, indent=2),
            "trust_config.json": json.dumps(trust_config, indent=2),
            "fulcio_chain.pem": cert_pem(self.ca.intermediate) + cert_pem(self.ca.root),
            "rekor.pub": spki_pem(self.rekor.key.public_key()),
            "ctlog.pub": spki_pem(self.ct.key.public_key()),
        }
        for name, text in files.items():  # atomically: a TUF repository may be reading them
            tmp = os.path.join(directory, f".{name}.tmp")
            with open(tmp, "w") as f:
                f.write(text)
            os.replace(tmp, os.path.join(directory, name))
        ready = {
            "url": base_url,
            "fulcio_url": base_url,
            "rekor_url": base_url,
            "issuer": self.issuer,
            "identity": "https://github.com/" + self.claims["job_workflow_ref"],
            "actions_id_token_request_url": base_url + "/oidc/token?api-version=2.0",
            "actions_id_token_request_token": self.request_token,
            "token": self.mint(),
            "token_expired": self.mint(ttl=-120),
            "token_wrong_audience": self.mint(audience="not-sigstore"),
            "trusted_root": os.path.join(directory, "trusted_root.json"),
            "trust_config": os.path.join(directory, "trust_config.json"),
            "signing_config": os.path.join(directory, "signing_config.v0.2.json"),
            "fulcio_chain": os.path.join(directory, "fulcio_chain.pem"),
            "rekor_pub": os.path.join(directory, "rekor.pub"),
            "ctlog_pub": os.path.join(directory, "ctlog.pub"),
            "rekor_log_id": self.rekor.log_id.hex(),
        }
        if self.tsa:
            ready["tsa_url"] = base_url + "/api/v1/timestamp"
        tmp = os.path.join(directory, ".ready.json.tmp")
        with open(tmp, "w") as f:
            json.dump(ready, f, indent=2)
        os.replace(tmp, os.path.join(directory, "ready.json"))
        return ready


def default_claims() -> dict:
    sha = secrets.token_hex(20)
    return {
        "sub": "repo:acme/app:ref:refs/heads/main",
        "ref": "refs/heads/main",
        "sha": sha,
        "repository": "acme/app",
        "repository_owner": "acme",
        "repository_owner_id": "1000",
        "repository_id": "2000",
        "repository_visibility": "public",
        "run_id": "3000",
        "run_number": "7",
        "run_attempt": "1",
        "runner_environment": "github-hosted",
        "actor": "octocat",
        "actor_id": "4000",
        "workflow": "release",
        "head_ref": "",
        "base_ref": "",
        "event_name": "push",
        "ref_type": "branch",
        "ref_protected": "true",
        "job_workflow_ref": "acme/app/.github/workflows/release.yml@refs/heads/main",
        "job_workflow_sha": sha,
        "workflow_ref": "acme/app/.github/workflows/release.yml@refs/heads/main",
        "workflow_sha": sha,
    }


def make_handler(inst: Instance):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):  # quiet unless asked
            if inst.args.verbose:
                sys.stderr.write("fake-sigstore: " + (fmt % a) + "\n")

        def reply(self, status: int, obj, content_type="application/json", headers=None):
            data = obj.encode() if isinstance(obj, str) else json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def huge(self, service: str) -> bool:
            """huge-answer faults: answers 200 with 1 GiB of JSON (or until the client hangs up)."""
            declared = inst.faults.get("huge-answer-declared") == service
            if inst.faults.get("huge-answer") != service and not declared:
                return False
            with inst.lock:
                inst.counts[service] = inst.counts.get(service, 0) + 1
            total = 1 << 30
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if declared:
                self.send_header("Content-Length", str(total))
            else:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            chunk = b"a" * 65536
            try:
                self.wfile.write(b'{"value":"' + chunk[10:])
                for _ in range(total // len(chunk) - 1):
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True
            return True

        def body(self):
            n = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(n) if n else b""
            try:
                return json.loads(raw or b"null")
            except ValueError:
                return None

        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            q = urllib.parse.parse_qs(url.query)
            if url.path == "/oidc/token":
                if self.huge("oidc"):
                    return None
                status = inst.fault_status("oidc")
                if status:
                    return self.reply(status, {"message": f"test fault: token endpoint answers {status}"})
                auth = self.headers.get("Authorization", "")
                scheme, _, given = auth.partition(" ")
                if scheme.lower() != "bearer" or given != inst.request_token:
                    return self.reply(401, {"message": "Unauthorized"})
                aud = q.get("audience", [None])[0]
                token = inst.mint(audience=aud) if aud else inst.mint(audience="https://github.com/acme")
                return self.reply(200, {"count": 2000, "value": token})
            if url.path == "/__test__/tokens":
                with inst.lock:
                    return self.reply(200, {"tokens": list(inst.minted), "request_token": inst.request_token})
            if url.path == "/__test__/counts":
                with inst.lock:
                    return self.reply(200, dict(inst.counts))
            if url.path == "/api/v2/trustBundle":
                return self.reply(200, {"chains": [{"certificates": [cert_pem(inst.ca.intermediate), cert_pem(inst.ca.root)]}]})
            rekor, path = inst.rekor_for(url.path)
            if rekor and path == "/api/v1/log":
                with rekor.lock:
                    size, root = len(rekor.leaves), rekor.tree.root()
                    return self.reply(200, {"rootHash": root.hex(), "treeSize": size,
                                            "signedTreeHead": rekor.checkpoint(size, root),
                                            "treeID": str(rekor.tree_id)})
            if rekor and path == "/api/v1/log/publicKey":
                return self.reply(200, spki_pem(rekor.key.public_key()), "application/x-pem-file")
            if rekor and path.startswith("/api/v1/log/entries/"):
                status, obj = inst.find_entry(rekor, path.rsplit("/", 1)[1])
                return self.reply(status, obj)
            return self.reply(404, {"code": 404, "message": "not found"})

        def do_POST(self):
            url = urllib.parse.urlsplit(self.path)
            if url.path == "/api/v1/timestamp" and inst.tsa:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = inst.fault_status("tsa")
                if status:
                    return self.reply(status, err(status, f"test fault: the TSA answers {status}"))
                try:
                    fault = next((f for f in ("wrong-nonce", "other-imprint") if f"tsa-{f}" in inst.faults), None)
                    resp = inst.tsa.respond(raw, fault)
                except (ValueError, IndexError) as e:
                    return self.reply(400, {"code": 400, "message": f"invalid timestamp request: {e}"})
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(resp)))
                self.end_headers()
                self.wfile.write(resp)
                return None
            req = self.body()
            if url.path == "/__test__/rotate":
                try:
                    return self.reply(200, inst.rotate(req if isinstance(req, dict) else {}))
                except ValueError as e:
                    return self.reply(400, {"code": 400, "message": str(e)})
            if url.path == "/api/v2/log/entries" and inst.rekor_v2:
                if not isinstance(req, dict):
                    return self.reply(400, {"code": 3, "message": "invalid JSON"})
                status = inst.fault_status("rekor")
                if status:
                    return self.reply(status, {"code": status, "message": f"test fault: rekor answers {status}"})
                status, obj = inst.rekor_v2.add(req)
                if "rekor-other-entry" in inst.faults and status == 201:
                    if inst.decoy_v2 is None:
                        inst.decoy_v2 = inst.rekor_v2.make_decoy()
                    obj = inst.decoy_v2  # a genuine answer, for someone else's entry
                return self.reply(status, obj)
            if url.path == "/api/v2/signingCert":
                if self.huge("fulcio"):
                    return None
                if not isinstance(req, dict):
                    return self.reply(400, {"code": 3, "message": "invalid JSON"})
                status, obj = inst.signing_cert(req, self.headers.get("Authorization", ""))
                return self.reply(status, obj)
            if url.path == "/api/v1/signingCert":
                status, obj, headers = inst.signing_cert_v1(req if isinstance(req, dict) else {},
                                                            self.headers.get("Authorization", ""))
                return self.reply(status, obj, "application/pem-certificate-chain" if status == 201
                                  else "application/json", headers)
            rekor, path = inst.rekor_for(url.path)
            if rekor and path == "/api/v1/log/entries":
                if self.huge("rekor"):
                    return None
                status = inst.fault_status("rekor")
                if status:
                    return self.reply(status, err(status, f"test fault: rekor answers {status}"))
                if not isinstance(req, dict):
                    return self.reply(400, err(400, "invalid JSON"))
                if inst.unknown_log and rekor is inst.rekor:
                    rekor = inst.unknown_log  # the answer comes from a log nobody trusts
                status, obj, location = rekor.add(req)
                if "rekor-other-entry" in inst.faults and status == 201:
                    if inst.decoy is None:
                        inst.decoy = inst.make_decoy()
                    obj = rekor.entry_json(inst.decoy)  # a valid answer, for someone else's entry
                if location and rekor is inst.rekor2:
                    location = "/log2" + location
                # Rekor names the new entry in Location and ETag; sigstore-go (cosign v3) reads the ETag.
                headers = {"Location": location, "ETag": location.rsplit("/", 1)[1]} if location else None
                return self.reply(status, obj, headers=headers)
            return self.reply(404, {"code": 404, "message": "not found"})

    return Handler



class Server(ThreadingHTTPServer):
    """socketserver listens with a backlog of 5: a client opening tens of connections at once (a batch
    signing many images concurrently, each with its own Rekor entries) overflows it, and the kernel drops
    handshakes that clients retry only after a second. Real Rekor (Go) listens with the system's limit;
    so does this test instance."""

    request_queue_size = socket.SOMAXCONN
    daemon_threads = True

def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dir", required=True, help="where to write trusted_root.json and the PEM files")
    p.add_argument("--port", type=int, default=0, help="loopback port (0: a free one)")
    p.add_argument("--issuer", default=GITHUB_ISSUER, help="the token issuer (iss) Fulcio accepts")
    p.add_argument("--claim", action="append", default=[], help="KEY=VALUE: set a token claim")
    p.add_argument("--fault", action="append", default=[], help="inject a fault (see the module doc)")
    p.add_argument("--seed-entries", type=int, default=None, help="other entries already in the log")
    p.add_argument("--verbose", action="store_true", help="log requests to stderr")
    p.add_argument("--no-stdin-watch", action="store_true", help="keep running when stdin closes")
    p.add_argument("--rekor-v2", action="store_true",
                   help="send clients to a Rekor v2 log (Ed25519 checkpoints) and an RFC 3161 TSA")
    p.add_argument("--tsa", action="store_true",
                   help="an RFC 3161 TSA beside Rekor v1 (in the trusted root and the signing config)")
    args = p.parse_args()
    if args.seed_entries is None:
        args.seed_entries = 5 + secrets.randbelow(40)
    inst = Instance(args)
    server = Server(("127.0.0.1", args.port), make_handler(inst))
    server.daemon_threads = True
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    # The checkpoint signer's name must be part of the log's base URL (sigstore-js matches them).
    inst.origin_host = f"127.0.0.1:{server.server_address[1]}"
    inst.rekor.set_origin(inst.origin_host)
    if inst.unknown_log:
        inst.unknown_log.set_origin(inst.origin_host)
    inst.base_url = base_url
    if inst.rekor_v2:
        # sigstore-go names a v2 log's checkpoint signer by the host of its base URL, without the port
        inst.rekor_v2.set_origin("127.0.0.1")
    ready = inst.write_outputs(args.dir, base_url)
    sys.stdout.write("READY " + json.dumps(ready) + "\n")
    sys.stdout.flush()
    if not args.no_stdin_watch:
        def watch():
            while sys.stdin.buffer.read(4096):
                pass
            os._exit(0)
        threading.Thread(target=watch, daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
