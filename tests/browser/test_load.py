"""Eight concurrent browser sessions switch pages and change widgets; none sees an error."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                "bench"))
import load_test  # noqa: E402


def test_eight_sessions_see_no_errors(app_server):
    report = load_test.run(app_server, sessions=8, seconds=10)
    print("\n" + "\n".join(report.lines()))
    assert not report.errors, report.errors
    assert report.actions >= 8  # every session got at least one page drawn
    assert report.rss_peak_mb > 0
