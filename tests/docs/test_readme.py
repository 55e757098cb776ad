"""The README's workflow section is what ``spacy project document`` (weasel) makes of project.yml
today, and the README stays a front door."""
from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
START = "<!-- WEASEL: AUTO-GENERATED DOCS START (do not remove) -->"
END = "<!-- WEASEL: AUTO-GENERATED DOCS END (do not remove) -->"


def _section(text: str) -> str:
    assert text.count(START) == 1 and text.count(END) == 1
    return START + text.split(START)[1].split(END)[0] + END


def test_workflow_section_is_generated_from_project_yml(tmp_path):
    from weasel.cli.document import project_document

    generated = tmp_path / "generated.md"
    project_document(REPO, generated)
    readme = (REPO / "README.md").read_text(encoding="utf8")
    assert _section(readme) == _section(generated.read_text(encoding="utf8")), (
        "README.md's workflow section is stale: run `python -m spacy project document . --output README.md`")


def test_readme_is_a_front_door():
    readme = (REPO / "README.md").read_text(encoding="utf8")
    assert len(readme.splitlines()) <= 250
    for heading in ("## Quick start", "## Models", "## Two commands on a fresh machine", "## Documentation",
                    "## Data and licences", "## Citing", "## Contributing"):
        assert heading in readme, heading
    assert 'spacy.load("fr_cbio_ner")' in readme and "annotate" in readme
    assert "docs/results/small/RESULTS.md" in readme and "benchmarks/BENCHMARKS.md" in readme
