"""Remote media: other servers' attachments, linked where they live or copied here when cached.

Off (the default), a remote post's files are linked, never hot-copied (issue 3 §9). When the
administrator turns the cache on (node.policy.set_media_cache), every remote attachment stored
from then on is queued, and the worker downloads it through the safe client: bounded by the
node's upload limit, only the types members may upload, private addresses refused outside
development mode, every redirect hop re-checked against the federation policy, and nothing
from a domain whose rule rejects media. The bytes are sniffed as uploads are (node.media.sniff)
before they are kept; pages then serve the copy. A failure leaves the link.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta
from pathlib import PurePath

from sqlalchemy import func, select, update

from federation.client import FetchError
from federation.domains import DomainError, authority_of
from node import media, policy
from node.errors import InvalidInput
from node.runtime import Node, Tx
from storage.models import Attachment, MediaFetch

log = logging.getLogger("guildhall.remote_media")

# What a cached file may be: the images and documents members may upload (node.media).
SUFFIXES = {
    **{media_type: "." + fmt.lower() for fmt, media_type in media.IMAGE_FORMATS.items()},
    **{media_type: suffix for suffix, (media_type, _magic) in media.DOCUMENT_TYPES.items()},
}
ACCEPTED = frozenset(SUFFIXES)
BATCH = 5
CLAIM_LEASE = timedelta(minutes=5)
# A network error or a 5xx is tried again twice; anything else is final and the link stays.
RETRY_AFTER = (timedelta(minutes=5), timedelta(hours=1))


async def queue(tx: Tx, attachments: list[Attachment]) -> int:
    """Queue freshly stored remote attachments for download if this node caches remote media."""
    remote = [a for a in attachments if a.remote_url and a.storage_path is None]
    if not remote or not (await policy.current(tx)).cache_remote_media:
        return 0
    now = tx.now()
    for attachment in remote:
        tx.session.add(
            MediaFetch(attachment_id=attachment.id, next_attempt_at=now, created_at=now)
        )
    await tx.session.flush()
    return len(remote)


def _refusal(rules: policy.Policy, url: str) -> str | None:
    """Why the policy forbids taking media from this URL's domain, or None."""
    decision = rules.decide_url(url)
    if not decision.permitted:
        return decision.reason
    if decision.reject_media:
        try:
            domain = authority_of(url)
        except DomainError as exc:
            return exc.reason
        return f"media from {domain} is rejected by the federation policy"
    return None


async def _claim(node: Node, limit: int) -> list[tuple[int, datetime]]:
    async with node.transaction() as tx:
        now = tx.now()
        due = list(
            await tx.session.scalars(
                select(MediaFetch.id)
                .where(MediaFetch.state == "queued", MediaFetch.next_attempt_at <= now)
                .order_by(MediaFetch.next_attempt_at, MediaFetch.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        lease = now + CLAIM_LEASE
        if due:
            await tx.session.execute(
                update(MediaFetch)
                .where(MediaFetch.id.in_(due))
                .values(next_attempt_at=lease)
                .execution_options(synchronize_session=False)
            )
    return [(fetch_id, lease) for fetch_id in due]


async def _claimed(tx: Tx, fetch_id: int, lease: datetime) -> MediaFetch | None:
    # Still ours only if no other worker took it over after our lease ran out.
    fetch = await tx.session.get(MediaFetch, fetch_id, with_for_update=True)
    if fetch is None or fetch.state != "queued" or fetch.next_attempt_at != lease:
        return None
    return fetch


def _give_up(tx: Tx, fetch: MediaFetch, reason: str) -> None:
    fetch.state = "failed"
    fetch.last_error = reason[:1000]
    fetch.finished_at = tx.now()


async def _download(node: Node, fetch_id: int, lease: datetime, rules: policy.Policy) -> str:
    """Download one claimed attachment; returns the outcome (cached, retry, failed, lost)."""
    async with node.transaction() as tx:
        fetch = await _claimed(tx, fetch_id, lease)
        if fetch is None:
            return "lost"
        attachment = await tx.session.get(Attachment, fetch.attachment_id)
        refusal = None
        if not rules.cache_remote_media:
            refusal = "the media cache was turned off before the download"
        elif attachment is None or attachment.remote_url is None:
            refusal = "the attachment is gone"
        else:
            # Mastodon's ActivityPub::Activity::Create#skip_download?: reject_media of the
            # author's domain; the file's own host (often a CDN) is checked on each hop below.
            refusal = _refusal(rules, attachment.author.uri)
        if refusal is not None or attachment is None or attachment.remote_url is None:
            _give_up(tx, fetch, refusal or "nothing to download")
            return "failed"
        url, file_name = attachment.remote_url, attachment.file_name
        fetch.attempts += 1
    limit = node.settings.limits.max_upload_bytes
    relative: str | None = None
    try:
        _final, media_type, data = await node.client.get_media(
            url, max_bytes=limit, media_types=ACCEPTED, permit=lambda hop: _refusal(rules, hop)
        )
        # The bytes decide, as for uploads: a "PNG" that is not one is refused here.
        real_type, width, height = media.sniff("remote" + SUFFIXES[media_type], data)
        key = secrets.token_hex(10)
        relative = media.write_file(node.settings.media_dir, key, data)
    except FetchError as exc:
        return await _failed(node, fetch_id, lease, exc.reason, _transient(exc))
    except InvalidInput as exc:
        return await _failed(node, fetch_id, lease, exc.reason, False)
    async with node.transaction() as tx:
        fetch = await _claimed(tx, fetch_id, lease)
        attachment = await tx.session.get(Attachment, fetch.attachment_id) if fetch else None
        if fetch is None or attachment is None:
            (node.settings.media_dir / relative).unlink(missing_ok=True)
            return "lost"
        attachment.storage_path = relative
        attachment.media_type = real_type
        attachment.size_bytes = len(data)
        attachment.sha256 = hashlib.sha256(data).hexdigest()
        if width and height:
            attachment.width, attachment.height = width, height
        if PurePath(file_name).suffix.lower() != SUFFIXES[real_type]:
            # The file is served under its name: give it the extension its bytes have.
            attachment.file_name = PurePath(file_name).stem[:200] + SUFFIXES[real_type]
        fetch.state = "cached"
        fetch.last_error = None
        fetch.finished_at = tx.now()
    return "cached"


def _transient(exc: FetchError) -> bool:
    """A network failure, 429 or 5xx: worth another try; a refusal or a 4xx is not."""
    if exc.status is None:
        return exc.reason.startswith(("cannot fetch", "cannot resolve"))
    return exc.status == 429 or exc.status >= 500


async def _failed(node: Node, fetch_id: int, lease: datetime, reason: str, again: bool) -> str:
    async with node.transaction() as tx:
        fetch = await _claimed(tx, fetch_id, lease)
        if fetch is None:
            return "lost"
        if again and fetch.attempts <= len(RETRY_AFTER):
            fetch.next_attempt_at = tx.now() + RETRY_AFTER[fetch.attempts - 1]
            fetch.last_error = reason[:1000]
            return "retry"
        log.info("remote media %s not cached: %s", fetch.attachment_id, reason)
        _give_up(tx, fetch, reason)
        return "failed"


async def cache_due(node: Node, limit: int = BATCH) -> int:
    """Download the queued remote attachments that are due; returns how many were tried."""
    claimed = await _claim(node, limit)
    if not claimed:
        return 0
    async with node.transaction() as tx:
        rules = await policy.current(tx)
    for fetch_id, lease in claimed:
        await _download(node, fetch_id, lease, rules)
    return len(claimed)


async def summary(tx: Tx) -> dict[str, int]:
    """How many remote attachments are queued, cached and failed."""
    rows = await tx.session.execute(
        select(MediaFetch.state, func.count()).group_by(MediaFetch.state)
    )
    return {state: count for state, count in rows.all()}
