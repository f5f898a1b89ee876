"""A community's revocation list: its signed Bitstring Status List credential and the indexes
its awards hold in it."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select

from federation import status_list
from node import credentials
from node.errors import InvalidInput
from node.runtime import Tx
from storage.models import Award, BadgeStatusList, Community


def status_list_url(tx: Tx, community: Community) -> str:
    """Where a community publishes its revocation status list credential."""
    return tx.settings.url(f"/communities/{community.actor.name}/badges/status")


async def _revoked_indices(tx: Tx, community: Community) -> set[int]:
    rows = await tx.session.scalars(
        select(Award.status_index).where(
            Award.community_id == community.id,
            Award.revoked_at.is_not(None),
            Award.status_index.is_not(None),
        )
    )
    return {index for index in rows if index is not None}


async def publish(tx: Tx, community: Community) -> BadgeStatusList:
    """(Re)sign the community's status list credential from the awards it has revoked."""
    url = status_list_url(tx, community)
    encoded = status_list.encode_bitstring(await _revoked_indices(tx, community))
    document = credentials.sign(
        tx,
        community,
        status_list.status_list_credential(url, community.actor.uri, tx.now(), encoded),
    )
    record = await tx.session.scalar(
        select(BadgeStatusList).where(BadgeStatusList.community_id == community.id)
    )
    if record is None:
        record = BadgeStatusList(
            community_id=community.id, credential=document, updated_at=tx.now()
        )
        tx.session.add(record)
    else:
        record.credential, record.updated_at = document, tx.now()
    await tx.session.flush()
    return record


async def status_list_document(tx: Tx, community: Community) -> dict[str, Any]:
    """The community's signed `BitstringStatusListCredential`."""
    record = await tx.session.scalar(
        select(BadgeStatusList).where(BadgeStatusList.community_id == community.id)
    )
    if record is None:
        record = await publish(tx, community)
    return dict(record.credential)


async def free_index(tx: Tx, community: Community) -> int:
    """A status list index no award of the community holds yet, chosen at random."""
    # Bitstring Status List §6.3 (privacy): indexes "SHOULD be assigned randomly" so that an
    # index does not reveal when, or in what order, credentials were issued.
    used = set(
        await tx.session.scalars(
            select(Award.status_index).where(Award.community_id == community.id)
        )
    )
    if len(used) >= status_list.MIN_ENTRIES:
        raise InvalidInput(f"{community.title} has used every status list index")
    while True:
        index = secrets.randbelow(status_list.MIN_ENTRIES)
        if index not in used:
            return index

