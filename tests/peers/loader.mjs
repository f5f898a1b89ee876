// An offline JSON-LD document loader for the Digital Bazaar stack: Guildhall's bundled contexts,
// the documents a test hands in (actors, status lists), and nothing from the network.
import {readFileSync} from 'node:fs';
import securityContext from '@digitalbazaar/security-context';

const MULTIKEY_CONTEXT = 'https://w3id.org/security/multikey/v1';

// `contexts` maps a context URL to a bundled file (federation.jsonld.BUNDLED_CONTEXTS, resolved
// by the test); `documents` maps a URL (without fragment) to a JSON document.
export function offlineLoader({contexts = {}, documents = {}} = {}) {
  const bundled = new Map();
  for(const [url, path] of Object.entries(contexts)) {
    bundled.set(url, JSON.parse(readFileSync(path, 'utf8')));
  }
  // jsonld-signatures frames every controller document with the security v2 context
  // (ControllerProofPurpose); Guildhall bundles no copy, so the one DB ships is served.
  const securityV2 = securityContext.SECURITY_CONTEXT_V2_URL;
  if(!bundled.has(securityV2)) {
    bundled.set(securityV2, securityContext.contexts.get(securityV2));
  }
  const loaded = [];
  const loader = async url => {
    loaded.push(url);
    if(bundled.has(url)) {
      return {contextUrl: null, documentUrl: url, document: structuredClone(bundled.get(url))};
    }
    const [base, fragment] = url.split('#');
    const document = documents[base];
    if(document === undefined) {
      throw new Error(`${url} is not available offline`);
    }
    if(fragment === undefined) {
      return {contextUrl: null, documentUrl: url, document: structuredClone(document)};
    }
    // Dereferencing a fragment yields the node with that id inside the controller document
    // (https://www.w3.org/TR/cid-1.0/#fragment-resolution). Ed25519Multikey.from() accepts a
    // Multikey only under the multikey/v1 context, as did-io gives it for DID documents.
    const node = findNode(document, url);
    if(node === undefined) {
      throw new Error(`${base} has no node ${url}`);
    }
    const context = node.type === 'Multikey' ? MULTIKEY_CONTEXT : document['@context'];
    return {contextUrl: null, documentUrl: url, document: {'@context': context, ...node}};
  };
  return {loader, loaded};
}

function findNode(value, id) {
  if(Array.isArray(value)) {
    for(const item of value) {
      const found = findNode(item, id);
      if(found !== undefined) {
        return found;
      }
    }
  } else if(value !== null && typeof value === 'object') {
    if(value.id === id) {
      const {'@context': _ignored, ...node} = value;
      return node;
    }
    return findNode(Object.values(value), id);
  }
  return undefined;
}
