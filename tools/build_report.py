"""Check and size what `sam build` wrote for the layer and the functions.

For each built resource (.aws-sam/build/<LogicalId>): every shared object (*.so) must be an ELF
file for the template's architecture, and every package pinned by the resource's
requirements-lock.txt must be installed at its pinned version. Prints the unpacked size and the
number of files and shared objects of each resource; exit status 1 on any finding.

Reading e_machine by hand: it is one 16-bit field at a fixed offset of the ELF header (System V
ABI), so a parser library (pyelftools) would be one more pinned dependency for two bytes.

Usage: python tools/build_report.py [build dir]   (default .aws-sam/build)
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parent.parent
ELF_MAGIC = b"\x7fELF"
# ELF e_machine values (System V ABI, "Machine architectures") of Lambda's architectures.
E_MACHINE = {"arm64": 183, "x86_64": 62}
CODE_PROPERTY = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
}
# Where a resource's packages are installed inside its build folder.
PACKAGE_ROOT = {"AWS::Serverless::Function": ".", "AWS::Serverless::LayerVersion": "python"}


@dataclass
class ResourceReport:
    logical_id: str
    size_bytes: int = 0
    files: int = 0
    shared_objects: int = 0
    problems: list[str] = field(default_factory=list)


def elf_machine(path: Path) -> int | None:
    """e_machine of an ELF file, None if the file is not ELF."""
    header = path.read_bytes()[:20]
    if len(header) < 20 or not header.startswith(ELF_MAGIC):
        return None
    byteorder = "little" if header[5] == 1 else "big"  # EI_DATA: 1 = LSB, 2 = MSB
    return int.from_bytes(header[18:20], byteorder)


def locked_pins(lock: Path) -> dict[str, str]:
    """Normalised distribution name -> version of a requirements-lock.txt."""
    pairs = re.findall(r"^([A-Za-z0-9._-]+)==(\S+)", lock.read_text(), re.MULTILINE)
    return {normalise(name): version for name, version in pairs}


def installed_distributions(package_root: Path) -> dict[str, str]:
    """Normalised name -> version of the *.dist-info folders pip wrote."""
    found = {}
    for info in package_root.glob("*.dist-info"):
        name, _, version = info.name[: -len(".dist-info")].partition("-")
        found[normalise(name)] = version
    return found


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def built_resources(template_path: Path) -> dict[str, tuple[str, Path]]:
    """Logical id -> (type, source folder) of each function and layer in the template."""
    template, matches = decode(str(template_path))
    if matches:
        raise SystemExit("\n".join(str(m) for m in matches))
    found = {}
    for logical_id, resource in template["Resources"].items():
        prop = CODE_PROPERTY.get(resource["Type"])
        if prop is not None:
            source = template_path.parent / resource["Properties"][prop]
            found[logical_id] = (resource["Type"], source)
    return found


def architecture(template_path: Path) -> str:
    template, _ = decode(str(template_path))
    (arch,) = template["Globals"]["Function"]["Architectures"]
    return arch


def check_resource(
    logical_id: str, kind: str, source: Path, build_dir: Path, machine: int
) -> ResourceReport:
    report = ResourceReport(logical_id)
    folder = build_dir / logical_id
    if not folder.is_dir():
        report.problems.append(f"{folder} was not built")
        return report
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        report.files += 1
        report.size_bytes += path.stat().st_size
        if path.suffix == ".so" or ".so." in path.name:
            report.shared_objects += 1
            found = elf_machine(path)
            if found != machine:
                shown = path.relative_to(folder)
                report.problems.append(f"{shown}: ELF e_machine {found}, expected {machine}")
    installed = installed_distributions(folder / PACKAGE_ROOT[kind])
    for name, version in locked_pins(source / "requirements-lock.txt").items():
        if installed.get(name) != version:
            got = installed.get(name, "missing")
            report.problems.append(f"{name}=={version} locked, {got} installed")
    return report


def reports(build_dir: Path, template_path: Path = ROOT / "template.yaml") -> list[ResourceReport]:
    machine = E_MACHINE[architecture(template_path)]
    return [
        check_resource(logical_id, kind, source, build_dir, machine)
        for logical_id, (kind, source) in built_resources(template_path).items()
    ]


def main(argv: list[str]) -> int:
    build_dir = Path(argv[1]) if len(argv) > 1 else ROOT / ".aws-sam" / "build"
    results = reports(build_dir)
    print(f"{'resource':<26} {'unpacked':>10} {'files':>6} {'.so':>4}")
    for r in results:
        size = f"{r.size_bytes / 1e6:>8.2f} MB"
        print(f"{r.logical_id:<26} {size} {r.files:>6} {r.shared_objects:>4}")
        for problem in r.problems:
            print(f"  {r.logical_id}: {problem}")
    return 1 if any(r.problems for r in results) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
