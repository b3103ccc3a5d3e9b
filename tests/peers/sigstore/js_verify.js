// Verifies a Sigstore bundle over a file with sigstore-js (@sigstore/verify), against a given trusted root.
// Usage: NODE_PATH=<dir>/node_modules node js_verify.js TRUSTED_ROOT BUNDLE FILE IDENTITY ISSUER
// Prints "OK" and exits 0 when the bundle verifies and the identity/issuer match; else the reason, exit 1.
'use strict';
const fs = require('fs');
const { bundleFromJSON } = require('@sigstore/bundle');
const { TrustedRoot } = require('@sigstore/protobuf-specs');
const { Verifier, toSignedEntity, toTrustMaterial } = require('@sigstore/verify');

const [trustedRootPath, bundlePath, filePath, identity, issuer] = process.argv.slice(2);
try {
  const trustMaterial = toTrustMaterial(TrustedRoot.fromJSON(JSON.parse(fs.readFileSync(trustedRootPath, 'utf8'))));
  const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundlePath, 'utf8')));
  const entity = toSignedEntity(bundle, fs.readFileSync(filePath));
  const verifier = new Verifier(trustMaterial, { tlogThreshold: 1, ctlogThreshold: 1, timestampThreshold: 1 });
  const signer = verifier.verify(entity, { subjectAlternativeName: identity, extensions: { issuer } });
  process.stdout.write(`OK ${signer.identity ? signer.identity.subjectAlternativeName : ''}\n`);
} catch (e) {
  process.stdout.write(`FAILED ${e.code || ''} ${e.message}\n`);
  process.exit(1);
}
