"""`make build` on this machine: no python3.14 and no Docker, wheels for Lambda's arm64 runtime.

The build runs once per session (about 20-40 s: `sam build` of the layer and four functions, pip
installing from the shared pip cache). python3.14 and docker are put first on PATH as shims that
record any call and fail, so the build passing proves it used neither (SAM's python3.14 builder
would have found the shim and failed its binary validation).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import build_report
import lock_lambda_requirements
import pytest
from workflow_files import ROOT, TEMPLATE_PATH

SHIMS = ("python3.14", "docker")
EM_AARCH64 = 183  # ELF e_machine of arm64 (System V ABI)


# One build per run: two workers building at once would create .venv-deploy concurrently.
pytestmark = pytest.mark.xdist_group("lambda_build")


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> tuple[Path, str, Path]:
    """(build dir, make's output, shim call log) of one `make build`."""
    work = tmp_path_factory.mktemp("make-build")
    shims, calls = work / "bin", work / "shim-calls.log"
    shims.mkdir()
    for name in SHIMS:
        shim = shims / name
        shim.write_text(f'#!/bin/sh\necho "{name} $*" >> "{calls}"\nexit 1\n')
        shim.chmod(0o755)
    env = {**os.environ, "PATH": f"{shims}{os.pathsep}{os.environ['PATH']}"}
    build_dir = work / "build"
    done = subprocess.run(
        ["make", "--no-print-directory", "build", f"BUILD_DIR={build_dir}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    return build_dir, output, calls


def top_level_names(requirements: Path) -> set[str]:
    names = set()
    for line in requirements.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(build_report.normalise(re.split(r"[=<>!~\[; ]", line, maxsplit=1)[0]))
    return names


def test_make_build_used_neither_python314_nor_docker(built):
    _, _, calls = built
    assert not calls.exists(), calls.read_text()


def test_every_shared_object_is_aarch64(built):
    build_dir, _, _ = built
    shared = [p for p in build_dir.rglob("*") if p.is_file() and ".so" in p.suffixes]
    # wrapt (layer, via aws-xray-sdk) and rpds-py (Validate, via jsonschema) are compiled.
    assert {p.relative_to(build_dir).parts[0] for p in shared} == {
        "CommonLayer",
        "ValidateFunction",
    }
    assert {p: build_report.elf_machine(p) for p in shared} == {p: EM_AARCH64 for p in shared}


def test_each_resource_holds_its_locked_and_named_packages(built):
    build_dir, _, _ = built
    resources = build_report.built_resources(TEMPLATE_PATH)
    assert set(resources) == {
        "CommonLayer",
        "ValidateFunction",
        "CheckIdempotencyFunction",
        "SaveFunction",
        "DeleteFunction",
    }
    for logical_id, (kind, source) in resources.items():
        packages = build_dir / logical_id / build_report.PACKAGE_ROOT[kind]
        installed = build_report.installed_distributions(packages)
        assert installed == build_report.locked_pins(source / "requirements-lock.txt"), logical_id
        assert top_level_names(source / "requirements.txt") <= set(installed), logical_id
        # the code itself is there too (app.py, or the layer's pipeline_common package)
        code = {p.name for p in source.iterdir() if p.suffix == ".py" or p.is_dir()}
        code.discard("__pycache__")
        assert code <= {p.name for p in packages.iterdir()}, logical_id


def test_the_build_report_prints_every_size_and_no_finding(built):
    build_dir, output, _ = built
    for r in build_report.reports(build_dir):
        assert r.problems == [], r.logical_id
        assert re.search(rf"^{r.logical_id}\s+\d+\.\d\d MB\s+{r.files}\s", output, re.MULTILINE)


def test_the_build_report_flags_a_foreign_shared_object_and_a_missing_package(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "requirements-lock.txt").write_text("wrapt==2.5.2 \\\n    --hash=sha256:00\n")
    folder = tmp_path / "build" / "Fn"
    folder.mkdir(parents=True)
    # a minimal little-endian ELF64 header whose e_machine is x86-64 (62)
    header = b"\x7fELF\x02\x01\x01" + bytes(11) + (62).to_bytes(2, "little")
    (folder / "native.cpython-314-x86_64-linux-gnu.so").write_bytes(header + bytes(44))
    report = build_report.check_resource(
        "Fn", "AWS::Serverless::Function", source, tmp_path / "build", EM_AARCH64
    )
    assert report.problems == [
        "native.cpython-314-x86_64-linux-gnu.so: ELF e_machine 62, expected 183",
        "wrapt==2.5.2 locked, missing installed",
    ]


# ------------------------------------------------------------------------------------ the locks


def test_every_lock_is_current():
    assert lock_lambda_requirements.stale_locks() == []


def test_a_changed_requirements_file_makes_its_lock_stale(tmp_path, monkeypatch):
    for folder in lock_lambda_requirements.requirement_dirs():
        copy = tmp_path / folder.name
        copy.mkdir()
        for name in ("requirements.txt", lock_lambda_requirements.LOCK_NAME):
            (copy / name).write_bytes((folder / name).read_bytes())
    with (tmp_path / "validate" / "requirements.txt").open("a") as f:
        f.write("attrs==26.1.0\n")
    monkeypatch.setattr(lock_lambda_requirements, "LAMBDAS", tmp_path)
    monkeypatch.setattr(lock_lambda_requirements, "ROOT", tmp_path)
    assert lock_lambda_requirements.stale_locks() == [
        "validate/requirements-lock.txt: made from another requirements.txt"
    ]


def test_every_lock_pins_a_hash_for_each_package():
    for folder in lock_lambda_requirements.requirement_dirs():
        text = (folder / lock_lambda_requirements.LOCK_NAME).read_text()
        pinned = re.findall(r"^\S+==\S+ \\\n    --hash=sha256:[0-9a-f]{64}$", text, re.MULTILINE)
        requirement_lines = [line for line in text.splitlines() if re.match(r"^[^#\s]", line)]
        assert len(pinned) == len(requirement_lines), folder.name


def test_the_lock_target_is_the_template_runtime_and_architecture(template):
    function = template["Globals"]["Function"]
    assert function["Runtime"] == "python3.14" and function["Architectures"] == ["arm64"]
    assert lock_lambda_requirements.lambda_target() == [
        "--platform",
        "manylinux2014_aarch64",
        "--python-version",
        "3.14",
        "--implementation",
        "cp",
        "--only-binary=:all:",
    ]
