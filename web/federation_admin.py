"""Administration of federation: the mode, domain rules, CSV import/export, queue and hosts."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from node import delivery, hosts, members, policy, remote_media
from node.errors import Forbidden, GuildhallError, InvalidInput, NotSignedIn
from node.runtime import Tx
from web.security import checked_form, require_member
from web.templating import render
from web.units import redirect, unit

PAGE = "/admin/federation"
MAX_CSV_BYTES = 2 * 1024 * 1024


async def _admin(request: Request, tx: Tx) -> Any:
    viewer = await require_member(request, tx)
    members.require_admin(viewer)
    return viewer


async def page(request: Request) -> Response:
    async with unit(request) as (tx, _viewer):
        await _admin(request, tx)
        return render(
            request,
            "admin/federation.html",
            {
                "policy": await policy.current(tx),
                "modes": policy.MODES,
                "severities": policy.SEVERITIES,
                "rules": await policy.rules(tx),
                "queue": await delivery.queue_summary(tx),
                "queued_hosts": await delivery.queued_by_host(tx),
                "hosts": await hosts.listing(tx),
                "now": tx.now(),
                "is_open": hosts.is_open,
                "audit": await policy.audit_log(tx),
                "media_cache": await remote_media.summary(tx),
            },
        )


async def _change(request: Request, work: Any, done: str) -> Response:
    """Run one policy change for an administrator; refusals come back as a message."""
    form = await checked_form(request, max_part_size=MAX_CSV_BYTES)
    try:
        async with unit(request) as (tx, _viewer):
            viewer = await _admin(request, tx)
            message = await work(tx, viewer.actor.name, form)
    except (NotSignedIn, Forbidden):
        raise
    except GuildhallError as exc:
        return redirect(PAGE, f"Not changed: {exc.reason}", request)
    return redirect(f"{PAGE}#{done}", message, request)


async def set_mode(request: Request) -> Response:
    async def work(tx: Tx, who: str, form: Any) -> str:
        mode = str(form.get("mode", ""))
        await policy.set_mode(tx, who, mode)
        return f"Federation mode is now {mode}."

    return await _change(request, work, "mode")


async def set_media_cache(request: Request) -> Response:
    async def work(tx: Tx, who: str, form: Any) -> str:
        choice = str(form.get("cache", ""))
        if choice not in ("on", "off"):
            raise InvalidInput("choose on or off for the remote media cache")
        await policy.set_media_cache(tx, who, choice == "on")
        return "Remote media is now " + ("cached here." if choice == "on" else "linked.")

    return await _change(request, work, "media")


async def add_rule(request: Request) -> Response:
    async def work(tx: Tx, who: str, form: Any) -> str:
        rule = await policy.set_rule(
            tx,
            who,
            str(form.get("domain", "")),
            str(form.get("severity", "")),
            reject_media=form.get("reject_media") == "on",
            reject_reports=form.get("reject_reports") == "on",
            public_comment=str(form.get("public_comment", ""))[:1000],
            private_comment=str(form.get("private_comment", ""))[:1000],
            obfuscate=form.get("obfuscate") == "on",
        )
        return f"{rule.domain}: {rule.severity}."

    return await _change(request, work, "rules")


async def remove_rule(request: Request) -> Response:
    async def work(tx: Tx, who: str, form: Any) -> str:
        domain = str(form.get("domain", ""))
        await policy.remove_rule(tx, who, domain)
        return f"Removed the rule for {domain}."

    return await _change(request, work, "rules")


async def import_rules(request: Request) -> Response:
    async def work(tx: Tx, who: str, form: Any) -> str:
        upload = form.get("file")
        if isinstance(upload, UploadFile):
            raw = await upload.read(MAX_CSV_BYTES + 1)
        else:
            raw = str(form.get("csv", "")).encode("utf-8")
        if len(raw) > MAX_CSV_BYTES:
            raise InvalidInput("the file is larger than 2 MB")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput("the file is not UTF-8 text") from exc
        return f"Imported {await policy.import_csv(tx, who, text)} rules."

    return await _change(request, work, "rules")


async def export_rules(request: Request) -> Response:
    async with unit(request) as (tx, _viewer):
        await _admin(request, tx)
        body = await policy.export_csv(tx)
    filename = f"{request.app.state.node.settings.domain.replace(':', '_')}_domain_blocks.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


routes = [
    Route(PAGE, page, methods=["GET"]),
    Route(PAGE + "/mode", set_mode, methods=["POST"]),
    Route(PAGE + "/media-cache", set_media_cache, methods=["POST"]),
    Route(PAGE + "/rules", add_rule, methods=["POST"]),
    Route(PAGE + "/rules/remove", remove_rule, methods=["POST"]),
    Route(PAGE + "/import", import_rules, methods=["POST"]),
    Route(PAGE + "/export", export_rules, methods=["GET"]),
]
