// Signs a file with sigstore-js (@sigstore/sign) against a Sigstore instance given by URL (the test instance
// of fake_sigstore.py), and writes the bundle as JSON: a message-signature bundle (hashedrekord), or with
// `dsse` a DSSE bundle (dsse entry) over an in-toto statement whose one subject is the file (its SHA-256),
// as attestation tools sign them.
// Usage: NODE_PATH=<dir>/node_modules node js_sign.js BASE_URL IDENTITY_TOKEN FILE OUT_BUNDLE [dsse]
// Exits 0 when the bundle was written; else prints the reason, exit 1.
'use strict';
const fs = require('fs');
const crypto = require('crypto');
const path = require('path');
const {
  FulcioSigner,
  RekorWitness,
  MessageSignatureBundleBuilder,
  DSSEBundleBuilder,
} = require('@sigstore/sign');
const { bundleToJSON } = require('@sigstore/bundle');

const [url, token, filePath, outPath, kind] = process.argv.slice(2);
(async () => {
  const signer = new FulcioSigner({
    fulcioBaseURL: url,
    identityProvider: { getToken: async () => token },
  });
  const dsse = kind === 'dsse';
  const witnesses = [new RekorWitness({ rekorBaseURL: url, entryType: dsse ? 'dsse' : undefined })];
  const Builder = dsse ? DSSEBundleBuilder : MessageSignatureBundleBuilder;
  const file = fs.readFileSync(filePath);
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: path.basename(filePath), digest: { sha256: crypto.createHash('sha256').update(file).digest('hex') } }],
    predicateType: 'https://ferrosign.test/predicate/v1',
    predicate: { signer: 'sigstore-js' },
  };
  const bundle = await new Builder({ signer, witnesses }).create(
    dsse
      ? { data: Buffer.from(JSON.stringify(statement)), type: 'application/vnd.in-toto+json' }
      : { data: file },
  );
  fs.writeFileSync(outPath, JSON.stringify(bundleToJSON(bundle)));
  process.stdout.write(`OK ${outPath}\n`);
})().catch((e) => {
  process.stdout.write(`FAILED ${e.code || ''} ${e.message}\n`);
  process.exit(1);
});
