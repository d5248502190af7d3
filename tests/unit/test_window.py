from datetime import UTC, datetime, timedelta

import pytest

from cwparity.window import Window, align_down, align_up, parse_time

T0 = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)


def test_align_to_the_period_grid():
    moment = T0 + timedelta(seconds=67.5)
    assert align_down(moment, 60) == T0 + timedelta(seconds=60)
    assert align_up(moment, 60) == T0 + timedelta(seconds=120)
    assert align_down(T0, 60) == align_up(T0, 60) == T0


def test_covering_window_keeps_a_margin_around_the_load():
    window = Window.covering(T0 + timedelta(seconds=9.5), T0 + timedelta(seconds=31), 10, margin=2)
    assert window.start == T0
    assert window.end == T0 + timedelta(seconds=40)
    assert window.period_starts() == [T0 + timedelta(seconds=s) for s in (0, 10, 20, 30)]


def test_window_edges_must_be_on_the_grid():
    with pytest.raises(ValueError, match="grid"):
        Window(T0 + timedelta(seconds=1), T0 + timedelta(seconds=60), 60)
    with pytest.raises(ValueError, match="after"):
        Window(T0, T0, 60)


def test_window_round_trips_through_json():
    window = Window(T0, T0 + timedelta(minutes=5), 60)
    assert Window.from_dict(window.to_dict()) == window


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-25T12:00:00Z", T0),
        ("2026-11-25T12:00:00", T0),
        (str(T0.timestamp()), T0),
        ("now-15m", T0 - timedelta(minutes=15)),
        ("now", T0),
    ],
)
def test_parse_time(text, expected):
    assert parse_time(text, now=T0) == expected
