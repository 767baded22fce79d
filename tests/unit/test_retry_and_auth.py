"""Retry delays, the token's secrecy, and the poller's deadline."""

from __future__ import annotations

import email.utils
import pickle
import random
from datetime import datetime, timedelta, timezone

import pytest

from cb_helper.api.auth import Token, read_token
from cb_helper.api.errors import BadInput, ConfigurationError
from cb_helper.api.polling import Poller
from cb_helper.api.retry import RetryPolicy, parse_retry_after

SENTINEL = "sentinel-token-5f2c9b1e"


def test_backoff_grows_exponentially_and_is_capped() -> None:
    policy = RetryPolicy(backoff_base=0.5, backoff_max=3.0, jitter=lambda ceiling: ceiling)
    assert [policy.delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_jitter_stays_within_the_ceiling() -> None:
    policy = RetryPolicy(backoff_base=1.0, backoff_max=8.0)
    for attempt in range(1, 8):
        assert 0.0 <= policy.delay(attempt) <= min(8.0, 2 ** (attempt - 1))


def test_the_default_jitter_spreads_delays_over_the_whole_range() -> None:
    """Full jitter: clients that failed together do not retry together, and the ceiling is not the usual delay."""
    saved = random.getstate()
    random.seed(20261203)
    try:
        policy = RetryPolicy(backoff_base=1.0, backoff_max=8.0)
        delays = [policy.delay(4) for _ in range(200)]
    finally:
        random.setstate(saved)
    assert all(0.0 <= d <= 8.0 for d in delays)
    assert len(set(delays)) > 150
    assert min(delays) < 1.0
    assert max(delays) > 7.0
    assert 3.0 < sum(delays) / len(delays) < 5.0


def test_retry_after_is_honoured_and_capped() -> None:
    policy = RetryPolicy(retry_after_cap=10.0, jitter=lambda ceiling: 0.0)
    assert policy.delay(1, "3") == 3.0
    assert policy.delay(1, "3600") == 10.0
    widest = RetryPolicy(retry_after_cap=10.0, jitter=lambda ceiling: ceiling)
    assert widest.delay(1, "soon") == widest.delay(1)


def test_retry_after_gets_a_spread_of_at_most_the_hint_itself() -> None:
    """Clients limited together come back spread out, never sooner than asked, never more than twice as late."""
    widest = RetryPolicy(backoff_base=0.5, backoff_max=20.0, jitter=lambda ceiling: ceiling)
    assert [widest.delay(n, "1") for n in (1, 2, 3, 6)] == [1.5, 2.0, 2.0, 2.0]
    assert widest.delay(6, "30") == 46.0  # the backoff's ceiling (16 s) is less than the hint


def test_retry_after_http_date() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == pytest.approx(10.0)
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0
    assert parse_retry_after(None) is None


def test_retry_after_http_date_is_measured_from_the_clock() -> None:
    soon = email.utils.format_datetime(datetime.now(timezone.utc) + timedelta(hours=1), usegmt=True)
    waited = parse_retry_after(soon)
    assert waited is not None
    assert 3000 < waited <= 3600
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_token_never_shows_itself() -> None:
    token = Token(SENTINEL, "CIRCLE_TOKEN")
    percent = "%s" % (token,)  # noqa: UP031
    for text in (str(token), repr(token), f"{token}", f"{token!r}", percent, repr([token])):
        assert SENTINEL not in text
        assert "CIRCLE_TOKEN" in text
    with pytest.raises(TypeError):
        pickle.dumps(token)
    assert token.reveal() == SENTINEL


def test_missing_token_names_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="MY_TOKEN is not set"):
        read_token("MY_TOKEN", environ={})
    with pytest.raises(ConfigurationError, match="MY_TOKEN"):
        read_token("MY_TOKEN", environ={"MY_TOKEN": "   "})
    assert read_token("MY_TOKEN", environ={"MY_TOKEN": " abc \n"}).reveal() == "abc"


def test_token_env_must_be_a_variable_name() -> None:
    with pytest.raises(BadInput, match="'1BAD'"):
        read_token("1BAD", environ={"1BAD": "x"})


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_poller_backs_off_and_never_sleeps_past_the_deadline() -> None:
    clock = FakeClock()
    poller = Poller(timeout=20, interval=2, max_interval=6, factor=2, clock=clock.time, sleep=clock.sleep)
    while poller.wait():
        pass
    assert clock.sleeps == [2, 4, 6, 6, 2]
    assert clock.now == 20
    assert poller.remaining == 0
