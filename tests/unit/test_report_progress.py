"""Terminal progress: drawn in place on a TTY, silent otherwise, never changing what is waited."""

from __future__ import annotations

import io

from cwparity.progress import StatusLine, countdown, load_text, locust_counts, watch_load

LOCUST_CSV = (
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time\n"
    "GET,/,300,0,11,12.5\n"
    "GET,/long-request,100,2,160,150.1\n"
    ",Aggregated,400,2,14,50.2\n"
)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class FakeChild:
    def __init__(self, polls_before_exit: int, code: int = 0) -> None:
        self.left, self.code = polls_before_exit, code

    def poll(self) -> int | None:
        if self.left:
            self.left -= 1
            return None
        return self.code


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_nothing_is_drawn_when_stderr_is_not_a_terminal():
    stream = io.StringIO()
    with StatusLine(stream) as line:
        line.show("cwparity: load: 1s of 30s")
    assert not line.enabled and stream.getvalue() == ""


def test_a_terminal_gets_one_line_redrawn_in_place_then_cleared():
    stream = Terminal()
    with StatusLine(stream) as line:
        line.show("first")
        line.show("second")
    assert stream.getvalue() == "\r\x1b[Kfirst\r\x1b[Ksecond\r\x1b[K"


def test_requests_sent_come_from_locusts_aggregated_row(tmp_path):
    stats = tmp_path / "locust_stats.csv"
    assert locust_counts(stats) is None  # not written yet
    stats.write_text(LOCUST_CSV)
    assert locust_counts(stats) == (400, 2)
    stats.write_text("Type,Name\n")  # caught mid-write
    assert locust_counts(stats) is None


def test_load_progress_shows_elapsed_remaining_and_requests(tmp_path):
    stats = tmp_path / "locust_stats.csv"
    stats.write_text(LOCUST_CSV)
    stream, clock = Terminal(), FakeClock()
    code = watch_load(FakeChild(4, code=0), 30, 100, stats, StatusLine(stream), clock.sleep, clock)
    assert code == 0
    drawn = stream.getvalue()
    assert "cwparity: load: 1s of 30s, 29s left, 400 requests sent (2 failed)" in drawn
    assert drawn.endswith("\r\x1b[K")


def test_load_past_its_limit_returns_none_for_the_caller_to_stop_it(tmp_path):
    clock = FakeClock()
    code = watch_load(
        FakeChild(10**6),
        30,
        5,
        tmp_path / "none.csv",
        StatusLine(io.StringIO()),
        clock.sleep,
        clock,
    )
    assert code is None and clock.now > 5


def test_after_the_duration_it_says_users_are_finishing():
    assert load_text(31, 30, None) == (
        "cwparity: load: 30s sent, letting users finish their requests"
    )


def test_countdown_sleeps_exactly_as_long_whether_drawn_or_not():
    slept: list[float] = []
    countdown(2.2, "waiting", slept.append, StatusLine(io.StringIO()))
    assert slept == [2.2]  # silent: one plain sleep, as before
    slept.clear()
    stream = Terminal()
    countdown(1.2, "waiting for Prometheus", slept.append, StatusLine(stream))
    assert abs(sum(slept) - 1.2) < 1e-9 and len(slept) == 3
    assert "cwparity: waiting for Prometheus: 1s left" in stream.getvalue()
