"""Threads, replies and the compose form with its licence picker and file attachments."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from node import communities, media, posts, reactions
from node.errors import GuildhallError, NotSignedIn
from node.runtime import Tx
from web.activitypub import post_json, wants_json
from web.security import checked_form, require_member
from web.templating import render
from web.units import redirect, unit

FORM_LIMITS = {"max_files": posts.MAX_ATTACHMENTS, "max_fields": 40}


async def thread_page(request: Request) -> Response:
    if wants_json(request):
        return await post_json(request, request.path_params["key"])
    async with unit(request) as (tx, viewer):
        reader = viewer.actor if viewer else None
        post = await posts.get_visible(tx, request.path_params["key"], reader)
        thread = await posts.thread(tx, post, reader)
        community = thread.root.community
        may_reply = viewer is not None and (
            community is None or await communities.may_post(tx, community, viewer)
        )
        shown = [thread.root, *thread.replies]
        return render(
            request,
            "thread.html",
            {
                "thread": thread,
                "focus": post,
                "community": community,
                "may_reply": may_reply,
                "reaction_summaries": await reactions.summaries(tx, shown, viewer),
            },
        )


async def _attachments(
    tx: Tx, viewer: Any, form: FormData, post_licence: str | None
) -> tuple[Any, ...]:
    """Store the uploaded files; "default" gives a file the post's own licence."""
    stored = []
    files = form.getlist("file")
    alts = form.getlist("file_alt")
    licences = form.getlist("file_licence")
    for index, upload in enumerate(files):
        if not isinstance(upload, UploadFile) or not upload.filename:
            continue
        limit = tx.settings.limits.max_upload_bytes
        data = await upload.read(limit + 1)
        chosen = str(licences[index]) if index < len(licences) else "default"
        if chosen == "default":
            chosen = post_licence or "none"
        stored.append(
            await media.store(
                tx,
                viewer.actor,
                upload.filename,
                data,
                alt_text=str(alts[index]) if index < len(alts) else "",
                licence=chosen or None,
            )
        )
    return tuple(stored)


def _licence_choice(form: FormData) -> str | None:
    value = str(form.get("licence", "default"))
    return None if value == "default" else value


def _post_licence(form: FormData, community: Any, viewer: Any) -> str | None:
    """The SPDX id the post will carry, so that its files can default to it."""
    choice = _licence_choice(form)
    if choice is not None:
        return choice
    default = posts.default_licence(community, viewer)
    return default.spdx_id if default else None


async def compose_page(request: Request) -> Response:
    async with unit(request) as (tx, viewer):
        if viewer is None:
            raise NotSignedIn("sign in to write a post")
        community = await communities.get(tx, request.path_params["name"])
        default = posts.default_licence(community, viewer)
        return render(
            request,
            "compose.html",
            {
                "community": community,
                "default_licence": default,
                "values": {},
                "upload_limit_mb": tx.settings.limits.max_upload_bytes // (1024 * 1024),
            },
        )


async def compose_submit(request: Request) -> Response:
    form = await checked_form(request, **FORM_LIMITS)
    try:
        async with unit(request) as (tx, viewer):
            viewer = await require_member(request, tx)
            community = await communities.get(tx, request.path_params["name"])
            attachments = await _attachments(
                tx, viewer, form, _post_licence(form, community, viewer)
            )
            post = await posts.create(
                tx,
                viewer,
                posts.Draft(
                    text=str(form.get("text", "")),
                    title=str(form.get("title", "")),
                    community=community,
                    licence=_licence_choice(form),
                    attachments=attachments,
                ),
            )
    except NotSignedIn:
        raise
    except GuildhallError as exc:
        async with unit(request) as (tx, viewer):
            community = await communities.get(tx, request.path_params["name"])
            default = posts.default_licence(community, viewer) if viewer else None
            return render(
                request,
                "compose.html",
                {
                    "community": community,
                    "default_licence": default,
                    "upload_limit_mb": tx.settings.limits.max_upload_bytes // (1024 * 1024),
                    "error": exc.reason,
                    "values": {k: str(form.get(k, "")) for k in ("title", "text", "licence")},
                },
                status_code=400,
            )
    return redirect(f"/posts/{post.key}", "Your post is published.", request)


async def reply_submit(request: Request) -> Response:
    form = await checked_form(request, **FORM_LIMITS)
    async with unit(request) as (tx, viewer):
        viewer = await require_member(request, tx)
        parent = await posts.get_visible(tx, request.path_params["key"], viewer.actor)
        attachments = await _attachments(
            tx, viewer, form, _post_licence(form, parent.community, viewer)
        )
        reply = await posts.create(
            tx,
            viewer,
            posts.Draft(
                text=str(form.get("text", "")),
                reply_to=parent.uri,
                licence=_licence_choice(form),
                attachments=attachments,
            ),
        )
    return redirect(f"/posts/{reply.key}#post-{reply.key}", "Your reply is published.", request)


async def edit_submit(request: Request) -> Response:
    form = await checked_form(request)
    async with unit(request) as (tx, viewer):
        viewer = await require_member(request, tx)
        post = await posts.get(tx, request.path_params["key"])
        title = form.get("title")
        await posts.edit(
            tx, viewer, post, str(form.get("text", "")), str(title) if title is not None else None
        )
    return redirect(f"/posts/{post.key}#post-{post.key}", "Your post is updated.", request)


async def delete_submit(request: Request) -> Response:
    await checked_form(request)
    async with unit(request) as (tx, viewer):
        viewer = await require_member(request, tx)
        post = await posts.get(tx, request.path_params["key"])
        # A deleted reply sends you back to its thread; a deleted thread to the front page.
        root = (await posts.thread(tx, post, viewer.actor)).root if post.thread_id else None
        await posts.delete(tx, viewer, post)
    target = f"/posts/{root.key}" if root is not None and root.deleted_at is None else "/"
    return redirect(target, "The post is deleted.", request)


routes = [
    Route("/posts/{key}", thread_page, methods=["GET"]),
    Route("/posts/{key}/reply", reply_submit, methods=["POST"]),
    Route("/posts/{key}/edit", edit_submit, methods=["POST"]),
    Route("/posts/{key}/delete", delete_submit, methods=["POST"]),
    Route("/communities/{name}/compose", compose_page, methods=["GET"]),
    Route("/communities/{name}/compose", compose_submit, methods=["POST"]),
]
