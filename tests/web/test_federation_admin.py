"""The federation admin page, /health and /metrics."""

from __future__ import annotations

import httpx

from node import members, policy
from node.runtime import Node
from tests.web.conftest import csrf_of, sign_in

PASSWORD = "a long enough password"
CSV = (
    "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n"
    "spam.example,suspend,false,false,Spam,false\n"
)


async def _admin(node: Node, client: httpx.AsyncClient) -> str:
    async with node.transaction() as tx:
        await members.add(tx, "ana", role="admin", password=PASSWORD)
        await members.add(tx, "ben", password=PASSWORD)
    await sign_in(client, "ana", PASSWORD)
    return await csrf_of(client, "/admin/federation")


async def test_admins_set_the_mode_and_rules_and_read_the_audit_log(
    node: Node, client: httpx.AsyncClient
) -> None:
    token = await _admin(node, client)
    assert 'href="/admin/federation"' in (await client.get("/admin")).text
    page = await client.get("/admin/federation")
    assert "<strong>open</strong> mode" in page.text and "No rules yet." in page.text
    mode = await client.post(
        "/admin/federation/mode", data={"csrf_token": token, "mode": "allowlist"}
    )
    assert mode.status_code == 303
    await client.post(
        "/admin/federation/rules",
        data={"csrf_token": token, "domain": "Partner.example", "severity": "allow"},
    )
    bad = await client.post(
        "/admin/federation/rules",
        data={"csrf_token": token, "domain": "no such thing", "severity": "allow"},
    )
    assert "Not changed" in (await client.get(bad.headers["location"])).text
    page = await client.get("/admin/federation")
    assert "<strong>allowlist</strong> mode" in page.text
    assert "partner.example" in page.text
    assert "open (default) -&gt; allowlist" in page.text  # the audit log, escaped
    await client.post(
        "/admin/federation/rules/remove", data={"csrf_token": token, "domain": "partner.example"}
    )
    async with node.transaction() as tx:
        assert await policy.rules(tx) == []
        assert [e.who for e in await policy.audit_log(tx)] == ["ana"] * 3


async def test_csv_import_and_export(node: Node, client: httpx.AsyncClient) -> None:
    token = await _admin(node, client)
    imported = await client.post(
        "/admin/federation/import",
        data={"csrf_token": token},
        files={"file": ("blocks.csv", CSV.encode(), "text/csv")},
    )
    assert imported.status_code == 303
    assert "Imported 1 rules" in (await client.get(imported.headers["location"])).text
    exported = await client.get("/admin/federation/export")
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    assert exported.text == CSV


async def test_only_admins_see_or_change_federation(node: Node, client: httpx.AsyncClient) -> None:
    await _admin(node, client)
    await client.post("/sign-out", data={"csrf_token": await csrf_of(client, "/")})
    await sign_in(client, "ben", PASSWORD)
    assert (await client.get("/admin/federation")).status_code == 403
    assert (await client.get("/admin/federation/export")).status_code == 403
    token = await csrf_of(client, "/")
    refused = await client.post(
        "/admin/federation/mode", data={"csrf_token": token, "mode": "allowlist"}
    )
    assert refused.status_code == 403
    async with node.transaction() as tx:
        assert not (await policy.current(tx)).explicit


async def test_admins_turn_the_remote_media_cache_on_and_off(
    node: Node, client: httpx.AsyncClient
) -> None:
    token = await _admin(node, client)
    page = await client.get("/admin/federation")
    assert "Remote media is <strong>linked</strong>" in page.text
    assert "Cache remote media</button>" in page.text
    on = await client.post(
        "/admin/federation/media-cache", data={"csrf_token": token, "cache": "on"}
    )
    assert on.status_code == 303 and on.headers["location"].endswith("#media")
    page = await client.get(on.headers["location"])
    assert "Remote media is now cached here." in page.text
    assert "Remote media is <strong>cached</strong>" in page.text
    assert "off -&gt; on" in page.text  # the audit log
    async with node.transaction() as tx:
        current = await policy.current(tx)
        assert current.cache_remote_media and not current.explicit  # no mode chosen by this
    bad = await client.post("/admin/federation/media-cache", data={"csrf_token": token})
    assert "Not changed: choose on or off" in (await client.get(bad.headers["location"])).text
    await client.post("/admin/federation/media-cache", data={"csrf_token": token, "cache": "off"})
    async with node.transaction() as tx:
        assert not (await policy.current(tx)).cache_remote_media
    await client.post("/sign-out", data={"csrf_token": await csrf_of(client, "/")})
    await sign_in(client, "ben", PASSWORD)
    token = await csrf_of(client, "/")
    refused = await client.post(
        "/admin/federation/media-cache", data={"csrf_token": token, "cache": "on"}
    )
    assert refused.status_code == 403


async def test_health_and_metrics(node: Node, client: httpx.AsyncClient) -> None:
    health = await client.get("/health")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert 'guildhall_queue_depth{queue="outbound"} 0.0' in metrics.text
    assert "guildhall_inbox_activities_total 0.0" in metrics.text
    assert "python_gc" not in metrics.text  # the app's own registry, not the global one
