"""Who a member provably is: verified profile links, key fingerprints, aliases and moving away.

Profile links are verified as Mastodon does (VerifyLinkService): the linked page must link back
to the member's profile with `rel="me"` (an `<a>` or a `<link>`). The worker re-checks each link
periodically. Moving follows Mastodon too: the new account lists the old one in `alsoKnownAs`,
the old one sends `Move` to its followers, and their servers follow the new account instead.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import urljoin

import httpx
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select

from federation.client import USER_AGENT, FetchError, check_destination
from federation.vocabulary import ids_of
from node import delivery, documents, follows, remote_actors
from node.errors import InvalidInput
from node.incoming import Ignored, Incoming
from node.runtime import Node, Tx
from storage.models import Actor, Follow, LinkCheck, Member

RECHECK_VERIFIED = timedelta(days=7)
RECHECK_FAILED = timedelta(days=1)
MAX_PAGE_BYTES = 1024 * 1024  # Mastodon's VerifyLinkService reads at most 1 MB
MAX_REDIRECTS = 3
MAX_ALIASES = 5
BATCH = 10


@dataclass(frozen=True)
class Fingerprints:
    """What lets a person compare an actor's keys out of band."""

    rsa_sha256: str | None  # SHA-256 of the RSA public key's DER, as colon-separated hex
    ed25519: str | None  # the Ed25519 publicKeyMultibase


def fingerprints(actor: Actor) -> Fingerprints:
    """The fingerprints of an actor's HTTP Signature and object-proof keys."""
    rsa = None
    if actor.public_key_pem:
        der = serialization.load_pem_public_key(actor.public_key_pem.encode()).public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        digest = hashlib.sha256(der).hexdigest().upper()
        rsa = ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))
    return Fingerprints(rsa, actor.ed25519_public_multibase)


# --- rel="me" links --------------------------------------------------------------------------


class _MeLinks(HTMLParser):
    """Collects the href of every `<a>` and `<link>` whose rel contains `me`."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("a", "link"):
            return
        values = dict(attrs)
        if "me" in (values.get("rel") or "").lower().split() and values.get("href"):
            self.hrefs.append(str(values["href"]).strip())


def links_back(page: str, base_url: str, profile_urls: set[str]) -> bool:
    """Whether an HTML page links to one of the profile URLs with `rel="me"`."""
    parser = _MeLinks()
    parser.feed(page)
    wanted = {url.rstrip("/").lower() for url in profile_urls}
    return any(urljoin(base_url, href).rstrip("/").lower() in wanted for href in parser.hrefs)


async def _fetch_page(node: Node, url: str) -> tuple[str, str]:
    """A web page's final URL and text: every hop address-checked, bounded in size and time."""
    for _hop in range(MAX_REDIRECTS + 1):
        await check_destination(url, allow_private=node.settings.dev)
        try:
            async with node.http.stream(
                "GET",
                url,
                headers={"Accept": "text/html", "User-Agent": USER_AGENT},
                timeout=10.0,
            ) as response:
                if response.is_redirect and "location" in response.headers:
                    url = urljoin(url, response.headers["location"])
                    continue
                if response.status_code != 200:
                    raise FetchError(f"{url} answered {response.status_code}")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body.extend(chunk)
                    if len(body) > MAX_PAGE_BYTES:
                        break  # the back-link is usually in the head; read no further
                return url, bytes(body[:MAX_PAGE_BYTES]).decode(
                    response.encoding or "utf-8", "replace"
                )
        except httpx.HTTPError as exc:
            raise FetchError(f"cannot fetch {url}: {type(exc).__name__}") from exc
    raise FetchError(f"too many redirects from {url}")


async def schedule_links(tx: Tx, member: Member) -> list[LinkCheck]:
    """Keep one check per current profile link, new ones due now, removed ones forgotten."""
    current = [str(link["url"]) for link in member.profile_links]
    existing = {
        check.url: check
        for check in await tx.session.scalars(
            select(LinkCheck).where(LinkCheck.member_id == member.id)
        )
    }
    for url, check in existing.items():
        if url not in current:
            await tx.session.delete(check)
    for url in current:
        if url not in existing:
            existing[url] = LinkCheck(member_id=member.id, url=url, next_check_at=tx.now())
            tx.session.add(existing[url])
    await tx.session.flush()
    return [existing[url] for url in current]


async def verify_link(tx: Tx, member: Member, check: LinkCheck) -> bool:
    """Look for the back-link now and record the answer; True when the link is verified."""
    profile = {member.actor.uri, member.actor.url or member.actor.uri}
    check.checked_at = tx.now()
    try:
        final_url, page = await _fetch_page(tx.node, check.url)
        found = links_back(page, final_url, profile)
        check.last_error = None if found else f'no rel="me" link back to {member.actor.url}'
    except FetchError as exc:
        found, check.last_error = False, exc.reason[:1000]
    check.verified_at = tx.now() if found else None
    check.next_check_at = tx.now() + (RECHECK_VERIFIED if found else RECHECK_FAILED)
    return found


async def check_due(node: Node, limit: int = BATCH) -> int:
    """Re-check the profile links that are due (one indexed query when none are)."""
    async with node.transaction() as tx:
        due = list(
            await tx.session.scalars(
                select(LinkCheck.id)
                .where(LinkCheck.next_check_at <= tx.now())
                .order_by(LinkCheck.next_check_at)
                .limit(limit)
            )
        )
    for check_id in due:
        async with node.transaction() as tx:
            check = await tx.session.get(LinkCheck, check_id)
            member = await tx.session.get(Member, check.member_id) if check else None
            if check is None or member is None:
                continue
            if check.url not in [link["url"] for link in member.profile_links]:
                await tx.session.delete(check)  # the member removed the link meanwhile
                continue
            await verify_link(tx, member, check)
    return len(due)


async def verified_links(tx: Tx, member: Member) -> dict[str, datetime]:
    """The member's profile links currently verified, with when the back-link was last seen."""
    checks = await schedule_links(tx, member)
    return {check.url: check.verified_at for check in checks if check.verified_at is not None}


# --- aliases and moving ----------------------------------------------------------------------


async def set_aliases(tx: Tx, member: Member, handles: list[str]) -> list[str]:
    """Name the accounts this member also is (`alsoKnownAs`), so they may move here."""
    wanted = [h.strip() for h in handles if h.strip()]
    if len(wanted) > MAX_ALIASES:
        raise InvalidInput(f"at most {MAX_ALIASES} other accounts")
    uris: list[str] = []
    for handle in wanted:
        other = await remote_actors.lookup(tx, handle)
        if other.id == member.actor_id:
            raise InvalidInput("an account cannot be an alias of itself")
        uris.append(other.uri)
    member.actor.also_known_as = list(dict.fromkeys(uris)) or None
    member.actor.updated_at = tx.now()
    return uris


def aliases_of(actor: Actor) -> list[str]:
    """Who an actor says it also is: ours from the database, others' from their document."""
    if actor.local:
        return list(actor.also_known_as or [])
    return ids_of((actor.raw or {}).get("alsoKnownAs"))


async def move(tx: Tx, member: Member, target_handle: str) -> Actor:
    """Move this member's followers to another account that names this one as an alias."""
    target = await remote_actors.lookup(tx, target_handle)
    if not target.local:
        target = await remote_actors.fetch(tx, target.uri, refresh=True)
    old = member.actor
    if target.id == old.id:
        raise InvalidInput("an account cannot move to itself")
    if old.uri not in aliases_of(target):
        # Mastodon's Move handler checks the same before anyone is moved.
        raise InvalidInput(
            f"{target.handle} must first list this account ({old.handle}) as an alias "
            "(alsoKnownAs): set it on the new account, then move"
        )
    old.moved_to_uri = target.uri
    old.updated_at = tx.now()
    followers = await follows.remote_followers(tx, old)
    document = documents.activity(
        old, "Move", old.uri, delivery.new_activity_uri(tx, old), to=[old.followers_uri or ""]
    )
    document["target"] = target.uri
    await delivery.publish(tx, old, document, recipients=followers, public=False)
    # Our own members who followed the old account move along at once.
    for follower in await _local_followers(tx, old):
        await _refollow(tx, follower, old, target)
    return target


async def _local_followers(tx: Tx, actor: Actor) -> list[Actor]:
    return list(
        await tx.session.scalars(
            select(Actor)
            .join(Follow, Follow.follower_id == Actor.id)
            .where(Follow.followed_id == actor.id, Actor.local.is_(True))
        )
    )


async def _refollow(tx: Tx, follower: Actor, old: Actor, target: Actor) -> None:
    if await follows.find(tx, follower, target) is None and follower.id != target.id:
        await follows.follow(tx, follower, target)
    if await follows.find(tx, follower, old) is not None:
        await follows.unfollow(tx, follower, old)


async def on_move(tx: Tx, incoming: Incoming) -> None:
    """A followed account moved: its local followers follow the new one if it claims the old."""
    old = incoming.actor
    if incoming.object_id != old.uri:
        raise Ignored("only an account can move itself")
    target_uri = ids_of(incoming.document.get("target"))
    if not target_uri:
        raise Ignored("Move without a target")
    # Mastodon's ActivityPub::Activity::Move refetches the target and checks alsoKnownAs.
    target = await remote_actors.fetch(tx, target_uri[0], refresh=True)
    if old.uri not in aliases_of(target):
        raise Ignored(f"{target.uri} does not list {old.uri} in alsoKnownAs")
    old.moved_to_uri = target.uri
    for follower in await _local_followers(tx, old):
        await _refollow(tx, follower, old, target)
