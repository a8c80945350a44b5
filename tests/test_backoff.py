"""The one retry backoff of the phone agent: how long a phone waits before
trying the server, the adb server or a scanned address again."""

import random

import pytest

from phone_agent.backoff import Backoff


def test_delays_double_up_to_the_cap_and_start_over_after_a_success():
    backoff = Backoff(0.5, 10.0)
    assert [backoff.next() for _ in range(7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert backoff.failures == 7
    backoff.reset()
    assert backoff.failures == 0
    assert [backoff.next() for _ in range(2)] == [0.5, 1.0]


def test_a_first_delay_above_the_cap_is_the_cap():
    backoff = Backoff(30.0, 20.0)
    assert [backoff.next() for _ in range(2)] == [20.0, 20.0]


def test_jitter_spreads_phones_that_failed_together():
    phones = [Backoff(1.0, 10.0, jitter=0.5, rng=random.Random(seed)) for seed in range(20)]
    first = [phone.next() for phone in phones]
    assert all(0.5 <= d < 1.5 for d in first)
    assert len(set(first)) == len(first)  # not all at the same moment
    for _ in range(6):
        later = [phone.next() for phone in phones]
    assert all(5.0 <= d < 15.0 for d in later)  # jitter around the capped delay


def test_a_seeded_backoff_repeats_its_delays():
    one, two = (Backoff(2.0, 60.0, jitter=0.3, rng=random.Random(7)) for _ in range(2))
    assert [one.next() for _ in range(5)] == [two.next() for _ in range(5)]


@pytest.mark.parametrize("kwargs", [dict(first=-1.0, longest=1.0), dict(first=1.0, longest=2.0, jitter=1.0),
                                    dict(first=1.0, longest=2.0, factor=0.5)])
def test_nonsense_settings_are_refused(kwargs):
    with pytest.raises(ValueError):
        Backoff(**kwargs)
