"""`make bench` end to end at a tiny size: every figure is in the report and the figures are
consistent with each other. Timing is never asserted (docs/testing.md): the benchmark measures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_reports_every_figure(tmp_path):
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bench.py"),
            "--messages",
            "12",
            "--groups",
            "3",
            "--history-sample",
            "6",
            "--timeout",
            "120",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for text in ("messages/s", "latency sent->stored p99", "cold 1st", "TOTAL", "targets:"):
        assert text in done.stdout
    report = json.loads(out.read_text())

    assert set(report["machine"]) >= {"date_utc", "nproc", "machine", "load_average"}
    pipeline, baseline = report["pipeline"], report["baseline"]
    for run in (pipeline, baseline):
        assert run["completed"] and run["succeeded"] == 12 and run["stored"] == 12
        assert run["messages_per_s"] > 0
        lat = run["latency_sent_to_stored_ms"]
        assert 0 < lat["p50"] <= lat["p95"] <= lat["p99"]

    # four functions, each invoked once per message, each with a cold start
    assert set(pipeline["functions"]) == {
        "ValidateFunction",
        "CheckIdempotencyFunction",
        "SaveFunction",
        "DeleteFunction",
    }
    for figures in pipeline["functions"].values():
        assert figures["invocations"] == 12 and figures["errors"] == 0
        assert figures["cold_starts"] >= 1
        # Present and positive; how the first cold start compares with the median is a timing
        # figure the benchmark prints, not something a test may assert (noisy machines).
        assert figures["cold_start_ms_first"] > 0 and figures["cold_init_ms_median"] > 0
        assert figures["warm_invoke_overhead_ms"] is not None
    states = pipeline["per_state"]["state_ms_median"]
    assert {"Validate", "CheckIdempotency", "Save", "Delete"} <= set(states)
    assert pipeline["peak_rss_mb"]["total"] > pipeline["peak_rss_mb"]["stack_process"] > 0

    counters = pipeline["counters"]
    assert counters["lambda_invocations"] == 48
    assert counters["api_calls"]["lambda"]["Invoke"] == 48
    assert counters["api_calls"]["dynamodb"]["GetItem"] == 12
    assert counters["api_calls"]["dynamodb"]["PutItem"] == 12
    assert counters["express_executions"] == 12  # BatchSize 1
    assert "PutMetricData" not in counters["api_calls"].get("cloudwatch", {})  # EMF only
    assert baseline["counters"]["api_calls"]["cloudwatch"]["PutMetricData"] == 24

    # IAM is enforced by default: every message's role-signed calls are authorised (4 Lambda
    # invokes, GetItem, PutItem, DeleteMessage, the pipe's StartSyncExecution and delete, ...)
    assert report["iam"]["enabled"] is True
    assert report["iam"]["checks_per_message"] >= 9
    assert report["iam"]["cpu_ms_per_message"] > 0
    assert "IAM enforcement (on)" in done.stdout

    costs = report["cost_per_1m_messages_usd"]
    assert set(costs) == {"pipeline_ALL", "pipeline_ERROR", "baseline"}
    assert costs["pipeline_ALL"]["total_usd"] > costs["pipeline_ERROR"]["total_usd"] > 0
    assert costs["pipeline_ERROR"]["lines_usd"]["logs_stepfunctions_ingestion"] == 0
    assert costs["baseline"]["lines_usd"]["cloudwatch_putmetricdata"] > 0
    for cost in costs.values():
        assert abs(sum(cost["lines_usd"].values()) - cost["total_usd"]) < 0.05
    assert report["overhead_ratio"]["wall_time_per_message"] > 0
    assert set(report["targets"]) == {"throughput", "cold_start", "overhead", "cost_error"}
    prices = json.loads((ROOT / "benchmarks" / "aws_prices_us_east_1.json").read_text())
    for price in prices["prices"].values():
        assert price["usd"] > 0 and price["source"].startswith("https://") and price["retrieved"]
