"""Awards: issuing a community's signed Open Badges 3.0 credential to a person, revoking it, and
the award notes that carry it on the fediverse both ways.

An award is an `OpenBadgeCredential` issued by the community's Group actor and signed with its
Ed25519 key (`eddsa-rdfc-2022`); it travels inside a `Note` the community publishes (DESIGN.md §6).
"""

from __future__ import annotations

import html
import logging
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from federation import badges as ob3
from federation import status_list
from federation.domains import same_origin
from federation.media_types import AS2_CONTEXT
from federation.vocabulary import as_list, id_of, types_of
from node import (
    achievements,
    credentials,
    delivery,
    follows,
    members,
    proofs,
    remote_actors,
    status_lists,
    verification,
)
from node.credentials import VC_JSON, CredentialInvalid, invalid
from node.documents import EXTENSIONS
from node.errors import Forbidden, GuildhallError, InvalidInput, NotFound
from node.incoming import Ignored, Incoming
from node.licences import optional_licence
from node.runtime import Tx
from storage.models import Achievement, Actor, Award, Member

log = logging.getLogger("guildhall.badges")

DATA_INTEGRITY_CONTEXT = "https://w3id.org/security/data-integrity/v2"
# The award note embeds the credential as an opaque JSON literal (JSON-LD 1.1 `@json`), so AS2
# processors neither expand nor re-serialise it and its proof survives the trip byte for byte.
CREDENTIAL_TERM = "verifiableCredential"
NOTE_CONTEXT: list[Any] = [
    AS2_CONTEXT,
    DATA_INTEGRITY_CONTEXT,
    {
        **EXTENSIONS,
        CREDENTIAL_TERM: {
            "@id": "https://www.w3.org/2018/credentials#verifiableCredential",
            "@type": "@json",
        },
    },
]
MAX_EVIDENCE = 10


def award_url(tx: Tx, award: Award) -> str:
    """The local page (and award note) of an award."""
    return tx.settings.url(f"/awards/{award.key}")


def checked_evidence(urls: Sequence[str], allow_http: bool) -> list[str]:
    """Evidence links without blanks: web addresses, at most MAX_EVIDENCE of them."""
    cleaned = []
    for url in urls:
        url = url.strip()
        if not url:
            continue
        parts = urlsplit(url)
        schemes = ("https", "http") if allow_http else ("https",)
        if parts.scheme not in schemes or not parts.hostname or len(url) > 2048:
            raise InvalidInput(f"evidence must be a web address ({' or '.join(schemes)}): {url!r}")
        cleaned.append(url)
    if len(cleaned) > MAX_EVIDENCE:
        raise InvalidInput(f"at most {MAX_EVIDENCE} pieces of evidence")
    return cleaned


async def recipient_by_handle(tx: Tx, handle: str) -> Actor:
    """A recipient from a handle: a bare name is a member here, `@name@host` anyone anywhere."""
    handle = handle.strip()
    if handle and "@" not in handle.lstrip("@") and "/" not in handle:
        return (await members.get(tx, handle)).actor
    return await remote_actors.lookup(tx, handle)


async def award(
    tx: Tx,
    acting: Member | None,
    achievement: Achievement,
    recipient: Actor,
    *,
    evidence: Sequence[str] = (),
    valid_until: datetime | None = None,
) -> Award:
    """Issue, sign and publish a credential awarding `achievement` to `recipient`."""
    community = achievement.community
    await achievements.require_awarder(tx, community, acting)
    if recipient.kind != "person":
        raise InvalidInput("badges are awarded to people, not to groups or servers")
    evidence_urls = checked_evidence(evidence, tx.settings.dev)
    now = tx.now()
    if valid_until is not None and valid_until <= now:
        raise InvalidInput("a badge cannot expire before it is awarded")
    key = secrets.token_hex(8)
    index = await status_lists.free_index(tx, community)
    status_url = status_lists.status_list_url(tx, community)
    # The status list is published before any credential points at it.
    await status_lists.status_list_document(tx, community)
    unsigned = ob3.open_badge_credential(
        credentials.credential_url(tx, key),
        achievements.issuer_profile(tx, community),
        recipient.uri,
        achievements.achievement_body(tx, achievement),
        now,
        name=achievement.name,
        description=f"{achievement.name}, awarded by {community.title} to {recipient.label}",
        valid_until=valid_until,
        evidence=[ob3.evidence_item(url) for url in evidence_urls],
        credential_status=status_list.status_entry(status_url, index),
    )
    credential = credentials.sign(tx, community, unsigned)
    try:
        summary = ob3.read_credential(credential, allow_http=tx.settings.dev)
    except ob3.BadgeError as exc:  # our own builder went wrong: refuse rather than publish
        raise InvalidInput(f"the credential is malformed: {exc.reason}") from exc
    record = Award(
        key=key,
        local=True,
        note_uri=tx.settings.url(f"/awards/{key}"),
        credential_uri=summary.id,
        achievement_id=achievement.id,
        community_id=community.id,
        issuer_id=community.actor_id,
        recipient_id=recipient.id,
        awarded_by_id=acting.actor_id if acting is not None else None,
        evidence_urls=evidence_urls,
        credential=credential,
        status_index=index,
        revocation_reason="",
        valid_from=summary.valid_from,
        valid_until=summary.valid_until,
        created_at=now,
    )
    tx.session.add(record)
    await tx.session.flush()
    await tx.session.refresh(record, ["achievement", "community", "issuer", "recipient"])
    await _publish(tx, record, "Create", award_note(tx, record))
    return record


async def signed_award_note(tx: Tx, record: Award) -> dict[str, Any]:
    """The award note as served at its address, with the community's FEP-8b32 proof."""
    community = record.community
    assert community is not None
    return await proofs.sign(tx, community.actor, award_note(tx, record), record.created_at)


def award_note(tx: Tx, record: Award) -> dict[str, Any]:
    """The `Note` announcing an award: Mastodon shows its text, mention and badge image."""
    achievement, community, recipient = record.achievement, record.community, record.recipient
    assert achievement is not None and community is not None
    page = award_url(tx, record)
    credential = credentials.credential_url(tx, record.key)
    chosen = optional_licence(achievement.image_license)
    image_credit = (
        f"Badge image: {achievement.name} by {achievement.image_author}, "
        + (f'<a href="{html.escape(chosen.url)}" rel="license">{html.escape(chosen.name)}</a>'
           if chosen else "all rights reserved")
    )  # fmt: skip
    mention = (
        f'<span class="h-card"><a href="{html.escape(recipient.url or recipient.uri)}" '
        f'class="u-url mention">@<span>{html.escape(recipient.name)}</span></a></span>'
    )
    content = (
        f"<p>{mention} earned the badge "
        f'<a href="{html.escape(achievements.achievement_url(tx, achievement))}">'
        f"{html.escape(achievement.name)}</a> from {html.escape(community.title)}.</p>"
        f"<p>{html.escape(achievement.description)}</p>"
        f'<p><a href="{html.escape(page)}">Verify this Open Badge</a> · signed credential: '
        f'<a href="{html.escape(credential)}">{html.escape(credential)}</a></p>'
        f"<p>{image_credit}</p>"
    )
    attachments: list[dict[str, Any]] = []
    picture = achievements.image_url(tx, achievement)
    if picture is not None:
        image: dict[str, Any] = {
            "type": "Image",
            "mediaType": achievement.image_media_type,
            "url": picture,
            "name": f"Badge: {achievement.name}",
            "attributedTo": community.actor.uri,
        }
        if chosen is not None:
            image["license"] = chosen.url
        attachments.append(image)
    attachments.append(
        {"type": "Link", "mediaType": VC_JSON, "href": credential, "name": "Open Badge credential"}
    )
    return {
        "@context": NOTE_CONTEXT,
        "id": record.note_uri,
        "type": "Note",
        "attributedTo": community.actor.uri,
        "content": content,
        "published": record.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "url": page,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": [community.actor.followers_uri, recipient.uri],
        "tag": [{"type": "Mention", "href": recipient.uri, "name": f"@{recipient.handle}"}],
        "attachment": attachments,
        CREDENTIAL_TERM: record.credential,
    }


async def _publish(tx: Tx, record: Award, kind: str, obj: dict[str, Any]) -> None:
    """Send an activity about an award from the community, with an FEP-8b32 proof."""
    community = record.community
    assert community is not None
    actor = community.actor
    body = {key: value for key, value in obj.items() if key != "@context"}
    activity: dict[str, Any] = {
        "@context": NOTE_CONTEXT,
        "id": delivery.new_activity_uri(tx, actor),
        "type": kind,
        "actor": actor.uri,
        "object": body,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": [actor.followers_uri, record.recipient.uri],
    }
    # FEP-8b32: eddsa-jcs-2022 proofs on the note and on the activity (node.proofs), so a relay
    # cannot alter the award; the credential inside keeps its own eddsa-rdfc-2022 proof.
    signed = await proofs.sign(tx, actor, activity)
    recipients = [record.recipient, *await follows.remote_followers(tx, actor)]
    await delivery.publish(tx, actor, signed, recipients=recipients)


async def get_award(tx: Tx, key: str) -> Award:
    """The award with this public key, or NotFound."""
    record = await tx.session.scalar(select(Award).where(Award.key == key))
    if record is None:
        raise NotFound("no such award here")
    return record


async def awards_of(tx: Tx, recipient: Actor, *, include_revoked: bool = False) -> list[Award]:
    """The badges an actor holds (issued here or received and verified), newest first."""
    query = select(Award).where(Award.recipient_id == recipient.id)
    if not include_revoked:
        query = query.where(Award.revoked_at.is_(None))
    return list(await tx.session.scalars(query.order_by(Award.created_at.desc(), Award.id.desc())))


async def awards_of_achievement(tx: Tx, achievement: Achievement) -> list[Award]:
    """Everyone who holds an achievement, newest first."""
    return list(
        await tx.session.scalars(
            select(Award)
            .where(Award.achievement_id == achievement.id)
            .order_by(Award.created_at.desc(), Award.id.desc())
        )
    )


async def revoke(tx: Tx, acting: Member | None, record: Award, reason: str) -> Award:
    """Revoke an award: set its status bit, re-sign the status list, withdraw the note."""
    if not record.local or record.community is None:
        raise Forbidden("only the community that issued a badge can revoke it")
    await achievements.require_awarder(tx, record.community, acting)
    reason = reason.strip()
    if not reason or len(reason) > 1000:
        raise InvalidInput("say why the badge is revoked (at most 1000 characters)")
    if record.revoked_at is not None:
        raise InvalidInput("this badge is already revoked")
    record.revoked_at = tx.now()
    record.revocation_reason = reason
    await tx.session.flush()
    await status_lists.publish(tx, record.community)
    # Mastodon removes a status on Delete (ActivityPub::Activity::Delete); the credential itself
    # stays published, and its status bit is what verifiers check.
    await _publish(tx, record, "Delete", {"id": record.note_uri, "type": "Tombstone"})
    return record


async def receive_award(tx: Tx, incoming: Incoming, note: Mapping[str, Any]) -> Award:
    """Store a badge announced by an inbound award note, once its credential verifies.

    Invalid awards raise Ignored with the reason (the inbox keeps it, and it is logged).
    """
    credential = note.get(CREDENTIAL_TERM)
    if isinstance(credential, dict) and set(credential) == {"@value", "@type"}:
        credential = credential["@value"]  # an expanded @json literal
    note_id = id_of(dict(note))
    if not isinstance(credential, dict) or not note_id:
        raise Ignored("the note carries no Open Badges credential")
    try:
        summary = (await verification.verify(tx, credential)).summary
        if summary.issuer_id != incoming.actor.uri or id_of(note.get("attributedTo")) != (
            summary.issuer_id
        ):
            raise invalid("wrong issuer", "the note's sender did not issue the credential")
        if not same_origin(note_id, summary.issuer_id):
            raise invalid("wrong issuer", "the note does not live on the issuer's server")
        recipient = await tx.session.scalar(
            select(Actor).where(Actor.uri == summary.subject_id, Actor.local.is_(True))
        )
        if recipient is None:
            raise invalid("wrong recipient", f"{summary.subject_id} is not a member here")
        mentioned = {
            id_of(tag.get("href"))
            for tag in as_list(note.get("tag"))
            if isinstance(tag, dict) and "Mention" in types_of(tag)
        }
        if recipient.uri not in mentioned:
            raise invalid("wrong recipient", "the credential's subject is not the person mentioned")
    except CredentialInvalid as exc:
        log.warning("rejected award %s from %s: %s", note_id, incoming.actor.uri, exc.reason)
        raise Ignored(f"award rejected: {exc.reason}") from exc
    existing = await tx.session.scalar(select(Award).where(Award.credential_uri == summary.id))
    if existing is not None:
        return existing
    record = Award(
        key=secrets.token_hex(8),
        local=False,
        note_uri=note_id,
        credential_uri=summary.id,
        issuer_id=incoming.actor.id,
        recipient_id=recipient.id,
        evidence_urls=list(summary.evidence_urls),
        credential=credential,
        revocation_reason="",
        valid_from=summary.valid_from,
        valid_until=summary.valid_until,
        created_at=tx.now(),
    )
    tx.session.add(record)
    await tx.session.flush()
    return record


async def withdraw_received(tx: Tx, incoming: Incoming, note_uri: str) -> Award | None:
    """Mark a received badge revoked when its issuer deletes the award note (None: no award)."""
    # An issuer revoking a badge sends exactly this Delete (see `revoke`), and Mastodon removes
    # a status on Delete (ActivityPub::Activity::Delete): the badge leaves the profile and the
    # portfolio at once, and the issuer's status list tells revoked from merely withdrawn.
    record = await tx.session.scalar(
        select(Award).where(Award.note_uri == note_uri, Award.local.is_(False))
    )
    if record is None:
        return None
    if record.issuer_id != incoming.actor.id and not same_origin(note_uri, incoming.actor.uri):
        raise Ignored("only a badge's issuer or its server may withdraw it")
    if record.revoked_at is not None:
        return record
    issuer = credentials.summary_of(tx, record).issuer_name or record.issuer.handle
    reason = f"withdrawn by {issuer}: the award note was deleted"
    try:
        await verification.verify(tx, record.credential)
    except GuildhallError as exc:
        if exc.reason.startswith(("revoked", "suspended")):
            reason = f"revoked by {issuer}: its status list says so"
        else:
            log.info("withdrawn award %s no longer verifies: %s", note_uri, exc.reason)
    record.revoked_at = tx.now()
    record.revocation_reason = reason
    log.info("award %s to %s %s", note_uri, record.recipient.handle, reason)
    return record


async def withdraw_all_received(tx: Tx, issuer: Actor) -> int:
    """Mark every badge received from an issuer revoked (its account was deleted); how many."""
    withdrawn = 0
    for record in await tx.session.scalars(
        select(Award).where(
            Award.issuer_id == issuer.id, Award.local.is_(False), Award.revoked_at.is_(None)
        )
    ):
        # Its keys went with the account: nobody can verify these credentials any more.
        record.revoked_at = tx.now()
        record.revocation_reason = f"withdrawn: {issuer.handle} deleted its account"
        withdrawn += 1
    return withdrawn

