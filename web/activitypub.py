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
from node import actors, collections, discovery, documents, inbox, posts, proofs
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


async def refusal(request: Request) -> Response | None:
    """In allowlist mode, the answer to a GET of AS2 content not signed by a permitted server."""
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
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
    """The AS2 `Note` of a local post."""
    if (refused := await refusal(request)) is not None:
        return refused
    async with unit(request) as (tx, _viewer):
        post = await posts.get(tx, key)
        if not post.local:
            raise NotFound("this copy of a remote post is not served as ActivityPub here")
        # Signed as of its last change, so repeated fetches get the same bytes (FEP-8b32).
        note = documents.note_document(tx, post)
        return as2(await proofs.sign(tx, post.author, note, post.updated_at or post.published_at))


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
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
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
]
