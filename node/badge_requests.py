"""Badge requests: a member asks for a badge with evidence, and a mentor approves or declines."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from node import achievements, awards
from node.errors import InvalidInput, NotFound
from node.runtime import Tx
from storage.models import Achievement, Award, BadgeRequest, Community, Member


async def request_badge(
    tx: Tx, member: Member, achievement: Achievement, evidence: Sequence[str], message: str = ""
) -> BadgeRequest:
    """A member asks for a badge, pointing at evidence (their portfolio artifacts)."""
    urls = awards.checked_evidence(evidence, tx.settings.dev)
    if not urls:
        raise InvalidInput("a badge request needs at least one link to evidence")
    if len(message) > 2000:
        raise InvalidInput("a message is at most 2000 characters")
    pending = await tx.session.scalar(
        select(BadgeRequest.id).where(
            BadgeRequest.achievement_id == achievement.id,
            BadgeRequest.member_id == member.id,
            BadgeRequest.state == "pending",
        )
    )
    if pending:
        raise InvalidInput("you already asked for this badge; a mentor will answer")
    record = BadgeRequest(
        achievement_id=achievement.id,
        member_id=member.id,
        evidence_urls=urls,
        message=message.strip(),
        state="pending",
        created_at=tx.now(),
    )
    tx.session.add(record)
    await tx.session.flush()
    await tx.session.refresh(record, ["achievement", "member"])
    return record


async def get_request(tx: Tx, request_id: int) -> BadgeRequest:
    """A badge request by id, or NotFound."""
    record = await tx.session.get(BadgeRequest, request_id)
    if record is None:
        raise NotFound("no such badge request")
    return record


async def pending_requests(tx: Tx, community: Community) -> list[BadgeRequest]:
    """Requests for a community's badges that wait for a mentor, oldest first."""
    return list(
        await tx.session.scalars(
            select(BadgeRequest)
            .join(BadgeRequest.achievement)
            .where(Achievement.community_id == community.id, BadgeRequest.state == "pending")
            .order_by(BadgeRequest.created_at, BadgeRequest.id)
        )
    )


async def decide(
    tx: Tx, acting: Member | None, record: BadgeRequest, approve: bool
) -> Award | None:
    """Approve a request (awarding the badge with its evidence) or decline it."""
    await achievements.require_awarder(tx, record.achievement.community, acting)
    if record.state != "pending":
        raise InvalidInput(f"this request was already {record.state}")
    record.state = "approved" if approve else "declined"
    record.decided_by_id = acting.actor_id if acting is not None else None
    record.decided_at = tx.now()
    if not approve:
        return None
    given = await awards.award(
        tx, acting, record.achievement, record.member.actor, evidence=record.evidence_urls
    )
    record.award_id = given.id
    return given

