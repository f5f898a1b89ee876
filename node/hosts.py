"""Remote hosts as delivery sees them: failures, the circuit breaker, and unavailability.

Mastodon's DeliveryFailureTracker counts the distinct days on which deliveries to a host failed
and marks the host unavailable after 7 (FAILURE_DAYS_THRESHOLD), until a delivery succeeds or the
host sends a signed request (InboxesController calls track_inverse_success!). We do the same,
and add a circuit breaker so that a host that is down is not hammered by every queued row.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from node.runtime import Tx
from storage.models import HostState

FAILURE_DAYS_THRESHOLD = 7
BREAKER_THRESHOLD = 5  # consecutive failures that open the circuit
BREAKER_BASE = timedelta(minutes=1)
BREAKER_MAX = timedelta(hours=1)
KEPT_DAYS = 14


async def _row(tx: Tx, host: str) -> HostState:
    # Several workers may meet a new host at once: insert-or-ignore, then lock the one row.
    dialect = tx.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    await tx.session.execute(
        insert(HostState)
        .values(host=host, consecutive_failures=0, failure_days=[], unavailable=False)
        .on_conflict_do_nothing(index_elements=["host"])
    )
    row = await tx.session.scalar(select(HostState).where(HostState.host == host).with_for_update())
    assert row is not None
    return row


async def get(tx: Tx, host: str) -> HostState | None:
    """What is known about a host, if anything."""
    return await tx.session.scalar(select(HostState).where(HostState.host == host))


async def record_failure(
    tx: Tx, host: str, error: str, paused_until: datetime | None = None
) -> HostState:
    """Count a failed delivery: a failure day, and the breaker opens after repeated failures.

    `paused_until` is a host's own Retry-After (429/503): nothing goes there before then.
    """
    row = await _row(tx, host)
    now = tx.now()
    row.consecutive_failures += 1
    row.last_failure_at = now
    row.last_error = error[:1000]
    days = sorted({*(row.failure_days or []), now.date().isoformat()})[-KEPT_DAYS:]
    row.failure_days = days
    if row.consecutive_failures >= BREAKER_THRESHOLD:
        extra = row.consecutive_failures - BREAKER_THRESHOLD
        row.circuit_open_until = now + min(BREAKER_BASE * 2 ** min(extra, 10), BREAKER_MAX)
    if paused_until is not None and (
        row.circuit_open_until is None or row.circuit_open_until < paused_until
    ):
        row.circuit_open_until = paused_until
    if len(days) >= FAILURE_DAYS_THRESHOLD:
        row.unavailable = True
    return row


async def record_success(tx: Tx, host: str) -> None:
    """A delivery got through: the host is healthy again."""
    row = await get(tx, host)
    if row is not None and not row.consecutive_failures and not row.unavailable:
        row.last_success_at = tx.now()  # the common case: no lock, no insert
        return
    row = await _row(tx, host)
    _reset(row)
    row.last_success_at = tx.now()


async def record_signed_request(tx: Tx, host: str) -> None:
    """A host sent us a valid signed request, so it is up: clear its failures if it had any."""
    row = await get(tx, host)
    if row is not None and (row.unavailable or row.consecutive_failures):
        _reset(row)


def _reset(row: HostState) -> None:
    row.consecutive_failures = 0
    row.failure_days = []
    row.circuit_open_until = None
    row.unavailable = False
    row.last_error = None


def is_open(row: HostState | None, now: datetime) -> bool:
    """Whether the circuit breaker is holding deliveries to this host back right now."""
    return bool(row and row.circuit_open_until and row.circuit_open_until > now)


async def unavailable(tx: Tx) -> set[str]:
    """Every host marked unavailable (skipped at fan-out)."""
    return set(await tx.session.scalars(select(HostState.host).where(HostState.unavailable)))


async def listing(tx: Tx) -> list[HostState]:
    """Hosts with a known state, troubled ones first."""
    return list(
        await tx.session.scalars(
            select(HostState).order_by(
                HostState.unavailable.desc(),
                HostState.consecutive_failures.desc(),
                HostState.host,
            )
        )
    )
