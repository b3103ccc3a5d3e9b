"""Rekor v2 and an RFC 3161 timestamp authority for the test Sigstore instance (fake_sigstore.py --rekor-v2).

- Rekor v2 (`POST /api/v2/log/entries`, rekor-tiles' API): accepts `hashedRekordRequestV002` whose signature
  verifies over the digest with the given certificate or key (for a DSSE envelope, cosign v3 and ferrosign
  send the SHA-256 of its PAE and its signature: Rekor v2 takes no `dsseRequestV002`, which it refuses
  with rekor-tiles' "invalid type, must be hashedrekord" since rekor-tiles dropped DSSE), appends a `hashedrekord` 0.0.2 entry to a
  real RFC 6962 tree (seeded with other leaves) and answers the TransparencyLogEntry: inclusion proof and a
  checkpoint (C2SP signed note) signed by the log's Ed25519 key, with a witness cosignature
  (cosignature/v1) from another key, as the public-good log2025-1 shard does. No SET, no integrated time:
  v2 entries get their time from a TSA.
- TSA (`POST /api/v1/timestamp`): answers a DER TimeStampReq with a TimeStampResp (CMS SignedData over a
  TSTInfo echoing the message imprint and nonce, signed attributes with the ESS signing-certificate-v2,
  signed by a P-256 TSA leaf with the critical timeStamping EKU under a test root).

Only the Python standard library and `cryptography` (the DER is written by hand below).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import secrets
import struct
import threading
import time

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _mth(leaves: list[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return _node(_mth(leaves[:k]), _mth(leaves[k:]))


def _path(m: int, leaves: list[bytes]) -> list[bytes]:
    if len(leaves) <= 1:
        return []
    k = _split(len(leaves))
    if m < k:
        return _path(m, leaves[:k]) + [_mth(leaves[k:])]
    return _path(m - k, leaves[k:]) + [_mth(leaves[:k])]


# ------------------------------------------------------------------------------------------ Rekor v2


class RekorV2:
    def __init__(self, seed_entries: int):
        self.key = ed25519.Ed25519PrivateKey.generate()
        self.raw = self.key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.witness = ed25519.Ed25519PrivateKey.generate()
        self.lock = threading.Lock()
        self.leaves: list[bytes] = [_leaf_hash(secrets.token_bytes(40)) for _ in range(seed_entries)]
        self.bodies: dict[str, int] = {}
        self.set_origin("rekor-v2.test")

    def set_origin(self, origin: str) -> None:
        # C2SP signed-note key ID: SHA-256(name || 0x0A || 0x01 || Ed25519 key); the trusted root's log ID.
        self.origin = origin
        self.log_id = hashlib.sha256(origin.encode() + b"\n\x01" + self.raw).digest()
        self.witness_name = "witness.test"
        wraw = self.witness.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.witness_id = hashlib.sha256(self.witness_name.encode() + b"\n\x04" + wraw).digest()

    def spki(self) -> bytes:
        return self.key.public_key().public_bytes(serialization.Encoding.DER,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)

    def checkpoint(self, size: int, root: bytes) -> str:
        note = f"{self.origin}\n{size}\n{b64(root)}\n"
        sig = self.key.sign(note.encode())
        ts = int(time.time())
        cosig = self.witness.sign(f"cosignature/v1\ntime {ts}\n".encode() + note.encode())
        return (note + "\n"
                + f"\u2014 {self.origin} {b64(self.log_id[:4] + sig)}\n"
                + f"\u2014 {self.witness_name} {b64(self.witness_id[:4] + struct.pack('>Q', ts) + cosig)}\n")

    def add(self, req: dict) -> tuple[int, dict]:
        if "hashedRekordRequestV002" not in req:
            # rekor-tiles' CreateEntry: any other request (its deprecated dsseRequestV002 included)
            return 400, {"code": 3, "message": "invalid type, must be hashedrekord"}
        try:
            hr = req["hashedRekordRequestV002"]
            digest = base64.b64decode(hr["digest"], validate=True)
            sig = base64.b64decode(hr["signature"]["content"], validate=True)
            verifier = hr["signature"]["verifier"]
            key_details = verifier["keyDetails"]
            if "x509Certificate" in verifier:
                der = base64.b64decode(verifier["x509Certificate"]["rawBytes"], validate=True)
                public_key = x509.load_der_x509_certificate(der).public_key()
            else:
                der = base64.b64decode(verifier["publicKey"]["rawBytes"], validate=True)
                public_key = serialization.load_der_public_key(der)
        except (KeyError, TypeError, ValueError) as e:
            return 400, {"code": 3, "message": f"invalid hashedRekordRequestV002: {e}"}
        if len(digest) != 32 or key_details != "PKIX_ECDSA_P256_SHA_256" \
                or not isinstance(public_key, ec.EllipticCurvePublicKey):
            return 400, {"code": 3, "message": "this test log takes SHA-256 digests signed with P-256 keys"}
        try:
            public_key.verify(sig, digest, ec.ECDSA(Prehashed(hashes.SHA256())))
        except InvalidSignature:
            return 400, {"code": 3, "message": "invalid signature"}
        body = json.dumps({
            "apiVersion": "0.0.2",
            "kind": "hashedrekord",
            "spec": {"hashedRekordV002": {
                "data": {"algorithm": "SHA2_256", "digest": b64(digest)},
                "signature": {"content": b64(sig), "verifier": verifier},
            }},
        }, sort_keys=True, separators=(",", ":")).encode()
        lh = _leaf_hash(body)
        with self.lock:
            if lh.hex() in self.bodies:
                return 409, {"code": 6, "message": "an equivalent entry already exists"}
            index = len(self.leaves)
            self.leaves.append(lh)
            self.bodies[lh.hex()] = index
            size, root = len(self.leaves), _mth(self.leaves)
            proof = _path(index, self.leaves)
            checkpoint = self.checkpoint(size, root)
            for _ in range(secrets.randbelow(3)):
                self.leaves.append(_leaf_hash(secrets.token_bytes(40)))
        return 201, {
            "logIndex": str(index),
            "logId": {"keyId": b64(self.log_id)},
            "kindVersion": {"kind": "hashedrekord", "version": "0.0.2"},
            "inclusionProof": {
                "logIndex": str(index),
                "rootHash": b64(root),
                "treeSize": str(size),
                "hashes": [b64(h) for h in proof],
                "checkpoint": {"envelope": checkpoint},
            },
            "canonicalizedBody": b64(body),
        }

    def make_decoy(self) -> dict:
        """Logs a hashedrekord 0.0.2 entry of another signer (a fresh P-256 key) over another digest;
        returns the log's answer for it (a genuine entry: its proof and checkpoint verify)."""
        key = ec.generate_private_key(ec.SECP256R1())
        digest = hashlib.sha256(secrets.token_bytes(32)).digest()
        sig = key.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256())))
        spki = key.public_key().public_bytes(serialization.Encoding.DER,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)
        status, obj = self.add({"hashedRekordRequestV002": {
            "digest": b64(digest),
            "signature": {"content": b64(sig), "verifier": {"publicKey": {"rawBytes": b64(spki)},
                                                            "keyDetails": "PKIX_ECDSA_P256_SHA_256"}},
        }})
        assert status == 201, obj
        return obj

    def trusted_root_entry(self, base_url: str, start: str) -> dict:
        return {
            "baseUrl": base_url,
            "hashAlgorithm": "SHA2_256",
            "publicKey": {"rawBytes": b64(self.spki()), "keyDetails": "PKIX_ED25519", "validFor": {"start": start}},
            "logId": {"keyId": b64(self.log_id)},
        }


# --------------------------------------------------------------------------------------------- DER


def _len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _len(len(content)) + content


def seq(*items: bytes) -> bytes:
    return tlv(0x30, b"".join(items))


def set_of(*items: bytes) -> bytes:
    return tlv(0x31, b"".join(sorted(items)))  # DER: SET OF sorted by encoding


def integer(n: int) -> bytes:
    raw = n.to_bytes(max(1, (n.bit_length() + 8) // 8), "big", signed=True)
    return tlv(0x02, raw)


def oid(dotted: str) -> bytes:
    parts = [int(p) for p in dotted.split(".")]
    out = bytes([40 * parts[0] + parts[1]])
    for p in parts[2:]:
        chunk = [p & 0x7F]
        p >>= 7
        while p:
            chunk.append(0x80 | (p & 0x7F))
            p >>= 7
        out += bytes(reversed(chunk))
    return tlv(0x06, out)


def octets(raw: bytes) -> bytes:
    return tlv(0x04, raw)


def explicit(n: int, content: bytes) -> bytes:
    return tlv(0xA0 + n, content)


def parse(data: bytes) -> list[tuple[int, bytes, bytes]]:
    """The TLVs in `data`: (tag, content, whole encoding)."""
    out, i = [], 0
    while i < len(data):
        tag = data[i]
        n = data[i + 1]
        j = i + 2
        if n & 0x80:
            k = n & 0x7F
            n = int.from_bytes(data[j:j + k], "big")
            j += k
        out.append((tag, data[j:j + n], data[i:j + n]))
        i = j + n
    return out


SHA256 = "2.16.840.1.101.3.4.2.1"
ECDSA_SHA256 = "1.2.840.10045.4.3.2"
SIGNED_DATA = "1.2.840.113549.1.7.2"
TST_INFO = "1.2.840.113549.1.9.16.1.4"
CONTENT_TYPE = "1.2.840.113549.1.9.3"
MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
SIGNING_CERT_V2 = "1.2.840.113549.1.9.16.2.47"
TSA_POLICY = "1.3.6.1.4.1.57264.2"


class TSA:
    """A root and a timestamping leaf (P-256), and the TimeStampResp they make."""

    def __init__(self):
        start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)
        end = start + dt.timedelta(days=366)
        self.start = start
        root_key = ec.generate_private_key(ec.SECP256R1())
        root_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tsa.test"),
                               x509.NameAttribute(NameOID.COMMON_NAME, "tsa-test-root")])
        self.root = (
            x509.CertificateBuilder().subject_name(root_name).issuer_name(root_name)
            .public_key(root_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
            .sign(root_key, hashes.SHA256())
        )
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.leaf = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tsa.test"),
                                     x509.NameAttribute(NameOID.COMMON_NAME, "tsa-test")]))
            .issuer_name(root_name).public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
            .sign(root_key, hashes.SHA256())
        )

    def der(self, cert) -> bytes:
        return cert.public_bytes(serialization.Encoding.DER)

    def respond(self, request: bytes, fault: str | None = None) -> bytes:
        """TimeStampReq DER -> TimeStampResp DER (granted). Faults (a TSA answering another request, as
        a replayed or mixed-up answer would; the token itself is genuine and signed by this TSA):
        `wrong-nonce` puts another nonce in the TSTInfo, `other-imprint` the imprint of other data."""
        (tag, req, _), = parse(request)
        fields = parse(req)
        imprint = fields[1][2]  # MessageImprint, copied as it came
        if fault == "other-imprint":
            algorithm = parse(fields[1][1])[0][2]
            imprint = seq(algorithm, octets(hashlib.sha256(b"another message").digest()))
        nonce = next((whole for t, _, whole in fields[2:] if t == 0x02), None)
        if fault == "wrong-nonce":
            nonce = integer(secrets.randbits(62) | 1 << 61)
        cert_req = any(t == 0x01 and c == b"\xff" for t, c, _ in fields[2:])
        gen_time = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d%H%M%SZ").encode()
        tst = seq(integer(1), oid(TSA_POLICY), imprint, integer(secrets.randbits(63)), tlv(0x18, gen_time),
                  *([nonce] if nonce else []))
        leaf_der = self.der(self.leaf)
        attrs = [
            seq(oid(CONTENT_TYPE), set_of(oid(TST_INFO))),
            seq(oid(MESSAGE_DIGEST), set_of(octets(hashlib.sha256(tst).digest()))),
            seq(oid(SIGNING_CERT_V2), set_of(seq(seq(seq(octets(hashlib.sha256(leaf_der).digest())))))),
        ]
        signed_attrs = set_of(*attrs)
        signature = self.key.sign(signed_attrs, ec.ECDSA(hashes.SHA256()))
        signer_info = seq(
            integer(1),
            seq(self.leaf.issuer.public_bytes(), integer(self.leaf.serial_number)),
            seq(oid(SHA256)),
            tlv(0xA0, parse(signed_attrs)[0][1]),  # [0] IMPLICIT: the SET's content under another tag
            seq(oid(ECDSA_SHA256)),
            octets(signature),
        )
        certs = [leaf_der] if cert_req else []
        signed_data = seq(
            integer(3),
            set_of(seq(oid(SHA256))),
            seq(oid(TST_INFO), explicit(0, octets(tst))),
            *([tlv(0xA0, b"".join(certs))] if certs else []),
            set_of(signer_info),
        )
        token = seq(oid(SIGNED_DATA), explicit(0, signed_data))
        return seq(seq(integer(0)), token)

    def trusted_root_entry(self, uri: str, start: str) -> dict:
        return {
            "subject": {"organization": "tsa.test", "commonName": "tsa-test"},
            "uri": uri,
            "certChain": {"certificates": [{"rawBytes": b64(self.der(self.leaf))},
                                           {"rawBytes": b64(self.der(self.root))}]},
            "validFor": {"start": start},
        }
