"""The documentation: the MkDocs site builds in strict mode (a broken link fails), the README stays short and its
links resolve, and the maintainers' pages agree with the code they describe."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from markdown.extensions.toc import slugify
from synth_helpers import REPO

README = REPO / "README.md"
MKDOCS = REPO / "mkdocs.yml"
CORRECTIONS_MODULE = REPO / "tests" / "rehearsal" / "moto_corrections.py"
CORRECTIONS_PAGE = REPO / "docs" / "maintainers" / "emulator-corrections.md"
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")


def mkdocs_build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(config),
            "--site-dir",
            str(site),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},  # Material prints its end-of-life notice otherwise
        timeout=300,
    )


# --- the site -----------------------------------------------------------------------------------------------


def test_the_site_builds_in_strict_mode(tmp_path: Path) -> None:
    result = mkdocs_build(MKDOCS, tmp_path / "site")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "site" / "index.html").exists()
    assert (tmp_path / "site" / "reference" / "props" / "index.html").exists()


@pytest.mark.parametrize(
    "link, complaint",
    [
        ("nowhere.md", "is not found among documentation files"),
        ("page.md#no-such-heading", "does not contain an anchor '#no-such-heading'"),
    ],
)
def test_a_broken_link_fails_the_strict_build(tmp_path: Path, link: str, complaint: str) -> None:
    """The project's own settings (INHERIT) on a two-page site with one broken link."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text(f"# Home\n\nSee [the page]({link}).\n")
    (docs / "page.md").write_text("# Page\n\n## A heading\n")
    config = tmp_path / "mkdocs.yml"
    config.write_text(f"INHERIT: {MKDOCS}\ndocs_dir: {docs}\nnav:\n  - index.md\n  - page.md\n")
    result = mkdocs_build(config, tmp_path / "site")
    assert result.returncode != 0
    assert complaint in result.stderr


def test_the_site_uses_no_plugin_that_reaches_the_network() -> None:
    """Only the built-in search (Material's privacy and social plugins fetch), and no web fonts."""
    text = MKDOCS.read_text()
    plugins = re.search(r"^plugins:\n((?:  - .*\n)+)", text, re.MULTILINE)
    assert plugins is not None and plugins.group(1).split() == ["-", "search"]
    assert re.search(r"^  font: false$", text, re.MULTILINE)


# --- the README ---------------------------------------------------------------------------------------------


def test_the_readme_is_at_most_300_lines() -> None:
    assert len(README.read_text().splitlines()) <= 300


def test_the_readme_shows_the_two_commands() -> None:
    text = README.read_text()
    assert "make synth" in text and "make test" in text


def heading_slugs(page: Path) -> set[str]:
    """The anchors MkDocs gives the page's headings (Python-Markdown's toc slugify, outside code fences)."""
    slugs: set[str] = set()
    fenced = False
    for line in page.read_text().splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("#"):
            slugs.add(slugify(line.lstrip("#").strip().replace("`", ""), "-"))
    return slugs


def readme_links() -> list[str]:
    return [link for link in MARKDOWN_LINK.findall(README.read_text()) if "://" not in link]


def test_the_readme_links_into_the_docs() -> None:
    assert any(link.startswith("docs/") for link in readme_links())


@pytest.mark.parametrize("link", readme_links())
def test_every_relative_link_in_the_readme_resolves(link: str) -> None:
    path, _, anchor = link.partition("#")
    target = REPO / path
    assert target.is_file(), link
    if anchor:
        assert anchor in heading_slugs(target), link


# --- the maintainers' pages ---------------------------------------------------------------------------------


def corrections_in_the_module() -> tuple[set[str], str]:
    """The corrections the emulator applies (EMULATOR_PATCHES) and MOTO_VERSION, read without importing moto."""
    tree = ast.parse(CORRECTIONS_MODULE.read_text())
    names: set[str] = set()
    version = ""
    for node in tree.body:
        if isinstance(node, ast.AnnAssign | ast.Assign):
            targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
            target_names = {t.id for t in targets if isinstance(t, ast.Name)}
            if "EMULATOR_PATCHES" in target_names and isinstance(node.value, ast.Tuple):
                names = {element.id for element in node.value.elts if isinstance(element, ast.Name)}
            if "MOTO_VERSION" in target_names and isinstance(node.value, ast.Constant):
                version = str(node.value.value)
    return names, version


def corrections_on_the_page() -> dict[str, str]:
    """Correction name -> its "targets" cell, from the page's table."""
    rows: dict[str, str] = {}
    for line in CORRECTIONS_PAGE.read_text().splitlines():
        if line.startswith("| `"):
            cells = [cell.strip() for cell in line.strip("|").split(" | ")]
            rows[cells[0].strip("`")] = cells[1]
    return rows


def test_the_emulator_corrections_page_lists_every_correction_the_emulator_applies() -> None:
    names, _ = corrections_in_the_module()
    assert names and set(corrections_on_the_page()) == names


def test_the_emulator_corrections_page_names_the_moto_version_each_targets() -> None:
    _, version = corrections_in_the_module()
    assert version and set(corrections_on_the_page().values()) == {f"moto {version}"}
