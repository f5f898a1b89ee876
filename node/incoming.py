"""An inbound activity while the worker handles it: its verified actor and helpers for handlers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from federation.vocabulary import id_of
from node import notifications
from node.runtime import Tx
from storage.models import Actor, Member, Notification, Post


class Ignored(Exception):
    """The activity does not apply here (not ours, gone, unsupported): kept, not an error."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Incoming:
    """An activity whose signature was verified at the inbox: `actor` is who signed it."""

    uri: str
    type: str
    document: dict[str, Any]
    actor: Actor

    @property
    def object(self) -> Any:
        return self.document.get("object")

    @property
    def object_id(self) -> str | None:
        return id_of(self.object)

    async def local_object_actor(self, tx: Tx) -> Actor:
        """The local actor this activity's object names, or Ignored."""
        actor = await tx.session.scalar(
            select(Actor).where(Actor.uri == self.object_id, Actor.local.is_(True))
        )
        if actor is None:
            raise Ignored(f"{self.object_id} is not an actor on this node")
        return actor

    async def notify(
        self,
        tx: Tx,
        recipient: Actor,
        kind: str,
        post: Post | None = None,
        report_id: int | None = None,
    ) -> None:
        """Tell a local member (or a local community's stewards, later) that something happened."""
        member = await tx.session.scalar(select(Member).where(Member.actor_id == recipient.id))
        if member is None or await notifications.silenced(tx, recipient, self.actor):
            return
        tx.session.add(
            Notification(
                member_id=member.id,
                kind=kind,
                actor_id=self.actor.id,
                post_id=post.id if post else None,
                report_id=report_id,
                created_at=tx.now(),
            )
        )
