"""Remote media: linked by default, copied here by the worker when the administrator caches it.

A fake Mastodon (httpx.MockTransport) serves its actor and a real PNG from its media host; the
note arrives signed through node.inbox, the worker runs with run_once(), and the copy is read
back through the web app as a browser would.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from PIL import Image
from sqlalchemy import select

from federation.signatures import sign_request
from node import inbox, policy, remote_media, worker
from node.runtime import Node, open_node
from node.settings import Limits, Settings
from storage.models import Attachment, MediaFetch, Post
from web.app import create_app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "activitypub"
ALICE = "https://mastodon.example/users/alice"
PICTURE = "https://files.mastodon.example/media_attachments/files/113/957/471/original/6a0f.png"
AS2 = {"Content-Type": "application/activity+json"}
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PEM = (
    KEY.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)


def png(width: int = 8, height: int = 6) -> bytes:
    """A real PNG, as Pillow writes it."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(out, format="PNG")
    return out.getvalue()


PNG = png()


@dataclass
class Mastodon:
    """A remote server in process: Alice's actor document and the files of its media host."""

    files: dict[str, tuple[int, bytes, str]] = field(default_factory=dict)
    requested: list[str] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        if url == ALICE:
            actor = {
                "@context": ["https://www.w3.org/ns/activitystreams"],
                "id": ALICE,
                "type": "Person",
                "preferredUsername": "alice",
                "inbox": ALICE + "/inbox",
                "followers": ALICE + "/followers",
                "publicKey": {"id": ALICE + "#main-key", "owner": ALICE, "publicKeyPem": PEM},
            }
            return httpx.Response(200, json=actor, headers=AS2)
        if request.method == "POST":
            return httpx.Response(202)
        self.requested.append(url)
        if url not in self.files:
            return httpx.Response(404)
        status, body, content_type = self.files[url]
        return httpx.Response(status, content=body, headers={"Content-Type": content_type})


@pytest.fixture
def mastodon() -> Mastodon:
    remote = Mastodon()
    remote.files[PICTURE] = (200, PNG, "image/png")
    return remote


async def _open(settings: Settings, mastodon: Mastodon) -> Node:
    # Development mode skips DNS for the fake hosts; one test turns private addresses back off.
    http = httpx.AsyncClient(transport=httpx.MockTransport(mastodon.handle))
    return await open_node(replace(settings, dev=True), http=http)


@pytest.fixture
async def node(settings: Settings, mastodon: Mastodon) -> AsyncIterator[Node]:
    running = await _open(settings, mastodon)
    yield running
    await running.close()


async def caching(node: Node, on: bool = True) -> None:
    async with node.transaction() as tx:
        await policy.set_media_cache(tx, "test", on)


def create_with(url: str = PICTURE, media_type: str = "image/png") -> dict[str, Any]:
    """Mastodon's Create of a public note with one picture (its NoteSerializer)."""
    create = json.loads((FIXTURES / "mastodon_create_note.json").read_text())
    create = copy.deepcopy(create)
    create["object"]["attachment"][0].update(url=url, mediaType=media_type)
    return dict(create)


def signed(activity: dict[str, Any]) -> tuple[dict[str, str], bytes]:
    """Headers and body of the activity as Alice's server would POST it to our shared inbox."""
    body = json.dumps(activity).encode()
    url = "https://school.example/inbox"
    return sign_request("POST", url, AS2, body, ALICE + "#main-key", KEY, datetime.now(UTC)), body


async def receive(node: Node, activity: dict[str, Any]) -> Attachment:
    """Deliver the signed activity, let the worker run, and return the note's attachment."""
    await inbox.receive(node, "POST", "/inbox", *signed(activity), None)
    await worker.run_once(node)
    await worker.run_once(node)
    async with node.transaction() as tx:
        post = await tx.session.scalar(select(Post).where(Post.uri == activity["object"]["id"]))
        assert post is not None, "the note was not stored"
        [attachment] = post.attachments
        return attachment


async def fetch_of(node: Node, attachment: Attachment) -> MediaFetch | None:
    async with node.transaction() as tx:
        return await tx.session.scalar(
            select(MediaFetch).where(MediaFetch.attachment_id == attachment.id)
        )


async def page_of(node: Node, attachment: Attachment) -> str:
    async with node.transaction() as tx:
        post = await tx.session.get(Post, attachment.post_id)
        assert post is not None
        key = post.key
    transport = httpx.ASGITransport(app=create_app(node=node))
    async with httpx.AsyncClient(transport=transport, base_url=node.settings.base_url) as web:
        return (await web.get(f"/posts/{key}")).text


async def assert_linked(node: Node, attachment: Attachment) -> None:
    assert attachment.storage_path is None and attachment.remote_url == PICTURE
    page = await page_of(node, attachment)
    assert f'src="{PICTURE}"' in page and "/media/" not in page


async def test_off_by_default_remote_pictures_are_linked_and_never_downloaded(
    node: Node, mastodon: Mastodon
) -> None:
    async with node.transaction() as tx:
        assert (await policy.current(tx)).cache_remote_media is False
    attachment = await receive(node, create_with())
    await assert_linked(node, attachment)
    assert await fetch_of(node, attachment) is None
    assert PICTURE not in mastodon.requested


async def test_on_the_worker_keeps_a_checked_copy_that_pages_serve(
    node: Node, mastodon: Mastodon
) -> None:
    await caching(node)
    attachment = await receive(node, create_with())
    assert attachment.storage_path is not None
    assert attachment.sha256 == hashlib.sha256(PNG).hexdigest()
    assert (attachment.size_bytes, attachment.media_type) == (len(PNG), "image/png")
    assert (attachment.width, attachment.height) == (8, 6)  # read from the bytes
    assert attachment.remote_url == PICTURE  # where it came from stays known
    fetch = await fetch_of(node, attachment)
    assert fetch is not None and fetch.state == "cached" and fetch.attempts == 1
    assert mastodon.requested.count(PICTURE) == 1

    local = f"/media/{attachment.key}/{attachment.file_name}"
    page = await page_of(node, attachment)
    assert f'src="{local}"' in page and PICTURE not in page
    transport = httpx.ASGITransport(app=create_app(node=node))
    async with httpx.AsyncClient(transport=transport, base_url=node.settings.base_url) as web:
        served = await web.get(local)
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"
    assert hashlib.sha256(served.content).hexdigest() == hashlib.sha256(PNG).hexdigest()


async def _not_cached(node: Node, attachment: Attachment, reason: str) -> None:
    fetch = await fetch_of(node, attachment)
    assert fetch is not None and fetch.state == "failed", fetch and fetch.last_error
    assert reason in (fetch.last_error or "")
    await assert_linked(node, attachment)
    assert [p for p in node.settings.media_dir.rglob("*") if p.is_file()] == []


async def test_a_file_over_the_upload_limit_stays_linked(
    settings: Settings, mastodon: Mastodon
) -> None:
    small = replace(settings, limits=Limits(max_upload_bytes=len(PNG) - 1))
    node = await _open(small, mastodon)
    try:
        await caching(node)
        await _not_cached(node, await receive(node, create_with()), "too large")
    finally:
        await node.close()


@pytest.mark.parametrize(
    ("served", "reason"),
    [
        ((200, b"<html><script>alert(1)</script>", "text/html"), "not an accepted file type"),
        ((200, b"GIF89a not really a picture", "image/png"), "not a readable image"),
        ((200, b"MZ\x90\x00 a program", "application/pdf"), "does not look like a .pdf"),
        ((404, b"", "text/plain"), "answered 404"),
    ],
)
async def test_a_file_of_the_wrong_type_stays_linked(
    node: Node, mastodon: Mastodon, served: tuple[int, bytes, str], reason: str
) -> None:
    mastodon.files[PICTURE] = served
    await caching(node)
    await _not_cached(node, await receive(node, create_with()), reason)


async def test_a_private_address_is_refused_outside_development_mode(
    node: Node, mastodon: Mastodon
) -> None:
    inside = "https://10.1.2.3/media/6a0f.png"
    mastodon.files[inside] = (200, PNG, "image/png")
    await caching(node)
    # The note arrives as in development (the fake hosts have no DNS), but the download runs
    # as in production: the safe client refuses the private address before connecting.
    await inbox.receive(node, "POST", "/inbox", *signed(create_with(inside)), None)
    await inbox.process_due(node)
    node.client.allow_private = False
    assert await remote_media.cache_due(node) == 1
    async with node.transaction() as tx:
        [attachment] = list(await tx.session.scalars(select(Attachment)))
    fetch = await fetch_of(node, attachment)
    assert fetch is not None and fetch.state == "failed"
    assert "private or reserved" in (fetch.last_error or "")
    assert attachment.storage_path is None and attachment.remote_url == inside
    assert inside not in mastodon.requested


async def _not_cached_at(node: Node, create: dict[str, Any], url: str, reason: str) -> None:
    attachment = await receive(node, create)
    fetch = await fetch_of(node, attachment)
    assert fetch is not None and fetch.state == "failed"
    assert reason in (fetch.last_error or "")
    assert attachment.storage_path is None and attachment.remote_url == url


async def test_a_domain_whose_rule_rejects_media_is_never_downloaded(
    node: Node, mastodon: Mastodon
) -> None:
    await caching(node)
    async with node.transaction() as tx:
        # Mastodon's reject_media: the author's domain (the rule covers its media subdomain).
        await policy.set_rule(tx, "test", "mastodon.example", "allow", reject_media=True)
    attachment = await receive(node, create_with())
    fetch = await fetch_of(node, attachment)
    assert fetch is not None and fetch.state == "failed"
    assert "media from mastodon.example is rejected" in (fetch.last_error or "")
    assert attachment.storage_path is None and PICTURE not in mastodon.requested
    # Pages do not even link it (node.policy.hides_media_of): the row is kept, the file hidden.
    page = await page_of(node, attachment)
    assert "media hidden by this server's policy" in page and PICTURE not in page


async def test_a_media_host_whose_rule_rejects_media_is_refused_on_the_way(
    node: Node, mastodon: Mastodon
) -> None:
    cdn = "https://cdn.example/6a0f.png"
    mastodon.files[cdn] = (200, PNG, "image/png")
    await caching(node)
    async with node.transaction() as tx:
        await policy.set_rule(tx, "test", "cdn.example", "limit", reject_media=True)
    await _not_cached_at(node, create_with(cdn), cdn, "media from cdn.example is rejected")
    assert cdn not in mastodon.requested


async def test_a_server_error_is_tried_again_then_the_copy_is_kept(
    node: Node, mastodon: Mastodon
) -> None:
    mastodon.files[PICTURE] = (503, b"", "text/plain")
    await caching(node)
    attachment = await receive(node, create_with())
    fetch = await fetch_of(node, attachment)
    assert fetch is not None and fetch.state == "queued" and fetch.attempts == 1
    assert "503" in (fetch.last_error or "")
    mastodon.files[PICTURE] = (200, PNG, "image/png")
    async with node.transaction() as tx:
        due = await tx.session.get(MediaFetch, fetch.id)
        assert due is not None
        due.next_attempt_at = tx.now()  # as if the retry delay had passed
    await worker.run_once(node)
    fetch = await fetch_of(node, attachment)
    assert fetch is not None and fetch.state == "cached" and fetch.attempts == 2


async def test_turning_the_cache_off_leaves_queued_files_linked(
    node: Node, mastodon: Mastodon
) -> None:
    await caching(node)
    await inbox.receive(node, "POST", "/inbox", *signed(create_with()), None)
    await inbox.process_due(node)
    # The administrator turns it off between the note's arrival and the worker's download.
    await caching(node, on=False)
    await worker.run_once(node)
    async with node.transaction() as tx:
        [attachment] = list(await tx.session.scalars(select(Attachment)))
        audit = [entry.detail for entry in await policy.audit_log(tx)]
    await _not_cached(node, attachment, "turned off")
    assert PICTURE not in mastodon.requested
    assert audit == ["on -> off", "off -> on"]
