"""Install a requirements file into its own folder, the way `sam build` packages a function.

A function (or the layer) then runs with only that folder on sys.path, so a dependency missing
from its requirements.txt fails locally exactly as it would in AWS. Folders are cached by a hash
of the requirements text, so only the first run pays for pip.
"""

from __future__ import annotations

import fcntl
import hashlib
import subprocess
import sys
from pathlib import Path

from local_aws import config as settings

BUILD_ROOT = settings.build_dir()
RUNTIME_REQUIREMENTS = Path(__file__).resolve().parent / "runtime_requirements.txt"


def _requirement_lines(requirements_file: Path) -> list[str]:
    lines = []
    for raw in requirements_file.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return sorted(lines)


def install_requirements(requirements_file: Path) -> Path:
    """Return a folder holding exactly the packages listed in requirements_file (may be empty)."""
    lines = _requirement_lines(Path(requirements_file))
    digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]
    target = BUILD_ROOT / digest
    marker = target / ".installed"
    if marker.exists():
        return target
    BUILD_ROOT.mkdir(parents=True, exist_ok=True)
    # Several processes (test workers, the local stack) may ask for the same folder at once.
    with open(BUILD_ROOT / f"{digest}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists():
            target.mkdir(parents=True, exist_ok=True)
            if lines:
                subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "pip",
                        "install",
                        "--quiet",
                        "--disable-pip-version-check",
                        "--no-compile",
                        "--upgrade",
                        "--target",
                        str(target),
                        *lines,
                    ],
                    check=True,
                )
            marker.write_text("\n".join(lines) + "\n")
    return target


def runtime_path() -> Path:
    """The packages the Lambda runtime ships (boto3, botocore)."""
    return install_requirements(RUNTIME_REQUIREMENTS)


def main(argv: list[str]) -> int:
    """`python -m local_aws.awslambda.packages [requirements.txt ...]`: install the runtime's
    packages and each file's folder ahead of time (what the first deploy would do), so that
    parallel test workers do not all wait on the same pip at their first cold start."""
    for requirements in (RUNTIME_REQUIREMENTS, *map(Path, argv)):
        print(f"{requirements}: {install_requirements(requirements)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
