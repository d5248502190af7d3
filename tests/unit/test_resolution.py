from cwparity.judge.resolution import period_findings
from cwparity.results import Status


def test_short_periods_on_real_cloudwatch_are_a_warning():
    (finding,) = period_findings(10, "https://monitoring.us-east-1.amazonaws.com")
    assert finding.status is Status.WARN and "StorageResolution=1" in finding.reason


def test_minute_periods_and_other_endpoints_need_no_warning():
    assert period_findings(60, "https://monitoring.us-east-1.amazonaws.com") == []
    assert period_findings(10, "http://127.0.0.1:5000") == []
