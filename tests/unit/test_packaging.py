"""Each function imports with only what its deployed package will have.

sys.path in a clean interpreter (`python -I -S`: no site-packages, no PYTHON* variables) is, as on
Lambda: the function's folder, its installed requirements.txt, the layer (lambdas/common) and the
layer's installed requirements, then what the runtime ships (boto3). A function importing a
package that its requirements.txt (or the layer's) does not list fails here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from lambda_testkit import FUNCTIONS, LAMBDAS, LAYER, sqs_record

from local_aws.awslambda.packages import install_requirements, runtime_path

PROBE = r"""
import json, sys
paths, blocked, records = json.loads(sys.argv[1])
sys.path[:0] = paths

class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)
        return None

sys.meta_path.insert(0, Blocker())
import app

results = []
for record in records:
    try:
        results.append({"ok": app.lambda_handler(record, None)["message_id"]})
    except Exception as err:
        results.append({"error": type(err).__name__, "text": str(err)})
files = sorted(
    getattr(m, "__file__", None) or "" for m in list(sys.modules.values())
)
print(json.dumps({"results": results, "files": files}))
"""


def package_path(function: str, *, own_requirements: bool = True) -> list[str]:
    paths = [LAMBDAS / function]
    if own_requirements:
        paths.append(install_requirements(LAMBDAS / function / "requirements.txt"))
    paths += [LAYER, install_requirements(LAYER / "requirements.txt"), runtime_path()]
    return [str(p) for p in paths]


def run_probe(function: str, paths: list[str], blocked=(), records=()):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "METRICS_NAMESPACE": "Packaging/Test",
        "TABLE_NAME": "packaging-test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    argument = json.dumps([paths, list(blocked), list(records)])
    return subprocess.run(
        [sys.executable, "-I", "-S", "-c", PROBE, argument],
        cwd=LAMBDAS / function,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def stdlib_or_package(file: str, paths: list[str]) -> bool:
    if not file or file.startswith(("<", "frozen")):
        return True
    stdlib = Path(os.__file__).resolve().parent
    resolved = Path(file).resolve()
    return resolved.is_relative_to(stdlib) or any(
        resolved.is_relative_to(Path(p).resolve()) for p in paths
    )


@pytest.mark.parametrize("function", FUNCTIONS)
def test_function_imports_with_only_its_package(function):
    paths = package_path(function)
    done = run_probe(function, paths)
    assert done.returncode == 0, done.stderr
    files = json.loads(done.stdout.splitlines()[-1])["files"]
    outside = [f for f in files if not stdlib_or_package(f, paths)]
    assert outside == []


def test_validate_really_checks_formats_in_its_package():
    # The deployed Validate must reject a bad date-time, i.e. ship rfc3339-validator.
    good = sqs_record("valid_transaction")
    bad = sqs_record("invalid_bad_timestamp")
    done = run_probe("validate", package_path("validate"), records=[good, bad])
    assert done.returncode == 0, done.stderr
    ok, rejected = json.loads(done.stdout.splitlines()[-1])["results"]
    assert ok == {"ok": "0b6f2a9e-4c1d-4e8a-9f3b-7d2c5e1a8b40"}
    assert rejected["error"] == "InvalidMessage"
    assert "$.timestamp: is not a valid date-time" in rejected["text"]


def test_validate_fails_without_its_requirements():
    done = run_probe("validate", package_path("validate", own_requirements=False))
    assert done.returncode != 0
    assert "No module named 'jsonschema'" in done.stderr


def test_validate_refuses_to_start_without_rfc3339_validator():
    done = run_probe("validate", package_path("validate"), blocked=["rfc3339_validator"])
    assert done.returncode != 0
    assert "ConfigurationError" in done.stderr
    assert "date-time" in done.stderr


def test_a_function_fails_without_the_layer_requirements():
    paths = [
        p
        for p in package_path("save")
        if p != str(install_requirements(LAYER / "requirements.txt"))
    ]
    done = run_probe("save", paths)
    assert done.returncode != 0
    assert "No module named 'aws_xray_sdk'" in done.stderr
