from cwparity.results import CheckResult, Origin, Status, Tolerance, exit_code, verdict


def check(status):
    return CheckResult(f"x[{status}]", "count", "GET /", status, "r")


def test_verdict_rules():
    assert verdict([check(Status.PASS), check(Status.SKIP)]) is Status.PASS
    assert verdict([check(Status.PASS), check(Status.FAIL), check(Status.ERROR)]) is Status.FAIL
    assert verdict([check(Status.PASS), check(Status.ERROR)]) is Status.ERROR
    # nothing judged is never a pass
    assert verdict([]) is Status.ERROR
    assert verdict([check(Status.SKIP)]) is Status.ERROR


def test_exit_codes():
    assert exit_code(Status.PASS) == 0
    assert exit_code(Status.FAIL) == 1
    assert exit_code(Status.ERROR) == 2


def test_check_round_trips():
    original = CheckResult(
        "count[GET /]",
        "count",
        "GET /",
        Status.FAIL,
        "lost",
        observed={"cloudwatch": 9.0, "prometheus": 10.0},
        tolerance=Tolerance(0.0, "requests", Origin.DEFAULT, "slack 0"),
    )
    assert CheckResult.from_dict(original.to_dict()) == original
