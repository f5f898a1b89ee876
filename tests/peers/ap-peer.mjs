// A minimal ActivityPub server built on Fedify, run on loopback as an independent peer.
// Usage: node ap-peer.mjs PORT [CONTEXT_MAP.json]
// One actor, `peer` (a Person), discoverable by WebFinger. Everything federated (WebFinger
// lookups, HTTP Signatures both ways, FEP-8b32 proofs, JSON-LD, delivery) is Fedify's own code.
// Plain-JSON control endpoints drive it:
//   GET  /control/health               -> {"actor": id}
//   POST /control/follow {"handle"}    -> looks the handle up, sends Follow
//   POST /control/reply {"inReplyTo", "content"} -> sends Create{Note} to the parent's thread
//   GET  /control/received             -> every inbox request and activity it accepted
// Follows of `peer` are accepted at once.
import {readFileSync} from 'node:fs';
import http from 'node:http';
import {randomUUID} from 'node:crypto';
import {Temporal} from '@js-temporal/polyfill';
import {configure, getStreamSink} from '@logtape/logtape';
import {
  Accept, Activity, Announce, Create, Endpoints, Follow, Mention, Note, PUBLIC_COLLECTION,
  Person, Reject, Undo, createFederation, generateCryptoKeyPair, getDocumentLoader,
  MemoryKvStore, Object as APObject, detachSignature, verifyObject, verifyRequest
} from '@fedify/fedify';

const port = Number(process.argv[2]);
const origin = `http://127.0.0.1:${port}`;
const NAME = 'peer';
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

// Fedify's warnings and errors go to stderr, which the test keeps as the peer's log.
await configure({
  sinks: {stderr: getStreamSink(new WritableStream({
    write: chunk => new Promise(done => process.stderr.write(chunk, done))
  }))},
  loggers: [
    {category: 'fedify', sinks: ['stderr'], lowestLevel: 'info'},
    {category: ['logtape', 'meta'], sinks: ['stderr'], lowestLevel: 'error'},
  ],
});

// Fedify looks `acct:` handles up at https://HOST/.well-known/webfinger, as RFC 7033 §4
// requires; the Guildhall node under test speaks plain http on loopback (development mode).
const realFetch = globalThis.fetch;
globalThis.fetch = (input, init) => {
  const url = new URL(input instanceof Request ? input.url : input);
  if(url.protocol === 'https:' && LOOPBACK.has(url.hostname) &&
    url.pathname === '/.well-known/webfinger') {
    url.protocol = 'http:';
    input = input instanceof Request ? new Request(url, input) : url;
  }
  return realFetch(input, init);
};

// Fedify 1.5 preloads some contexts but not data-integrity/v2 or cid/v1, which Guildhall uses;
// there is no network here, so those come from Guildhall's bundled copies (argv[3]).
const bundled = {};
if(process.argv[3]) {
  for(const [url, path] of Object.entries(JSON.parse(readFileSync(process.argv[3], 'utf8')))) {
    bundled[url] = JSON.parse(readFileSync(path, 'utf8'));
  }
}
function withBundledContexts(loader) {
  return async url => url in bundled ?
    {contextUrl: null, documentUrl: url, document: structuredClone(bundled[url])} :
    loader(url);
}
const documentLoader = withBundledContexts(getDocumentLoader({allowPrivateAddress: true}));

const federation = createFederation({
  kv: new MemoryKvStore(),
  origin,
  allowPrivateAddress: true,
  documentLoaderFactory: options => withBundledContexts(getDocumentLoader(options)),
  contextLoaderFactory: options => withBundledContexts(getDocumentLoader(options)),
});

const keyPairs = [
  await generateCryptoKeyPair('RSASSA-PKCS1-v1_5'),
  await generateCryptoKeyPair('Ed25519'),
];
const notes = new Map();
const requests = [];
const activities = [];

federation.setActorDispatcher('/users/{identifier}', async (ctx, identifier) => {
  if(identifier !== NAME) {
    return null;
  }
  const keys = await ctx.getActorKeyPairs(identifier);
  return new Person({
    id: ctx.getActorUri(identifier),
    preferredUsername: identifier,
    name: 'Fedify Peer',
    summary: 'An independent ActivityPub implementation under test.',
    inbox: ctx.getInboxUri(identifier),
    outbox: ctx.getOutboxUri(identifier),
    followers: ctx.getFollowersUri(identifier),
    endpoints: new Endpoints({sharedInbox: ctx.getInboxUri()}),
    url: ctx.getActorUri(identifier),
    publicKey: keys[0].cryptographicKey,
    assertionMethods: keys.map(pair => pair.multikey),
  });
}).setKeyPairsDispatcher((ctx, identifier) => identifier === NAME ? keyPairs : []);
federation.setFollowersDispatcher('/users/{identifier}/followers', () => ({items: []}));
federation.setOutboxDispatcher('/users/{identifier}/outbox', () => ({items: []}));
federation.setObjectDispatcher(Note, '/notes/{id}', (ctx, {id}) => notes.get(id) ?? null);

async function record(ctx, activity) {
  const entry = {
    type: activity.constructor.typeId.href.split('#').pop(),
    id: activity.id?.href ?? null,
    actor: activity.actorId?.href ?? null,
    objectId: activity.objectId?.href ?? null,
  };
  // Fedify resolves the object: embedded, or fetched from its id with Fedify's own loader.
  const object = await activity.getObject();
  if(object !== null) {
    entry.objectType = object.constructor.typeId.href.split('#').pop();
    entry.objectId = object.id?.href ?? entry.objectId;
    if(object instanceof Activity) {
      const inner = await object.getObject();
      entry.innerObjectType = inner?.constructor.typeId.href.split('#').pop() ?? null;
      entry.innerObjectId = inner?.id?.href ?? object.objectId?.href ?? null;
    }
    if(object instanceof Note || entry.innerObjectType === 'Note') {
      const note = object instanceof Note ? object : await object.getObject();
      entry.content = note.content?.toString() ?? null;
      entry.attributedTo = note.attributionId?.href ?? null;
    }
  }
  activities.push(entry);
}

// A Follow of our actor is accepted at once, as an open account does.
async function accept(ctx, follow) {
  await record(ctx, follow);
  if(follow.objectId?.href !== ctx.getActorUri(NAME).href) {
    return;
  }
  const follower = await follow.getActor(ctx);
  await ctx.sendActivity({identifier: NAME}, follower, new Accept({
    id: new URL(`/accepts/${randomUUID()}`, origin),
    actor: follow.objectId,
    object: follow,
  }));
}

federation.setInboxListeners('/users/{identifier}/inbox', '/inbox')
  .on(Follow, accept)
  .on(Accept, record)
  .on(Reject, record)
  .on(Announce, record)
  .on(Create, record)
  .on(Undo, record)
  .on(Activity, record);

async function follow(ctx, {handle}) {
  // Fedify's lookupObject: WebFinger for the handle, then the actor document it points to.
  const group = await ctx.lookupObject(handle);
  if(group === null || group.inboxId === null) {
    return Response.json({error: `cannot resolve ${handle}`}, {status: 404});
  }
  const activity = new Follow({
    id: new URL(`/follows/${randomUUID()}`, origin),
    actor: ctx.getActorUri(NAME),
    object: group.id,
  });
  await ctx.sendActivity({identifier: NAME}, group, activity);
  return Response.json({followed: group.id.href, follow: activity.id.href, type: group.constructor.typeId.href});
}

async function reply(ctx, {inReplyTo, content}) {
  const parent = await ctx.lookupObject(inReplyTo);
  if(!(parent instanceof Note)) {
    return Response.json({error: `${inReplyTo} is not a Note`}, {status: 404});
  }
  // FEP-1b12: a reply goes to the group the thread belongs to (`audience`), which re-shares it.
  const group = parent.audienceId ? await ctx.lookupObject(parent.audienceId) : null;
  const author = parent.attributionId ? await ctx.lookupObject(parent.attributionId) : null;
  const id = randomUUID();
  const note = new Note({
    id: ctx.getObjectUri(Note, {id}),
    attribution: ctx.getActorUri(NAME),
    content,
    replyTarget: parent.id,
    published: Temporal.Now.instant(),
    to: PUBLIC_COLLECTION,
    ccs: [ctx.getFollowersUri(NAME), ...[group, author].filter(Boolean).map(actor => actor.id)],
    audience: group?.id ?? null,
    tags: author ? [new Mention({href: author.id, name: author.preferredUsername})] : [],
  });
  notes.set(id, note);
  const create = new Create({
    id: new URL(`/creates/${id}`, origin),
    actor: ctx.getActorUri(NAME),
    object: note,
    tos: note.toIds,
    ccs: note.ccIds,
    audience: note.audienceId,
  });
  await ctx.sendActivity({identifier: NAME}, [group, author].filter(Boolean), create);
  return Response.json({note: note.id.href, create: create.id.href, to: group?.id?.href ?? null});
}

async function control(request) {
  const url = new URL(request.url);
  const ctx = federation.createContext(new URL(origin));
  if(url.pathname === '/control/health') {
    return Response.json({actor: ctx.getActorUri(NAME).href});
  }
  if(url.pathname === '/control/received') {
    return Response.json({requests, activities});
  }
  const body = request.method === 'POST' ? await request.json() : {};
  if(url.pathname === '/control/follow') {
    return follow(ctx, body);
  }
  if(url.pathname === '/control/reply') {
    return reply(ctx, body);
  }
  return new Response('not found', {status: 404});
}

// An inbox POST as Fedify sees it: its HTTP signature checked by Fedify's verifyRequest and its
// FEP-8b32 proofs by Fedify's verifyObject, each on its own; then Fedify's inbox handles it
// (which needs one of the two to hold) and its answer is recorded too.
async function inbox(request) {
  const loaders = {documentLoader, contextLoader: documentLoader};
  const key = await verifyRequest(request.clone(), loaders);
  const json = await request.clone().json();
  const proofs = await proved(Activity, json, loaders);
  // Objects embedded in it (a community's Announce{Create{Note}}) may carry their authors' proofs.
  const embedded = [];
  for(let inner = json.object; inner && typeof inner === 'object'; inner = inner.object) {
    if('proof' in inner) {
      const kind = 'actor' in inner ? Activity : APObject;
      embedded.push({id: inner.id, type: inner.type, verified: await proved(kind, inner, loaders)});
    }
  }
  const response = await federation.fetch(request, {contextData: undefined});
  requests.push({
    path: new URL(request.url).pathname,
    type: json.type,
    id: json.id,
    actor: typeof json.actor === 'string' ? json.actor : json.actor?.id,
    httpSignatureKey: key?.id?.href ?? null,
    httpSignatureOwner: key?.ownerId?.href ?? null,
    proofsVerified: proofs,
    hasProof: 'proof' in json,
    embeddedProofs: embedded,
    status: response.status,
    digestHeader: request.headers.get('digest') !== null,
  });
  return response;
}

// Fedify's verifyObject: every proof valid and made by the object's actors and authors. As in
// Fedify's inbox, a Linked Data signature (added after the proof) is detached first.
async function proved(kind, json, loaders) {
  try {
    return await verifyObject(kind, detachSignature(json), loaders) !== null;
  } catch(error) {
    return `error: ${error}`;
  }
}

const server = http.createServer(async (req, res) => {
  try {
    const chunks = [];
    for await (const chunk of req) {
      chunks.push(chunk);
    }
    const body = Buffer.concat(chunks);
    const request = new Request(new URL(req.url, origin), {
      method: req.method,
      headers: Object.entries(req.headers).flatMap(([name, value]) =>
        Array.isArray(value) ? value.map(item => [name, item]) : [[name, value]]),
      body: ['GET', 'HEAD'].includes(req.method) ? undefined : body,
    });
    const path = new URL(request.url).pathname;
    let response;
    if(path.startsWith('/control/')) {
      response = await control(request);
    } else if(req.method === 'POST' && (path === '/inbox' || path.endsWith('/inbox'))) {
      response = await inbox(request);
    } else {
      response = await federation.fetch(request, {contextData: undefined});
    }
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  } catch(error) {
    process.stderr.write(`peer error: ${error?.stack ?? error}\n`);
    res.writeHead(500, {'content-type': 'application/json'});
    res.end(JSON.stringify({error: String(error)}));
  }
});
server.listen(port, '127.0.0.1', () => process.stdout.write(`listening on ${origin}\n`));
