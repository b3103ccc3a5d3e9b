#!/usr/bin/env python3
"""Verifies a DSSE Sigstore bundle with sigstore-python's API, the way its CLI does, minus the CLI's
statement model.

cosign v3 signs an image as an in-toto statement whose subject has a digest but no `name`; the
`sigstore verify identity` CLI (4.5.1) refuses such a statement ("subject.0.name Field required") after
everything cryptographic has passed. This script calls `Verifier.verify_dsse` (certificate chain, SCT,
identity policy, log entry with its SET and inclusion proof, DSSE signature, and the consistency of a
`dsse` 0.0.1 log entry body with the envelope) and then checks the statement itself: in-toto v1, and a
subject whose sha256 digest is DIGEST.

usage: py_verify_dsse.py TRUST_CONFIG BUNDLE IDENTITY ISSUER DIGEST
  TRUST_CONFIG  trust_config.json of the test instance (fake_sigstore.py --dir)
  DIGEST        sha256:<hex> the statement must name (an image manifest digest)
Prints `OK <predicateType>` and exits 0, or prints `FAIL: <reason>` and exits 1.
"""

import json
import sys

from sigstore.errors import VerificationError
from sigstore.models import Bundle, ClientTrustConfig
from sigstore.verify import Verifier, policy


def main() -> int:
    if len(sys.argv) != 6:
        sys.stderr.write(__doc__)
        return 2
    trust_config, bundle_path, identity, issuer, digest = sys.argv[1:]
    algo, _, hexdigest = digest.partition(":")
    if algo != "sha256" or len(hexdigest) != 64:
        sys.stderr.write("DIGEST must be sha256:<64 hex>\n")
        return 2
    with open(trust_config) as f:
        config = ClientTrustConfig.from_json(f.read())
    with open(bundle_path) as f:
        bundle = Bundle.from_json(f.read())
    verifier = Verifier(trusted_root=config.trusted_root)
    try:
        payload_type, payload = verifier.verify_dsse(bundle, policy.Identity(identity=identity, issuer=issuer))
    except VerificationError as e:
        print(f"FAIL: {e}")
        return 1
    if payload_type != "application/vnd.in-toto+json":
        print(f"FAIL: payload type {payload_type}")
        return 1
    statement = json.loads(payload)
    if statement.get("_type") != "https://in-toto.io/Statement/v1":
        print(f"FAIL: statement type {statement.get('_type')}")
        return 1
    if not any((s.get("digest") or {}).get("sha256") == hexdigest for s in statement.get("subject") or []):
        print(f"FAIL: no subject with digest {digest}")
        return 1
    print(f"OK {statement.get('predicateType')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
