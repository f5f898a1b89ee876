"""Following outward through the web UI, against a fake fediverse server on the node's HTTP client:
search, actor cards, follow and unfollow, the home timeline, remote actor pages, follow requests
of closed communities and the `rel="alternate"` links Mastodon's search follows."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from federation.signatures import HttpSignatureAuth
from node import communities, members, posts, worker
from node.runtime import Node, Tx, open_node
from node.settings import Settings
from storage.models import Actor, Post
from tests.web.conftest import CSRF, sign_in
from web.app import create_app

PASSWORD = "a long enough password"
AS2 = "https://www.w3.org/ns/activitystreams"
SOCIAL = "http://social.example"
ALTERNATE = re.compile(r'<link rel="alternate" type="application/activity\+json" href="([^"]+)">')


class Fediverse:
    """A small Mastodon-like server at social.example: WebFinger, actors, notes, a shared inbox."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.pem = (
            self.key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        self.documents: dict[str, dict[str, Any]] = {}
        self.received: list[tuple[httpx.Request, dict[str, Any]]] = []

    def add_actor(self, name: str, kind: str = "Person", **extra: Any) -> dict[str, Any]:
        uri = f"{SOCIAL}/users/{name}"
        self.documents[uri] = {
            "@context": [AS2, "https://w3id.org/security/v1"],
            "id": uri,
            "type": kind,
            "preferredUsername": name,
            "name": name.title(),
            "summary": "<p>Teaches physics<script>alert(1)</script></p>",
            "url": f"{SOCIAL}/@{name}",
            "icon": {"type": "Image", "url": f"{SOCIAL}/avatars/{name}.png"},
            "inbox": uri + "/inbox",
            "outbox": uri + "/outbox",
            "followers": uri + "/followers",
            "following": uri + "/following",
            "endpoints": {"sharedInbox": f"{SOCIAL}/inbox"},
            "publicKey": {"id": uri + "#main-key", "owner": uri, "publicKeyPem": self.pem},
            **extra,
        }
        return self.documents[uri]

    def signer(self, name: str) -> HttpSignatureAuth:
        return HttpSignatureAuth(f"{SOCIAL}/users/{name}#main-key", self.key)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.host != "social.example":
            raise httpx.ConnectError("name or service not known", request=request)
        if request.method == "POST":
            self.received.append((request, json.loads(request.content)))
            return httpx.Response(202)
        if request.url.path == "/.well-known/webfinger":
            resource = request.url.params.get("resource", "")
            name = resource.removeprefix("acct:").split("@")[0]
            uri = f"{SOCIAL}/users/{name}"
            if uri not in self.documents:
                return httpx.Response(404)
            jrd = {
                "subject": resource,
                "links": [{"rel": "self", "type": "application/activity+json", "href": uri}],
            }
            return httpx.Response(200, json=jrd, headers={"content-type": "application/jrd+json"})
        document = self.documents.get(str(request.url.copy_with(query=None)))
        if document is None:
            return httpx.Response(404)
        return httpx.Response(
            200, content=json.dumps(document), headers={"content-type": "application/activity+json"}
        )

    def inbox_of_type(self, kind: str) -> list[dict[str, Any]]:
        return [document for _, document in self.received if document.get("type") == kind]


@pytest.fixture
def fediverse() -> Fediverse:
    server = Fediverse()
    server.add_actor("zoe")
    server.add_actor("makers", kind="Group")
    server.documents[f"{SOCIAL}/collections/1"] = {
        "@context": AS2,
        "id": f"{SOCIAL}/collections/1",
        "type": "OrderedCollection",
        "totalItems": 0,
    }
    server.documents[f"{SOCIAL}/notes/1"] = {
        "@context": AS2,
        "id": f"{SOCIAL}/notes/1",
        "type": "Note",
        "attributedTo": f"{SOCIAL}/users/zoe",
        "content": "<p>hello from a pasted URL</p>",
        "to": [f"{AS2}#Public"],
        "license": "https://creativecommons.org/licenses/by/4.0/",
    }
    return server


@pytest.fixture
async def linked(settings: Settings, fediverse: Fediverse) -> AsyncIterator[Node]:
    """A node in development mode whose outbound HTTP reaches only the fake server."""
    transport = httpx.MockTransport(fediverse.handle)
    running = await open_node(
        replace(settings, dev=True), http=httpx.AsyncClient(transport=transport)
    )
    async with running.transaction() as tx:
        await members.add(tx, "ana", display_name="Ana", role="admin", password=PASSWORD)
        await members.add(tx, "ben", display_name="Ben", password=PASSWORD)
        await communities.add(tx, "robotics", title="Robotics", default_license="CC-BY-SA-4.0")
        await communities.add(tx, "staffroom", title="Staff room", closed=True)
    yield running
    await running.close()


Browser = Callable[[str], Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def browser(linked: Node) -> AsyncIterator[Browser]:
    """Signed-in web clients (one per member) on one app over the linked node."""
    app = create_app(node=linked)
    opened: list[httpx.AsyncClient] = []

    async def signed_in(name: str) -> httpx.AsyncClient:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=linked.settings.base_url
        )
        opened.append(client)
        if name:
            assert (await sign_in(client, name, PASSWORD)).status_code == 303
        return client

    yield signed_in
    for client in opened:
        await client.aclose()


def _token(page: httpx.Response) -> str:
    match = CSRF.search(page.text)
    assert match, page.text
    return match.group(1)


def _form_action(page: httpx.Response, action: str, uri: str) -> dict[str, str]:
    """The hidden fields of the form posting to `action` for this actor, as a browser sends."""
    for form in re.findall(
        r'<form method="post" action="([^"]+)"[^>]*>(.*?)</form>', page.text, re.S
    ):
        fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form[1]))
        if form[0] == action and fields.get("uri") == uri:
            return {k: v.replace("&amp;", "&") for k, v in fields.items()}
    raise AssertionError(f"no {action} form for {uri}")


async def _deliver(client: httpx.AsyncClient, fediverse: Fediverse, name: str, doc: Any) -> None:
    """POST an activity signed by a fake-server actor into the node's shared inbox."""
    response = await client.post(
        "/inbox",
        content=json.dumps(doc).encode(),
        headers={"content-type": "application/activity+json"},
        auth=fediverse.signer(name),
    )
    assert response.status_code == 202, response.text


async def test_search_a_remote_handle_follow_and_get_accepted(
    linked: Node, browser: Browser, fediverse: Fediverse
) -> None:
    ana = await browser("ana")
    zoe = f"{SOCIAL}/users/zoe"
    found = await ana.get("/search", params={"q": "@zoe@social.example"})
    assert found.status_code == 200
    assert "@zoe@social.example" in found.text and "Zoe" in found.text
    assert "Teaches physics" in found.text and "<script>" not in found.text
    assert f'src="{SOCIAL}/avatars/zoe.png"' in found.text
    form = _form_action(found, "/follow", zoe)
    assert form["next"] == "/search?q=%40zoe%40social.example"

    followed = await ana.post("/follow", data=form)
    assert followed.status_code == 303 and followed.headers["location"] == form["next"]
    again = await ana.get(followed.headers["location"])
    assert "Requested" in again.text and "Follow request sent to Zoe" in again.text

    await worker.run_once(linked)
    ((request, follow),) = [(r, d) for r, d in fediverse.received if d["type"] == "Follow"]
    assert follow["actor"] == "https://school.example/members/ana" and follow["object"] == zoe
    assert str(request.url) == f"{SOCIAL}/inbox" and "signature" in request.headers

    accept = {"@context": AS2, "id": f"{zoe}#accepts/1", "type": "Accept", "actor": zoe,
              "object": follow}  # fmt: skip
    await _deliver(ana, fediverse, "zoe", accept)
    await worker.run_once(linked)
    following = await ana.get("/following")
    assert "Following" in following.text and "@zoe@social.example" in following.text
    unfollow = _form_action(following, "/unfollow", zoe)

    gone = await ana.post("/unfollow", data=unfollow)
    assert gone.status_code == 303
    assert "You do not follow anyone yet" in (await ana.get("/following")).text
    await worker.run_once(linked)
    (undo,) = fediverse.inbox_of_type("Undo")
    assert undo["object"]["id"] == follow["id"] and undo["object"]["type"] == "Follow"


@pytest.mark.parametrize(
    ("query", "status", "says"),
    [
        ("@someone@nowhere.example", 400, "cannot find acct:someone@nowhere.example"),
        ("@ghost@social.example", 400, "cannot find acct:ghost@social.example"),
        (f"{SOCIAL}/collections/1", 400, "neither a profile nor a post this node can read"),
        ("not a handle@", 400, "is not a handle"),
        ("nobody", 404, "no one called"),
    ],
)
async def test_failed_searches_explain_themselves(
    browser: Browser, query: str, status: int, says: str
) -> None:
    ana = await browser("ana")
    answer = await ana.get("/search", params={"q": query})
    assert answer.status_code == status
    assert says in answer.text.replace("&#39;", "'")
    assert 'role="alert"' in answer.text and 'name="q"' in answer.text


async def test_private_addresses_are_refused_outside_development(
    node: Node, client: httpx.AsyncClient
) -> None:
    async with node.transaction() as tx:
        await members.add(tx, "ana", password=PASSWORD)
    await sign_in(client, "ana", PASSWORD)
    for query in ("https://127.0.0.1/users/admin", "http://example.com/users/x", "@a@10.1.2.3"):
        answer = await client.get("/search", params={"q": query})
        assert answer.status_code == 400, query
        assert "private or reserved" in answer.text or "plain http" in answer.text


async def test_search_needs_a_member_and_resolves_local_names_and_posts(
    linked: Node, browser: Browser
) -> None:
    anonymous = await browser("")
    refused = await anonymous.get("/search", params={"q": "robotics"})
    assert refused.status_code == 303 and refused.headers["location"].startswith("/sign-in")

    ana = await browser("ana")
    assert (await ana.get("/search")).status_code == 200
    robotics = await ana.get("/search", params={"q": "@robotics"})
    assert "Robotics" in robotics.text and "0 followers · 0 following" in robotics.text
    _form_action(robotics, "/follow", "https://school.example/communities/robotics")
    own = await ana.get("/search", params={"q": "ana@school.example"})
    assert "@ana@school.example" in own.text and 'action="/follow"' not in own.text

    async with linked.transaction() as tx:
        post = await posts.create(tx, await members.get(tx, "ben"), posts.Draft("Gears!"))
    found = await ana.get("/search", params={"q": post.uri})
    assert found.status_code == 200
    assert f'href="/posts/{post.key}"' in found.text and "Gears!" in found.text

    # A post from elsewhere is fetched from its server and kept; its author can be followed.
    pasted = await ana.get("/search", params={"q": f"{SOCIAL}/notes/1"})
    assert pasted.status_code == 200 and "hello from a pasted URL" in pasted.text
    key = re.search(r'<a href="/posts/([0-9a-f]+)">Open this post here', pasted.text)
    assert key
    _form_action(pasted, "/follow", f"{SOCIAL}/users/zoe")
    thread = await ana.get(f"/posts/{key.group(1)}")
    assert "hello from a pasted URL" in thread.text and "CC BY 4.0" in thread.text


async def _remote_post(tx: Tx, author_uri: str, text: str, **columns: Any) -> Post:
    author = await tx.session.scalar(select(Actor).where(Actor.uri == author_uri))
    assert author is not None
    key = f"remote{abs(hash(text)) % 10**9}"
    post = Post(key=key, uri=f"{SOCIAL}/notes/{key}", local=False, author_id=author.id,
                content_html=f"<p>{text}</p>", source=text, license="CC-BY-4.0",
                published_at=tx.now(), **columns)  # fmt: skip
    tx.session.add(post)
    return post


async def test_home_timeline_shows_followed_posts_with_author_licence_and_thread(
    linked: Node, browser: Browser, fediverse: Fediverse
) -> None:
    ana = await browser("ana")
    assert (await ana.get("/home")).status_code == 200
    page = await ana.get("/search", params={"q": "@zoe@social.example"})
    await ana.post("/follow", data=_form_action(page, "/follow", f"{SOCIAL}/users/zoe"))
    await worker.run_once(linked)
    (follow,) = fediverse.inbox_of_type("Follow")
    accept = {"@context": AS2, "id": f"{SOCIAL}/accepts/2", "type": "Accept",
              "actor": f"{SOCIAL}/users/zoe", "object": follow["id"]}  # fmt: skip
    await _deliver(ana, fediverse, "zoe", accept)
    await worker.run_once(linked)
    robotics_page = await ana.get("/communities/robotics")
    await ana.post(
        "/follow",
        data=_form_action(robotics_page, "/follow", "https://school.example/communities/robotics"),
    )
    async with linked.transaction() as tx:
        ben = await members.get(tx, "ben")
        robotics = await communities.get(tx, "robotics")
        await posts.create(tx, ben, posts.Draft("Ben off-topic"))
        thread = await posts.create(tx, ben, posts.Draft("Ben in robotics", community=robotics))
        await _remote_post(tx, f"{SOCIAL}/users/zoe", "Zoe says hi")
        await _remote_post(tx, f"{SOCIAL}/users/zoe", "Zoe to followers", visibility="followers")
        await _remote_post(tx, f"{SOCIAL}/users/zoe", "Zoe deleted", deleted_at=tx.now())

    home = await ana.get("/home")
    assert home.status_code == 200
    shown = re.findall(r"<p>(Zoe[^<]*|Ben[^<]*)</p>", home.text)
    assert shown == ["Zoe to followers", "Zoe says hi", "Ben in robotics"]
    assert 'href="https://creativecommons.org/licenses/by/4.0/"' in home.text
    assert 'href="https://creativecommons.org/licenses/by-sa/4.0/"' in home.text
    assert f'href="/posts/{thread.key}"' in home.text and "Zoe" in home.text
    assert (await ana.get("/home", params={"before": "soon"})).status_code == 400

    async with linked.transaction() as tx:
        ben, robotics = await members.get(tx, "ben"), await communities.get(tx, "robotics")
        for n in range(35):
            await posts.create(tx, ben, posts.Draft(f"Ben number {n}", community=robotics))
    first = await ana.get("/home")
    older = re.search(r'href="/home\?before=(\d+)" rel="next"', first.text)
    assert older and "Ben number 34" in first.text and "Ben number 4<" not in first.text
    second = await ana.get("/home", params={"before": older.group(1)})
    assert "Ben number 4<" in second.text and "Zoe says hi" in second.text
    assert "Ben number 34" not in second.text and 'rel="next"' not in second.text

    anonymous = await browser("")
    assert (await anonymous.get("/home")).headers["location"].startswith("/sign-in")


async def test_remote_actor_pages_show_the_cached_profile_and_listed_posts(
    linked: Node, browser: Browser
) -> None:
    ana = await browser("ana")
    await ana.get("/search", params={"q": "@zoe@social.example"})
    async with linked.transaction() as tx:
        await _remote_post(tx, f"{SOCIAL}/users/zoe", "Zoe in public")
        await _remote_post(tx, f"{SOCIAL}/users/zoe", "Zoe whispers", visibility="direct")
    anonymous = await browser("")
    for client in (ana, anonymous):
        for path in (f"/actors?uri={quote(SOCIAL + '/users/zoe')}", "/@zoe@social.example"):
            page = await client.get(path)
            assert page.status_code == 200, path
            assert "Zoe in public" in page.text and "Zoe whispers" not in page.text
            assert ALTERNATE.findall(page.text) == [f"{SOCIAL}/users/zoe"]
    assert 'action="/follow"' in (await ana.get("/@zoe@social.example")).text
    assert "Sign in to follow" in (await anonymous.get("/@zoe@social.example")).text

    assert (await anonymous.get("/@ana")).headers["location"] == "/members/ana"
    assert (await anonymous.get("/@robotics@school.example")).headers[
        "location"
    ] == "/communities/robotics"
    assert (await anonymous.get("/@nobody@social.example")).status_code == 404
    unknown = await ana.get("/@nobody@social.example")
    assert unknown.status_code == 303
    assert parse_qs(urlsplit(unknown.headers["location"]).query) == {
        "q": ["@nobody@social.example"]
    }


async def test_closed_community_stewards_approve_and_reject_follow_requests(
    linked: Node, browser: Browser, fediverse: Fediverse
) -> None:
    ana, ben = await browser("ana"), await browser("ben")
    staffroom = "https://school.example/communities/staffroom"
    await ana.get("/search", params={"q": "@zoe@social.example"})  # zoe is known here
    follow = {"@context": AS2, "id": f"{SOCIAL}/follows/9", "type": "Follow",
              "actor": f"{SOCIAL}/users/zoe", "object": staffroom}  # fmt: skip
    await _deliver(ben, fediverse, "zoe", follow)
    await worker.run_once(linked)
    page = await ben.get("/communities/staffroom")
    asked = await ben.post("/follow", data=_form_action(page, "/follow", staffroom))
    assert "Requested" in (await ben.get(asked.headers["location"])).text

    assert (await ben.get("/communities/staffroom/requests")).status_code == 403
    assert 'href="/communities/staffroom/requests"' in (await ana.get(page.url.path)).text
    waiting = await ana.get("/communities/staffroom/requests")
    assert waiting.status_code == 200
    ids = re.findall(r'action="/communities/staffroom/requests/(\d+)"', waiting.text)
    assert len(ids) == 2 and "@zoe@social.example" in waiting.text and "@ben@" in waiting.text
    token = _token(waiting)
    forged = await ben.post(
        f"/communities/staffroom/requests/{ids[0]}",
        data={"csrf_token": _token(page), "action": "approve"},
    )
    assert forged.status_code == 403
    approved = await ana.post(
        f"/communities/staffroom/requests/{ids[0]}", data={"csrf_token": token, "action": "approve"}
    )
    assert approved.status_code == 303
    rejected = await ana.post(
        f"/communities/staffroom/requests/{ids[1]}", data={"csrf_token": token, "action": "reject"}
    )
    assert rejected.status_code == 303
    assert "No one is waiting" in (await ana.get("/communities/staffroom/requests")).text
    again = await ana.post(
        f"/communities/staffroom/requests/{ids[0]}", data={"csrf_token": token, "action": "reject"}
    )
    assert again.status_code == 404

    await worker.run_once(linked)
    (accept,) = fediverse.inbox_of_type("Accept")
    assert accept["actor"] == staffroom and accept["object"]["id"] == follow["id"]
    assert "Declined" in (await ben.get("/following")).text


async def test_follow_forms_need_csrf_and_only_redirect_within_the_site(browser: Browser) -> None:
    ana = await browser("ana")
    page = await ana.get("/members/ben")
    form = _form_action(page, "/follow", "https://school.example/members/ben")
    assert (await ana.post("/follow", data={**form, "csrf_token": "forged"})).status_code == 403
    bounced = await ana.post("/follow", data={**form, "next": "//evil.example/"})
    assert bounced.headers["location"] == "/following"
    assert "Unfollow" in (await ana.get("/members/ben")).text
    assert (await ana.post("/follow", data=form)).status_code == 409
    assert 'action="/follow"' not in (await ana.get("/members/ana")).text  # not oneself


async def test_pages_link_their_activitypub_documents(linked: Node, browser: Browser) -> None:
    async with linked.transaction() as tx:
        post = await posts.create(tx, await members.get(tx, "ana"), posts.Draft("Linked"))
    anonymous = await browser("")
    for path, uri in (
        ("/members/ana", "https://school.example/members/ana"),
        ("/communities/robotics", "https://school.example/communities/robotics"),
        (f"/posts/{post.key}", post.uri),
    ):
        page = await anonymous.get(path)
        assert ALTERNATE.findall(page.text) == [uri], path
        # What Mastodon's FetchResourceService does next: fetch the link as AS2.
        document = await anonymous.get(
            urlsplit(uri).path, headers={"accept": "application/activity+json"}
        )
        assert document.json()["id"] == uri
