// Verify a credential or any Data Integrity-signed document with Digital Bazaar's stack and print
// a JSON verdict. Usage: node vc-verify.mjs [request.json] (or the request on stdin):
//   {"kind": "credential" | "proof", "document": {...},
//    "documents": {url: document}, "contexts": {context url: bundled file path},
//    "checkStatus": true, "contextShim": true}
// "credential" runs @digitalbazaar/vc verifyCredential (issuer must control the key, VC 2.0
// checks, Bitstring Status List when checkStatus); "proof" runs jsonld-signatures verify with
// the assertionMethod purpose. Both eddsa-rdfc-2022 and eddsa-jcs-2022 are accepted.
import {readFileSync} from 'node:fs';
import * as vc from '@digitalbazaar/vc';
import jsigs from 'jsonld-signatures';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as rdfc} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {createVerifyCryptosuite as jcs} from '@digitalbazaar/eddsa-jcs-2022-cryptosuite';
import {checkStatus} from '@digitalbazaar/vc-bitstring-status-list';
import {offlineLoader} from './loader.mjs';

const request = JSON.parse(readFileSync(process.argv[2] ?? 0, 'utf8'));
const shimmed = request.contextShim !== false && shareContextObjects(request.document);
const {loader, loaded} = offlineLoader(request);
const suite = [
  new DataIntegrityProof({cryptosuite: rdfc}),
  new DataIntegrityProof({cryptosuite: jcs()})
];

let result;
try {
  if(request.kind === 'credential') {
    result = await vc.verifyCredential({
      credential: request.document,
      suite,
      documentLoader: loader,
      checkStatus: request.checkStatus ? checkStatus : async () => ({verified: true}),
    });
  } else if(request.kind === 'proof') {
    result = await jsigs.verify(request.document, {
      suite,
      purpose: new jsigs.purposes.AssertionProofPurpose(),
      documentLoader: loader,
    });
  } else {
    throw new Error(`unknown kind ${request.kind}`);
  }
} catch(error) {
  result = {verified: false, error};
}

const errors = [];
collect(result.error, errors);
for(const item of result.results ?? []) {
  collect(item.error, errors);
  collect(item.purposeResult?.error, errors);
}
collect(result.statusResult?.error, errors);
process.stdout.write(JSON.stringify({
  verified: result.verified === true,
  statusChecked: Boolean(request.checkStatus && request.document?.credentialStatus),
  // Digital Bazaar reports a revoked credential as verified: the set bit is a separate result.
  statusVerified: result.statusResult ? result.statusResult.verified === true : null,
  revoked: (result.statusResult?.results ?? []).some(
    item => item.status === true && item.credentialStatus?.statusPurpose === 'revocation'),
  methods: (result.results ?? []).map(item => item.verificationMethod?.id ?? null),
  errors,
  contextShimmed: shimmed,
  loaded,
}) + '\n');

function collect(error, into) {
  if(!error) {
    return;
  }
  if(Array.isArray(error)) {
    error.forEach(item => collect(item, into));
    return;
  }
  into.push(String(error.message ?? error));
  collect(error.errors, into);
  collect(error.cause, into);
}

// eddsa-jcs-2022-cryptosuite 1.0.0 checks that the document's @context starts with the proof's
// with `!==`, so an inline context object (every ActivityPub extension context) never matches
// its JSON-equal copy in the proof. The spec compares values
// (https://www.w3.org/TR/vc-di-eddsa/#verify-proof-eddsa-jcs-2022 step 4.1): when they are
// JSON-equal, let the proof share the document's objects, which changes no byte that is hashed.
function shareContextObjects(document) {
  const proof = document?.proof;
  if(!proof || Array.isArray(proof) || !Array.isArray(proof['@context']) ||
    !Array.isArray(document['@context'])) {
    return false;
  }
  let shared = false;
  proof['@context'] = proof['@context'].map((entry, i) => {
    const mine = document['@context'][i];
    if(typeof entry === 'object' && entry !== mine &&
      JSON.stringify(entry) === JSON.stringify(mine)) {
      shared = true;
      return mine;
    }
    return entry;
  });
  return shared;
}
