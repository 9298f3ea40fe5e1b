"""The one clock of the internal database's tables (datasette/internal/clock.py): each
table's stamp keeps its shape, and stamps of one shape sort as the times they name."""

import datetime
import re

import pytest

from datasette.internal.activity.search import parse_time
from datasette.internal.clock import utc_now

SHAPES = {
    "seconds": r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",  # migrations, public, result cache
    "milliseconds": r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z",  # column statistics
    "microseconds": r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z",  # audit log and jobs
}


@pytest.mark.parametrize("timespec,shape", SHAPES.items())
def test_each_timespec_keeps_its_shape(timespec, shape):
    assert re.fullmatch(shape, utc_now(timespec))
    # Every digit is written even when they are zeros, so the text sorts as time does.
    on_the_second = datetime.datetime(2024, 1, 31, 12, 0, 0)
    assert re.fullmatch(shape, utc_now(timespec, on_the_second))


def test_a_given_moment_is_stamped_in_utc():
    plus_two = datetime.timezone(datetime.timedelta(hours=2))
    aware = datetime.datetime(2024, 1, 31, 14, 0, 0, 7, tzinfo=plus_two)
    naive = datetime.datetime(2024, 1, 31, 12, 0, 0, 7)  # naive means UTC
    assert utc_now("microseconds", aware) == "2024-01-31T12:00:00.000007Z"
    assert utc_now("microseconds", naive) == "2024-01-31T12:00:00.000007Z"
    assert utc_now("seconds", naive) == "2024-01-31T12:00:00Z"


def test_search_times_are_in_the_stored_shape_and_sort_as_time():
    assert parse_time("2024-01-31") == "2024-01-31T00:00:00.000000Z"
    assert parse_time("2024-01-31T14:00:00+02:00") == "2024-01-31T12:00:00.000000Z"
    assert parse_time("2024-01-31T12:00:00z") == "2024-01-31T12:00:00.000000Z"
    # A four-digit year always, so an early date still sorts before a late one.
    assert parse_time("0999-12-31") < parse_time("2024-01-01")
    with pytest.raises(ValueError):
        parse_time("last tuesday")
