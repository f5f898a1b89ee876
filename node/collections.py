"""The paged collections of local actors: outbox, followers, following and featured."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from node import documents, follows, portfolios
from node.errors import InvalidInput
from node.runtime import Tx
from storage.models import Actor, OutboxActivity

PAGE_SIZE = 20
NAMES = ("outbox", "followers", "following", "featured")


def _page_number(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isdigit() or not 1 <= int(value) <= 100_000:
        raise InvalidInput("page must be a positive number")
    return int(value)


async def collection(tx: Tx, actor: Actor, name: str, page: str | None) -> dict[str, Any]:
    """The collection's front page, or one numbered page of it."""
    uri = f"{actor.uri}/{name}"
    number = _page_number(page)
    if name == "featured":
        # The portfolio's public posts, inline and unpaged, as Mastodon serves its own.
        return await portfolios.featured_collection(tx, actor)
    if name == "outbox":
        total = int(
            await tx.session.scalar(
                select(func.count(OutboxActivity.id)).where(
                    OutboxActivity.actor_id == actor.id, OutboxActivity.public.is_(True)
                )
            )
            or 0
        )
    else:
        total = await follows.count(tx, actor, followers=name == "followers")
    if number is None:
        return documents.ordered_collection(uri, total, f"{uri}?page=1" if total else None)
    offset = (number - 1) * PAGE_SIZE
    items: list[Any]
    if name == "outbox":
        rows = await tx.session.scalars(
            select(OutboxActivity)
            .where(OutboxActivity.actor_id == actor.id, OutboxActivity.public.is_(True))
            .order_by(OutboxActivity.id.desc())
            .offset(offset)
            .limit(PAGE_SIZE)
        )
        items = [{k: v for k, v in row.raw.items() if k != "@context"} for row in rows]
    else:
        items = await follows.page(
            tx, actor, followers=name == "followers", offset=offset, limit=PAGE_SIZE
        )
    more = offset + len(items) < total
    return documents.collection_page(
        f"{uri}?page={number}", uri, items, f"{uri}?page={number + 1}" if more else None
    )
