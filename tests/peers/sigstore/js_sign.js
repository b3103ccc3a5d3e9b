// Signs a file with sigstore-js (@sigstore/sign) against a Sigstore instance given by URL (the test instance
// of fake_sigstore.py), and writes the bundle as JSON: a message-signature bundle (hashedrekord), or with
// `dsse` a DSSE bundle over the file as an in-toto payload (dsse entry).
// Usage: NODE_PATH=<dir>/node_modules node js_sign.js BASE_URL IDENTITY_TOKEN FILE OUT_BUNDLE [dsse]
// Exits 0 when the bundle was written; else prints the reason, exit 1.
'use strict';
const fs = require('fs');
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
  const bundle = await new Builder({ signer, witnesses }).create({
    data: fs.readFileSync(filePath),
    type: dsse ? 'application/vnd.in-toto+json' : undefined,
  });
  fs.writeFileSync(outPath, JSON.stringify(bundleToJSON(bundle)));
  process.stdout.write(`OK ${outPath}\n`);
})().catch((e) => {
  process.stdout.write(`FAILED ${e.code || ''} ${e.message}\n`);
  process.exit(1);
});
