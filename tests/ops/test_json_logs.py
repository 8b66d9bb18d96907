"""JSON logs: one object a line with time, level, logger, message, request id and
exception; the default in production, readable lines in development."""

import datetime as dt
import json
import logging
import sys

from backend.ops.json_logs import JsonFormatter
from tests.ops.fixtures import production_environment, run_python


def a_record(exc_info=None) -> logging.LogRecord:  # type: ignore[no-untyped-def]
    record = logging.LogRecord(
        "linli.test", logging.ERROR, __file__, 1, "活动 %s 已取消", ("社区义诊",), exc_info
    )
    record.request_id = "7f3c2a91"
    return record


def test_a_record_becomes_one_line_of_json_with_its_fields():
    record = a_record()

    line = JsonFormatter().format(record)

    assert "\n" not in line
    assert json.loads(line) == {
        "time": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(
            timespec="milliseconds"
        ),
        "level": "ERROR",
        "logger": "linli.test",
        "message": "活动 社区义诊 已取消",
        "request_id": "7f3c2a91",
    }
    assert json.loads(line)["time"].endswith("+00:00")


def test_an_exception_is_kept_whole_on_the_same_line():
    try:
        raise ValueError("the shift has no capacity left")
    except ValueError:
        record = a_record(sys.exc_info())

    line = JsonFormatter().format(record)

    assert "\n" not in line
    exception = json.loads(line)["exception"]
    assert exception.startswith("Traceback (most recent call last):")
    assert exception.endswith("ValueError: the shift has no capacity left")


def test_a_record_without_a_request_id_says_so():
    record = logging.LogRecord("linli.test", logging.INFO, __file__, 1, "hello", (), None)

    assert json.loads(JsonFormatter().format(record))["request_id"] == "-"


LOG_A_LINE = (
    "import django, logging; django.setup(); "
    "logging.getLogger('linli.test').warning('社区义诊 %s', 'ok')"
)


def test_production_logs_json_by_default(tmp_path):
    result = run_python(LOG_A_LINE, production_environment(tmp_path))

    assert result.returncode == 0, result.stderr
    entry = json.loads(result.stderr.strip().splitlines()[-1])
    assert {key: entry[key] for key in ("level", "logger", "message", "request_id")} == {
        "level": "WARNING",
        "logger": "linli.test",
        "message": "社区义诊 ok",
        "request_id": "-",
    }


def test_log_format_text_gives_readable_lines(tmp_path):
    result = run_python(LOG_A_LINE, production_environment(tmp_path, LOG_FORMAT="text"))

    assert result.returncode == 0, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.endswith(" WARNING linli.test [-] 社区义诊 ok")
