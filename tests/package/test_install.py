"""The packaged round trip, in one new venv made once for this module.

``package`` writes the model wheel next to the ``spacy_cbio`` wheel it requires (spacy-cbio is
on no index). A new venv WITH pip that holds nothing from the checkout gets the distributions
the two wheels declare, transitively, and nothing else (closure.py links them from this
environment, whose versions are the pinned ones, instead of downloading and unpacking torch and
the rest again); pip installs the two wheels offline and ``pip check`` passes. Then, offline and
from a folder outside the repository (the training folder the package was made from is gone):
``spacy.load``, the model card's usage snippet, the ``spacy-cbio annotate`` console script, and
``assemble-config`` + ``train`` with the installed wheel alone. That pip resolves the pinned
stack from the registries is what ``make test``'s own install shows.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from spacy_cbio.about import __version__
from spacy_cbio.package.card import USAGE_TEXT
from spacy_cbio.package.code_wheel import CodeWheelError, copy_code_wheel, find_source_root
from spacy_cbio.train.testing import write_toy_corpus

PACKAGE = "fr_cbio_ner_tiny"  # the name the ``packages`` fixture (conftest.py) gives
TEXT = "Le patient présente une fièvre et une toux ; il prend du paracétamol et de l' amoxicilline ."


def _run(cmd, **kwargs):
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{cmd} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def _fresh_env(venv: Path, offline: bool = True):
    """No PYTHON* variables (nothing from the checkout on the path), the venv first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON") and k != "VIRTUAL_ENV"}
    env.update(VIRTUAL_ENV=str(venv), PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", PIP_NO_INPUT="1")
    if offline:
        env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    return env


@pytest.fixture(scope="module")
def installed(packages, tmp_path_factory):
    """A new venv (with pip) holding the dependencies the two wheels declare, transitively, and
    nothing else (closure.py: hard links to this environment's pinned distributions), where pip
    installed ``fr_cbio_ner_tiny`` and the spacy-cbio wheel from the packages folder, offline, and
    ``pip check`` passed: (its python, a working folder outside the repository)."""
    from closure import link_distributions, requirement_closure, venv_site_packages, wheel_requirements

    folder, _ = packages
    outside = tmp_path_factory.mktemp("fresh_install")
    venv = outside / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    python = venv / "bin" / "python"
    start = time.perf_counter()
    wheels = [next(folder.glob(f"{PACKAGE}-*.whl")), next(folder.glob("spacy_cbio-*.whl"))]
    closure = requirement_closure([req for wheel in wheels for req in wheel_requirements(wheel)],
                                  skip=[PACKAGE, "spacy-cbio"])
    assert {"spacy", "spacy-transformers", "torch", "transformers", "typer"} <= set(closure)
    assert "pytest" not in closure and "mkdocs-material" not in closure  # only what the wheels declare
    link_distributions(closure.values(), venv_site_packages(venv))
    env = _fresh_env(venv)
    _run([str(python), "-m", "pip", "install", "--quiet", "--no-compile", "--no-deps", "--no-index",
          "--find-links", str(folder), PACKAGE, "spacy-cbio"], cwd=outside, env=env, timeout=900)
    checked = _run([str(python), "-m", "pip", "check"], cwd=outside, env=env)
    assert "No broken requirements found" in checked.stdout
    print(f"\nvenv with {len(closure)} distributions and the two wheels: {time.perf_counter() - start:.1f} s")
    return python, outside


def _readme(wheel: Path) -> tuple:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        (readme,) = [n for n in names if n.endswith("/README.md")]
        return archive.read(metadata).decode("utf8"), archive.read(readme).decode("utf8"), readme


def test_package_writes_model_and_code_wheels_side_by_side(packages):
    folder, stdout = packages
    wheels = sorted(p.name for p in folder.glob("*.whl"))
    assert wheels == [f"{PACKAGE}-{__version__}-py3-none-any.whl", f"spacy_cbio-{__version__}-py3-none-any.whl"]
    assert f"pip install --find-links {folder} {PACKAGE}" in stdout
    # the package folder spaCy writes is still there, with its sdist and wheel
    assert {p.suffix for p in (folder / f"{PACKAGE}-{__version__}" / "dist").iterdir()} == {".whl", ".gz"}
    # the model requires the spacy-cbio version that packaged it
    with zipfile.ZipFile(folder / wheels[0]) as archive:
        (metadata,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        assert f"Requires-Dist: spacy-cbio>={__version__}" in archive.read(metadata).decode("utf8")


def test_model_card_is_the_wheels_readme(packages):
    folder, _ = packages
    metadata, readme, path = _readme(folder / f"{PACKAGE}-{__version__}-py3-none-any.whl")
    assert path == f"{PACKAGE}/{PACKAGE}-{__version__}/README.md"
    assert readme.strip() in metadata  # also the wheel's long description
    for section in ("## Install", "## Usage", "## Labels", "## Scores", "## Training data and licences",
                    "## Features", "## Limits"):
        assert section in readme
    assert f"pip install --find-links {folder.as_posix()} {PACKAGE}" in readme
    assert f'spacy.load("{PACKAGE}")' in readme and "ent._.score" in readme
    assert "| `DISO` | disorders" in readme and "| `CHEM` | chemicals & drugs" in readme
    # test scores, the data they come from and the profile that made them (run.json of train)
    assert "seqeval strict mode, IOB2" in readme and "**test set (corpus/ner/quaero/test.spacy)**" in readme
    assert "**`tiny` profile**" in readme and "| micro | 50.00 | 25.00 | 33.33 |" in readme
    assert "GNU FDL" in readme and "quaerofrenchmed" in readme
    assert "Token features: `transformer`" in readme and "training/pretrain/tiny/model" in readme
    assert "not for clinical decisions" in readme


def test_fresh_venv_loads_offline_and_runs_the_card_snippet(installed, packages, tiny_pipeline):
    """One process (imports cost ~15 s here): spacy.load, then the model card's usage snippet.
    The training folder the package was made from is gone: the package carries everything."""
    import spacy

    python, outside = installed
    folder, _ = packages
    _, readme, _ = _readme(folder / f"{PACKAGE}-{__version__}-py3-none-any.whl")
    (snippet,) = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    assert len(snippet.strip().splitlines()) == 5
    reference = spacy.load(tiny_pipeline)(TEXT)
    expected = [(e.text, e.label_) for e in reference.ents]
    script = (
        "import contextlib, io, json, importlib.metadata as md, spacy, spacy_cbio, torch\n"
        f"import {PACKAGE}\n"
        f"nlp = spacy.load({PACKAGE!r})\n"
        f"doc = nlp({TEXT!r})\n"
        "printed = io.StringIO()\n"
        "with contextlib.redirect_stdout(printed):\n"
        f"    exec({snippet!r}, {{}})\n"
        f"print(json.dumps({{'spacy_cbio': spacy_cbio.__file__, 'pkg': {PACKAGE}.__file__, 'torch': torch.__version__,\n"
        "  'direct_url': md.distribution('spacy-cbio').read_text('direct_url.json'),\n"
        "  'pipes': nlp.pipe_names, 'labels': list(nlp.get_pipe('ner').labels), 'trf_data': doc._.trf_data is None,\n"
        "  'tags': [f'{t.ent_iob_}-{t.ent_type_}' for t in doc],\n"
        "  'ents': [(e.text, e.label_, e._.score) for e in doc.ents], 'snippet': printed.getvalue(),\n"
        f"  'n_usage_ents': len(nlp({USAGE_TEXT!r}).ents)}}))\n"
    )
    out = _run([str(python), "-c", script], cwd=outside, env=_fresh_env(python.parents[1]))
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    venv = str(python.parents[1])
    assert loaded["spacy_cbio"].startswith(venv) and loaded["pkg"].startswith(venv)  # the wheels', not the checkout's
    assert loaded["direct_url"] is None or '"editable": true' not in loaded["direct_url"]
    assert loaded["torch"].startswith("2.13.0")
    assert loaded["pipes"] == ["transformer", "ner", "trf_cleaner"] and {"DISO", "CHEM"} <= set(loaded["labels"])
    assert loaded["trf_data"]  # None: the installed pipeline keeps no transformer output per document
    assert loaded["tags"] == [f"{t.ent_iob_}-{t.ent_type_}" for t in reference]
    assert [(text, label) for text, label, _ in loaded["ents"]] == expected
    assert all(0.0 <= score <= 1.0 for *_, score in loaded["ents"])
    lines = loaded["snippet"].strip().splitlines()
    assert len(lines) == loaded["n_usage_ents"]
    for line in lines:  # the snippet prints "<text> <LABEL> <score>"
        *_, label, score = line.split(" ")
        assert label in {"ANAT", "CHEM", "DEVI", "DISO", "GEOG", "LIVB", "OBJC", "PHEN", "PHYS", "PROC"}
        assert 0.0 <= float(score) <= 1.0


def test_annotate_console_script_of_the_installed_wheel(installed):
    python, outside = installed
    notes = outside / "notes"
    notes.mkdir()
    (notes / "a.txt").write_text(TEXT, encoding="utf8")
    (notes / "b.txt").write_text("Aucun effet indésirable n' a été rapporté .", encoding="utf8")
    out = outside / "entities.jsonl"
    _run([str(python.parent / "spacy-cbio"), "annotate", PACKAGE, "notes", "-o", str(out), "--no-progress",
          "--summary", "summary.json"], cwd=outside, env=_fresh_env(python.parents[1]))
    records = [json.loads(line) for line in out.read_text(encoding="utf8").splitlines()]
    assert len(records) == 2 and all("entities" in r for r in records)
    summary = json.loads((outside / "summary.json").read_text())
    assert summary["n_annotated"] == 2 and summary["n_errors"] == 0 and summary["n_words"] > 0


def test_installed_wheel_assembles_and_trains_outside_the_repository(installed, tiny_hf_model_dir, tmp_path):
    python, _ = installed
    paths = write_toy_corpus(tmp_path / "toy")
    overrides = [f"--paths.transformer={tiny_hf_model_dir}", *[f"--{key}={value}" for key, value in paths.items()]]
    env = _fresh_env(python.parents[1])
    _run([str(python), "-m", "spacy_cbio", "assemble-config", "config.cfg", "--profile", "tiny", *overrides],
         cwd=tmp_path, env=env)
    _run([str(python), "-m", "spacy_cbio", "train", "ner", "--profile", "tiny", "--threads", "1", *overrides],
         cwd=tmp_path, env=env)
    record = json.loads((tmp_path / "ner" / "run.json").read_text())
    assert record["versions"]["spacy-cbio"] == __version__
    assert Path(record["argv"][0]).is_relative_to(python.parents[1])  # the installed wheel's code ran
    assert (tmp_path / "config.cfg").read_text() == (tmp_path / "ner" / "config.cfg").read_text()
    assert (tmp_path / "ner" / "model-best" / "meta.json").is_file()


def test_source_root_error_names_the_way_out(tmp_path):
    site = tmp_path / "site-packages" / "spacy_cbio"
    site.mkdir(parents=True)
    with pytest.raises(CodeWheelError, match="--code-wheel none"):
        find_source_root(site)
    assert (find_source_root() / "setup.cfg").is_file()  # this checkout (editable install)


def test_copy_code_wheel_replaces_older_versions(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "spacy_cbio-0.0.9-py3-none-any.whl").write_bytes(b"old")
    new = tmp_path / f"spacy_cbio-{__version__}-py3-none-any.whl"
    new.write_bytes(b"new")
    assert copy_code_wheel(new, out).read_bytes() == b"new"
    assert [p.name for p in out.iterdir()] == [new.name]
    with pytest.raises(CodeWheelError):
        copy_code_wheel(tmp_path / "other.whl", out)


def test_meta_and_card_carry_the_measured_speed_memory_and_size(packages):
    folder, stdout = packages
    inner = folder / f"{PACKAGE}-{__version__}" / PACKAGE / f"{PACKAGE}-{__version__}"
    record = json.loads((inner / "meta.json").read_text(encoding="utf8"))["spacy_cbio"]["inference"]
    # the figures come from the runs of the measurement, and are real measurements
    assert record["words_per_s"] == {str(run["threads"]): run["words_per_s"] for run in record["runs"]}
    assert set(record["words_per_s"]) == {"1", "2"} and all(v > 0 for v in record["words_per_s"].values())
    words = record["texts"]["words"]
    assert all(run["seconds"] > 0 and run["words_per_s"] == pytest.approx(words / run["seconds"], rel=0.02)
               for run in record["runs"])
    assert record["peak_rss_mib"] > 100 and record["load_s"] > 0 and record["size_mb"] > 0
    assert record["machine"]["cpu"] and record["machine"]["cpu_cores"] >= 1 and record["measured"]
    assert "usage sentence" in record["texts"]["source"]  # the fixture's metrics name no test set on disk
    _, readme, _ = _readme(folder / f"{PACKAGE}-{__version__}-py3-none-any.whl")
    assert "## Speed and size" in readme and record["machine"]["cpu"] in readme
    assert all(f"{wps:,.0f}" in readme for wps in record["words_per_s"].values())
    assert f"size on disk: {record['size_mb']:,.1f} MB" in readme and "words/s: " in stdout
