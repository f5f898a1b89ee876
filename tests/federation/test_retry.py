"""The delivery retry policy: Mastodon's span, jitter bounds, Retry-After and the give-up cases."""

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from federation.retry import (
    MAX_ATTEMPTS,
    MAX_RETRY_AFTER,
    RetryDecision,
    backoff,
    decide,
    retry_after_delay,
)

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


class FixedRandom(random.Random):
    """A Random whose draws sit at one fraction of their range, to pin the jitter."""

    def __init__(self, fraction: float) -> None:
        super().__init__(0)
        self.fraction = fraction

    def random(self) -> float:
        return self.fraction

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:
        return int(start * self.fraction) if stop is None else start


def delays(rng: random.Random) -> list[timedelta]:
    """Every wait of a delivery that fails with 503 until the policy gives up."""
    waits: list[timedelta] = []
    now = NOW
    attempt = 1
    while True:
        decision = decide(attempt, 503, None, None, now, rng)
        if not decision.deliver_again:
            return waits
        assert decision.at is not None
        waits.append(decision.at - now)
        now = decision.at
        attempt += 1


def test_gives_up_after_the_last_retry() -> None:
    waits = delays(random.Random(1))
    assert len(waits) == MAX_ATTEMPTS - 1 == 16  # Mastodon's `retry: 16`
    last = decide(MAX_ATTEMPTS, 503, None, None, NOW, random.Random(1))
    assert last == RetryDecision(False, None, "HTTP 503: gave up after 17 attempts")


def test_total_span_is_about_two_and_a_half_days() -> None:
    shortest = sum(delays(FixedRandom(0.0)), timedelta())
    longest = sum(delays(FixedRandom(0.999999)), timedelta())
    # Sidekiq's count**4 + 15 over sixteen retries without jitter: 178,552 s.
    assert shortest == timedelta(seconds=178_552)
    assert 2 * DAY < shortest < longest < timedelta(days=3.2)
    spans = [sum(delays(random.Random(seed)), timedelta()) for seed in range(200)]
    mean = sum(spans, timedelta()) / len(spans)
    assert timedelta(days=2.4) < mean < timedelta(days=2.75)
    assert all(shortest <= span <= longest for span in spans)


def test_waits_grow_with_every_attempt() -> None:
    for fraction in (0.0, 0.5, 0.999999):
        waits = delays(FixedRandom(fraction))
        assert all(a < b for a, b in zip(waits, waits[1:], strict=False)), fraction
    # The first retry comes quickly, the last one more than a day after the one before.
    waits = delays(FixedRandom(0.0))
    assert waits[0] == timedelta(seconds=15)
    assert waits[-1] == timedelta(seconds=15**4 + 15)


@pytest.mark.parametrize("attempt", range(1, MAX_ATTEMPTS))
def test_jitter_stays_within_bounds(attempt: int) -> None:
    count = attempt - 1
    low = timedelta(seconds=count**4 + 15)
    high = low + timedelta(seconds=0.5 * count**4 + 9 * (count + 1))
    draws = [backoff(attempt, random.Random(seed)) for seed in range(300)]
    assert all(low <= wait <= high for wait in draws)
    assert len(set(draws)) > 1  # it is jittered: two deliveries do not retry in lockstep


@pytest.mark.parametrize("status", [401, 408, 429, 500, 502, 503, 504, 520, 302])
def test_transient_statuses_are_retried(status: int) -> None:
    decision = decide(3, status, None, None, NOW, random.Random(0))
    assert decision.deliver_again
    assert decision.at is not None and decision.at > NOW
    assert f"HTTP {status}" in decision.reason


@pytest.mark.parametrize("status", [400, 403, 404, 405, 410, 413, 415, 422, 501])
def test_permanent_statuses_are_dropped_at_once(status: int) -> None:
    decision = decide(1, status, None, None, NOW, random.Random(0))
    assert decision == RetryDecision(False, None, f"HTTP {status}: not retryable")


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_success_is_not_retried(status: int) -> None:
    assert not decide(1, status, None, None, NOW, random.Random(0)).deliver_again


def test_network_errors_are_retried() -> None:
    decision = decide(2, None, "ConnectTimeout: timed out", None, NOW, random.Random(0))
    assert decision.deliver_again
    assert "ConnectTimeout" in decision.reason
    assert not decide(MAX_ATTEMPTS, None, "ReadError", None, NOW, random.Random(0)).deliver_again


def test_retry_after_seconds_on_429() -> None:
    decision = decide(1, 429, None, "3600", NOW, random.Random(0))
    assert decision.at == NOW + timedelta(hours=1)
    assert "as asked" in decision.reason


def test_retry_after_http_date_on_503() -> None:
    when = NOW + timedelta(hours=2)
    decision = decide(1, 503, None, format_datetime(when, usegmt=True), NOW, random.Random(0))
    assert decision.at == when


def test_retry_after_never_shortens_our_own_schedule() -> None:
    rng_a, rng_b = random.Random(7), random.Random(7)
    asked = decide(12, 429, None, "1", NOW, rng_a)
    ours = decide(12, 429, None, None, NOW, rng_b)
    assert asked.at == ours.at
    assert asked.at is not None and asked.at - NOW > timedelta(hours=4)


def test_retry_after_is_bounded() -> None:
    for header in ["999999999", format_datetime(NOW + timedelta(days=30), usegmt=True)]:
        decision = decide(1, 503, None, header, NOW, random.Random(0))
        assert decision.at == NOW + MAX_RETRY_AFTER


def test_retry_after_is_ignored_on_other_statuses() -> None:
    decision = decide(1, 500, None, "36000", NOW, random.Random(0))
    assert decision.at is not None and decision.at - NOW < timedelta(minutes=1)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", timedelta(seconds=120)),
        (" 0 ", timedelta(0)),
        ("Sat, 01 Mar 2025 12:30:00 GMT", timedelta(minutes=30)),
        ("Saturday, 01-Mar-25 12:30:00 GMT", timedelta(minutes=30)),  # RFC 850
        ("Sat Mar  1 12:30:00 2025", timedelta(minutes=30)),  # asctime
        ("Sat, 01 Mar 2025 11:00:00 GMT", timedelta(0)),  # already past
        (None, None),
        ("", None),
        ("-5", None),
        ("1.5", None),
        ("soon", None),
        ("١٢٠", None),  # Arabic-Indic digits are digits to Python, not to RFC 9110
    ],
)
def test_retry_after_parsing(header: str | None, expected: timedelta | None) -> None:
    assert retry_after_delay(header, NOW) == expected


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        decide(0, 503, None, None, NOW, random.Random(0))
    with pytest.raises(ValueError):
        decide(1, 503, None, None, NOW.replace(tzinfo=None), random.Random(0))
