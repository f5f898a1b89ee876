"""ActivityPub over HTTP: actor and object JSON, collections, inboxes and discovery endpoints."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from federation import nodeinfo
from federation.media_types import ACTIVITY_JSON, JRD_JSON, XRD_XML, wants_activity_json
from federation.webfinger import host_meta_xrd
from node import (
    achievements,
    actors,
    awards,
    collections,
    communities,
    credentials,
    discovery,
    documents,
    fetchers,
    inbox,
    posts,
    proofs,
    status_lists,
)
from node.errors import NotFound
from web.units import unit

AS2_HEADERS = {"Vary": "Accept"}


class ActivityJSONResponse(JSONResponse):
    """JSON served as `application/activity+json`."""

    media_type = ACTIVITY_JSON


def wants_json(request: Request) -> bool:
    """Whether the client asked for ActivityStreams rather than a page."""
    return wants_activity_json(request.headers.get("accept"))


def as2(document: dict[str, Any]) -> Response:
    """An AS2 document response, marked as varying by Accept for caches."""
    return ActivityJSONResponse(document, headers=AS2_HEADERS)


def request_target(request: Request) -> str:
    """The path and query a request signature covers (`(request-target)`)."""
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


async def refusal(request: Request) -> Response | None:
    """In allowlist mode, the answer to a GET of AS2 content not signed by a permitted server."""
    path = request_target(request)
    try:
        await inbox.authorize_fetch(request.app.state.node, request.method, path, request.headers)
    except inbox.Refused as exc:
        return JSONResponse({"error": exc.reason}, status_code=exc.status, headers=AS2_HEADERS)
    return None


async def local_actor_json(request: Request, name: str) -> Response:
    """The AS2 document of a member or community (called by the HTML routes on negotiation)."""
    if (refused := await refusal(request)) is not None:
        return refused
    async with unit(request) as (tx, _viewer):
        actor = await actors.find_local(tx, name)
        if actor is None:
            raise NotFound(f"no actor called {name!r} here")
        return as2(await discovery.actor_document(tx, actor))


async def post_json(request: Request, key: str) -> Response:
    """The AS2 `Note` of a local post, for whoever may see it (a signed fetch when not public)."""
    if (refused := await refusal(request)) is not None:
        return refused
    async with unit(request) as (tx, _viewer):
        post = await posts.get(tx, key)
        if not post.local:
            raise NotFound("this copy of a remote post is not served as ActivityPub here")
        headers = AS2_HEADERS
        if not await posts.visible_to(tx, post, None):
            # Mastodon's StatusPolicy#show? on the signed account; unsigned or not allowed is
            # 404 (ActivityPub::StatusesController), so a hidden post is never confirmed.
            try:
                reader = await fetchers.signer(
                    tx, request.method, request_target(request), request.headers
                )
            except inbox.Refused as exc:
                return JSONResponse({"error": exc.reason}, status_code=exc.status)
            if not await posts.visible_to(tx, post, reader):
                raise NotFound(posts.HIDDEN)
            # An answer for one reader: shared caches must not hand it to the next one.
            headers = {"Vary": "Accept, Signature", "Cache-Control": "private"}
        # Signed as of its last change, so repeated fetches get the same bytes (FEP-8b32).
        note = documents.note_document(tx, post)
        signed = await proofs.sign(tx, post.author, note, post.updated_at or post.published_at)
        return ActivityJSONResponse(signed, headers=headers)


async def instance_actor(request: Request) -> Response:
    # Never behind authorized fetch: two allowlist nodes fetch each other's instance actor (and
    # its key) unsigned to verify the signed GETs that follow, as Mastodon's secure mode allows.
    async with unit(request) as (tx, _viewer):
        actor = await actors.instance_actor(tx)
        return as2(await discovery.actor_document(tx, actor))


async def actor_collection(request: Request) -> Response:
    name, which = request.path_params["name"], request.path_params["collection"]
    if which not in collections.NAMES:
        raise NotFound("no such collection")
    if (refused := await refusal(request)) is not None:
        return refused
    async with unit(request) as (tx, _viewer):
        actor = await actors.find_local(tx, name)
        if actor is None:
            raise NotFound(f"no actor called {name!r} here")
        return as2(await collections.collection(tx, actor, which, request.query_params.get("page")))


async def _read_bounded(request: Request, limit: int) -> bytes | None:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            return None
    return bytes(body)


async def inbox_post(request: Request) -> Response:
    node = request.app.state.node
    recipient = None
    if "name" in request.path_params:
        async with node.transaction() as tx:
            actor = await actors.find_local(tx, request.path_params["name"])
            if actor is None:
                raise NotFound("no such inbox")
            recipient = actor.uri
    elif request.url.path == "/actor/inbox":
        recipient = node.settings.url("/actor")
    body = await _read_bounded(request, node.settings.limits.max_inbox_bytes)
    if body is None:
        return JSONResponse({"error": "activity too large"}, status_code=413)
    path = request_target(request)
    try:
        await inbox.receive(node, request.method, path, request.headers, body, recipient)
    except inbox.Refused as exc:
        return JSONResponse({"error": exc.reason}, status_code=exc.status)
    return Response(status_code=202)


async def webfinger(request: Request) -> Response:
    resource = request.query_params.get("resource")
    if not resource:
        return JSONResponse({"error": "the resource parameter is required"}, status_code=400)
    async with unit(request) as (tx, _viewer):
        document = await discovery.webfinger(tx, resource)
    return Response(
        json.dumps(document),
        media_type=JRD_JSON,
        headers={"Access-Control-Allow-Origin": "*", "Vary": "Accept"},
    )


async def host_meta(request: Request) -> Response:
    return Response(
        host_meta_xrd(request.app.state.node.settings.base_url),
        media_type=XRD_XML,
        headers={"Access-Control-Allow-Origin": "*"},
    )


async def nodeinfo_links(request: Request) -> Response:
    return JSONResponse(
        nodeinfo.well_known_document(request.app.state.node.settings.base_url),
        headers={"Access-Control-Allow-Origin": "*"},
    )


async def nodeinfo_document(request: Request) -> Response:
    version = request.path_params["version"]
    if version not in nodeinfo.SCHEMAS:
        raise NotFound(f"NodeInfo {version} is not served here")
    async with unit(request) as (tx, _viewer):
        document = await discovery.nodeinfo_document(tx, version)
    return Response(
        json.dumps(document),
        media_type=nodeinfo.content_type(version),
        headers={"Access-Control-Allow-Origin": "*"},
    )


class CredentialResponse(JSONResponse):
    """A secured credential (VC Data Model 2.0 §6.3 names `application/vc`; OB 3.0 serves the
    JSON-LD form as `application/vc+ld+json`)."""

    media_type = credentials.VC_JSON


class LdJSONResponse(JSONResponse):
    """JSON-LD served as `application/ld+json`."""

    media_type = "application/ld+json"


def _public_json(document: dict[str, Any], response: type[JSONResponse]) -> Response:
    # Wallets and verifiers in browsers fetch credentials and status lists cross-origin.
    return response(document, headers={"Access-Control-Allow-Origin": "*", "Vary": "Accept"})


async def achievement_json(request: Request, key: str) -> Response:
    """An achievement as OB 3.0 `Achievement` JSON (called by its page on negotiation)."""
    async with unit(request) as (tx, _viewer):
        achievement = await achievements.get_achievement(tx, key)
        document = achievements.achievement_document(tx, achievement)
    return _public_json(document, LdJSONResponse)


async def award_json(request: Request, key: str) -> Response:
    """The award `Note` embedding the credential (called by the award page on negotiation)."""
    async with unit(request) as (tx, _viewer):
        record = await awards.get_award(tx, key)
        if not record.local:
            raise NotFound("this award was issued elsewhere; ask its issuer for it")
        if record.revoked_at is not None:
            raise NotFound("this award was revoked")
        return as2(await awards.signed_award_note(tx, record))


async def credential_json(request: Request) -> Response:
    """The signed OpenBadgeCredential, as issued (revoked ones too: their status says so)."""
    async with unit(request) as (tx, _viewer):
        record = await awards.get_award(tx, request.path_params["key"])
        if not record.local:
            raise NotFound("this credential was issued elsewhere")
        credential = dict(record.credential)
    return _public_json(credential, CredentialResponse)


async def status_list_json(request: Request) -> Response:
    """A community's signed BitstringStatusListCredential."""
    async with unit(request) as (tx, _viewer):
        community = await communities.get(tx, request.path_params["name"])
        document = await status_lists.status_list_document(tx, community)
    accept = request.headers.get("accept", "")
    return _public_json(
        document, CredentialResponse if "application/vc" in accept else LdJSONResponse
    )


routes = [
    Route("/actor", instance_actor, methods=["GET"]),
    Route("/actor/inbox", inbox_post, methods=["POST"]),
    Route("/inbox", inbox_post, methods=["POST"]),
    Route("/members/{name}/inbox", inbox_post, methods=["POST"]),
    Route("/communities/{name}/inbox", inbox_post, methods=["POST"]),
    Route("/members/{name}/{collection}", actor_collection, methods=["GET"]),
    Route("/communities/{name}/{collection}", actor_collection, methods=["GET"]),
    Route("/.well-known/webfinger", webfinger, methods=["GET"]),
    Route("/.well-known/host-meta", host_meta, methods=["GET"]),
    Route("/.well-known/nodeinfo", nodeinfo_links, methods=["GET"]),
    Route("/nodeinfo/{version}", nodeinfo_document, methods=["GET"]),
    Route("/credentials/{key}", credential_json, methods=["GET"]),
    Route("/communities/{name}/badges/status", status_list_json, methods=["GET"]),
]
