"""tools/test_times: each test file's share of a run, from pytest's JUnit XML."""

from tools.test_times import table, times_by_file

JUNIT = """<testsuites><testsuite name="pytest">
<testcase classname="tests.pods.test_deploy" name="test_a" time="30.5"/>
<testcase classname="tests.pods.test_deploy" name="test_b" time="9.5"/>
<testcase classname="tests.unit.test_settings" name="test_c" time="10.0"/>
</testsuite></testsuites>"""


def test_times_add_up_by_file_and_the_table_puts_the_longest_first(tmp_path):
    junit = tmp_path / "run.xml"
    junit.write_text(JUNIT)
    times = times_by_file(str(junit))
    assert times == {"tests/pods/test_deploy.py": (2, 40.0), "tests/unit/test_settings.py": (1, 10.0)}
    assert table(times).splitlines()[2:] == [
        "| `tests/pods/test_deploy.py` | 2 | 40 | 80.0 % |",
        "| `tests/unit/test_settings.py` | 1 | 10 | 20.0 % |",
    ]
