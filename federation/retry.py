"""The delivery retry policy: a pure function from one failed attempt to the next try, or none."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

# Mastodon's ActivityPub::DeliveryWorker runs with `retry: 16`: the first delivery plus sixteen
# retries. Its sidekiq_retry_in waits count**4 + 15 seconds plus its own jitter of
# rand(0.5 * count**4), on top of Sidekiq's built-in rand(10) * (count + 1), for retry counts
# 0..15: about 2.1 days without jitter, 2.6 days on average, 3.1 days at most.
MAX_ATTEMPTS = 17
# A server may ask for any delay in Retry-After; past this we try again anyway, so one header
# cannot park a delivery for weeks (maintenance pages commonly say a day).
MAX_RETRY_AFTER = timedelta(hours=12)

# Mastodon's JsonLdHelper#response_error_unsalvageable?: every 4xx is final except these, which
# a later attempt can cure (a key the peer has not fetched yet, a timeout, a rate limit).
_RETRYABLE_4XX = frozenset({401, 408, 429})
# RFC 9110 §10.2.3: Retry-After is meaningful on 503 and, per RFC 6585 §4, on 429.
_RETRY_AFTER_STATUSES = frozenset({429, 503})


@dataclass(frozen=True)
class RetryDecision:
    """Whether to deliver again, when, and why, in words for the delivery log."""

    deliver_again: bool
    at: datetime | None
    reason: str


def backoff(attempt: int, rng: random.Random) -> timedelta:
    """The jittered wait after failed attempt number `attempt` (1 is the first delivery)."""
    count = attempt - 1  # Sidekiq's retry count: 0 before the first retry
    base = count**4 + 15
    mastodon_jitter = rng.uniform(0.0, 0.5 * count**4)
    sidekiq_jitter = rng.randrange(10) * (count + 1)
    return timedelta(seconds=base + mastodon_jitter + sidekiq_jitter)


def retry_after_delay(value: str | None, now: datetime) -> timedelta | None:
    """The wait a Retry-After header asks for (delay-seconds or HTTP-date), or None if unusable."""
    if value is None:
        return None
    value = value.strip()
    # https://www.rfc-editor.org/rfc/rfc9110#section-10.2.3: delay-seconds = 1*DIGIT
    if value.isascii() and value.isdigit():
        return timedelta(seconds=min(int(value), MAX_RETRY_AFTER.total_seconds()))
    try:
        # Parses IMF-fixdate and both obsolete forms (RFC 850, asctime) of RFC 9110 §5.6.7.
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # HTTP dates are always GMT; asctime carries no zone
    return min(max(when - now, timedelta(0)), MAX_RETRY_AFTER)


def decide(
    attempt: int,
    status: int | None,
    error: str | None,
    retry_after: str | None,
    now: datetime,
    rng: random.Random,
) -> RetryDecision:
    """What to do after attempt number `attempt` answered `status` or failed with `error`."""
    if attempt < 1:
        raise ValueError(f"attempt numbers start at 1, got {attempt}")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if status is not None and 200 <= status < 300:
        return RetryDecision(False, None, f"delivered ({status})")
    if status is None:
        what = f"network error: {error}" if error else "no response"
    else:
        what = f"HTTP {status}"
        if status == 501 or (400 <= status < 500 and status not in _RETRYABLE_4XX):
            # The inbox understood and refused (or cannot ever handle) this activity.
            return RetryDecision(False, None, f"{what}: not retryable")
    if attempt >= MAX_ATTEMPTS:
        return RetryDecision(False, None, f"{what}: gave up after {attempt} attempts")
    wait = backoff(attempt, rng)
    asked = retry_after_delay(retry_after, now) if status in _RETRY_AFTER_STATUSES else None
    if asked is not None and asked > wait:
        # Never earlier than our own schedule: a peer that keeps answering "Retry-After: 1"
        # must not burn through every attempt in a minute.
        return RetryDecision(True, now + asked, f"{what}: retry after {asked} as asked")
    return RetryDecision(True, now + wait, f"{what}: retry {attempt} of {MAX_ATTEMPTS - 1}")
