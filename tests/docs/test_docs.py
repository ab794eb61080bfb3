"""The documentation holds together: README.md is a short landing page whose index reaches every
docs/ page in one hop, every relative link and anchor resolves inside the repository, every
`make` target the README names is one `make help` lists, and nothing points outside the
repository (a shared design file, an issue tracker number)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
MAKEFILE = ROOT / "Makefile"
README_MAX_LINES = 200
SKIPPED_DIRS = {"node_modules", ".venv", ".venv-deploy", ".build", "artifacts", ".aws-sam"}

FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
# The same pattern `make help` greps the Makefile with.
HELP_TARGET = re.compile(r"^([a-zA-Z_-]+):.*?## ", re.MULTILINE)
OUTSIDE_REFERENCES = {
    "the shared design file": re.compile(r"DESIGN(\.md)?\s*§|\bDESIGN\.md\b"),
    "the shared folder": re.compile(r"\.\./shared|\bshared/seed\b|/work/"),
    "an issue number": re.compile(r"\bissues?\s+#?\d+", re.IGNORECASE),
}


def markdown_files() -> list[Path]:
    """Every Markdown file of the repository (installed packages and caches pruned)."""
    found = []
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [d for d in subfolders if d not in SKIPPED_DIRS and not d.startswith(".")]
        found += [Path(folder, name) for name in files if name.endswith(".md")]
    return sorted(found)


def prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks (links and headings inside them do not count)."""
    lines, in_fence = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        if not in_fence:
            lines.append(line)
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    result = set()
    for line in prose_lines(path.read_text(encoding="utf-8")):
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


def broken_links(path: Path, root: Path = ROOT) -> list[str]:
    """Each relative link of `path` that leaves `root`, names a missing file or a missing anchor."""
    problems = []
    for line in prose_lines(path.read_text(encoding="utf-8")):
        for target in LINK.findall(line):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:, ...
                continue
            file_part, _, anchor = target.partition("#")
            resolved = (path.parent / file_part).resolve() if file_part else path
            if not resolved.is_relative_to(root):
                problems.append(f"{target}: outside the repository")
            elif not resolved.exists():
                problems.append(f"{target}: no such file")
            elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
                problems.append(f"{target}: no heading with anchor #{anchor} in {resolved.name}")
    return problems


def linked_files(path: Path) -> set[Path]:
    targets = set()
    for line in prose_lines(path.read_text(encoding="utf-8")):
        for target in LINK.findall(line):
            file_part = target.partition("#")[0]
            if file_part and not re.match(r"^[a-z][a-z0-9+.-]*:", file_part):
                targets.add((path.parent / file_part).resolve())
    return targets


def make_targets_named(text: str) -> set[str]:
    """Targets in `make <target>` inline code and in code-block lines that start with make."""
    commands = re.findall(r"`(make(?:\s[^`]*)?)`", text)
    commands += [line.strip() for line in text.splitlines() if line.strip().startswith("make ")]
    targets = set()
    for command in commands:
        for word in command.split()[1:]:
            if word.startswith("#"):
                break
            if "=" not in word and not word.startswith("-"):
                targets.add(word)
    return targets


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves_inside_the_repository(path):
    assert broken_links(path) == []


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_nothing_refers_outside_the_repository(path):
    text = path.read_text(encoding="utf-8")
    found = [
        f"{what}: {match.group(0)!r}"
        for what, pattern in OUTSIDE_REFERENCES.items()
        for match in pattern.finditer(text)
    ]
    assert found == []


def test_readme_is_a_short_landing_page():
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines (at most {README_MAX_LINES})"


def test_readme_indexes_every_docs_page_in_one_hop():
    pages = set(DOCS.glob("*.md"))
    assert pages, "docs/ holds no page"
    missing = sorted(p.name for p in pages - linked_files(README))
    assert missing == [], f"docs pages the README's index does not link: {missing}"


def test_every_make_target_the_readme_names_is_listed_by_make_help():
    listed = set(HELP_TARGET.findall(MAKEFILE.read_text(encoding="utf-8")))
    named = make_targets_named(README.read_text(encoding="utf-8"))
    assert {"test", "run", "up", "deploy"} <= named  # the quick start's four
    assert sorted(named - listed) == []


# The checks themselves must be able to fail.


def test_the_link_check_reports_a_missing_file_a_missing_anchor_and_an_escape(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "page.md").write_text("# A page\n\n## Known deviations\n")
    readme = tmp_path / "README.md"
    readme.write_text(
        "[ok](docs/page.md#known-deviations) [gone](docs/nope.md) "
        "[anchor](docs/page.md#no-such-part) [out](../elsewhere.md) [web](https://aws.amazon.com)\n"
        "```\n[in a code block](docs/ignored.md)\n```\n"
    )
    problems = broken_links(readme, root=tmp_path)
    assert problems == [
        "docs/nope.md: no such file",
        "docs/page.md#no-such-part: no heading with anchor #no-such-part in page.md",
        "../elsewhere.md: outside the repository",
    ]


def test_anchors_follow_github_slugs():
    assert slug("`make run`: the demo") == "make-run-the-demo"
    assert slug("Optimisations of the local stack's hot path") == (
        "optimisations-of-the-local-stacks-hot-path"
    )
    assert slug("After deploying: what to check") == "after-deploying-what-to-check"


def test_make_target_names_are_read_from_commands_not_prose():
    text = "Needs GNU make. Run `make bench N=200 G=4`, `make`, and\n```\nmake up   # go\n```\n"
    assert make_targets_named(text) == {"bench", "up"}
