// Issue a credential (and optionally its Bitstring Status List) with Digital Bazaar's stack, under
// a fresh Ed25519 Multikey, and print the signed documents as JSON.
// Usage: node vc-issue.mjs [request.json] (or the request on stdin):
//   {"credential": {unsigned, with issuer}, "contexts": {context url: bundled file path},
//    "statusList": {"id": url, "revoked": [index, ...]}}
// Prints {"credential", "statusList" (or null), "assertionMethod": the issuer's Multikey}.
import {readFileSync} from 'node:fs';
import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {cryptosuite as rdfc} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {createCredential, createList} from '@digitalbazaar/vc-bitstring-status-list';
import {offlineLoader} from './loader.mjs';

// The minimum length the Bitstring Status List spec allows (131,072 entries = 16 KiB).
const STATUS_LIST_LENGTH = 131072;

const request = JSON.parse(readFileSync(process.argv[2] ?? 0, 'utf8'));
const {loader} = offlineLoader(request);
const issuer = typeof request.credential.issuer === 'string' ?
  request.credential.issuer : request.credential.issuer.id;
const keyPair = await Ed25519Multikey.generate({id: `${issuer}#ed25519-key`, controller: issuer});
const suite = new DataIntegrityProof({signer: keyPair.signer(), cryptosuite: rdfc});

const credential = await vc.issue({
  credential: request.credential, suite, documentLoader: loader
});
let statusList = null;
if(request.statusList) {
  const list = await createList({length: STATUS_LIST_LENGTH});
  for(const index of request.statusList.revoked ?? []) {
    list.setStatus(index, true);
  }
  const unsigned = await createCredential({
    id: request.statusList.id, list, statusPurpose: 'revocation'
  });
  statusList = await vc.issue({
    credential: {...unsigned, issuer, validFrom: request.credential.validFrom},
    suite,
    documentLoader: loader
  });
}
const assertionMethod = await keyPair.export({publicKey: true, includeContext: false});
process.stdout.write(JSON.stringify({credential, statusList, assertionMethod}) + '\n');
