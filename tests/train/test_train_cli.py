"""``train`` on the command line: spaCy-style overrides, missing data (CAS: how to get it; exit 0
only with --skip-missing), and one meaning per short flag across every command."""
import typer
from typer.testing import CliRunner

from spacy_cbio.__main__ import app

CAS1 = ["--paths.train", "corpus/ner/cas1/train.spacy", "--paths.dev=corpus/ner/cas1/dev.spacy"]


def test_train_cas_without_data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # corpus/ner/cas1/*.spacy do not exist here
    (tmp_path / "model").mkdir()
    runner = CliRunner()
    args = ["train", "out", "--profile", "tiny", *CAS1, "--paths.transformer", "model", "--system.seed", "0"]
    skipped = runner.invoke(app, args + ["--skip-missing"])
    assert skipped.exit_code == 0, skipped.output
    assert "Skipped training out" in skipped.output and "corpus/ner/cas1/train.spacy" in skipped.output
    assert "deft.lisn.upsaclay.fr" in skipped.output and "--cas1-dir" in skipped.output
    assert not (tmp_path / "out").exists()
    failed = runner.invoke(app, args)
    assert failed.exit_code == 1
    assert not (tmp_path / "out").exists()


def test_train_rejects_missing_transformer_and_bad_overrides(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    no_model = runner.invoke(app, ["train", "out", *CAS1, "--paths.transformer", "nowhere", "--skip-missing"])
    assert no_model.exit_code == 2 and "nowhere" in no_model.output
    not_dotted = runner.invoke(app, ["train", "out", "--max_steps", "3"])
    assert not_dotted.exit_code == 2 and "--max_steps" in not_dotted.output
    no_section = runner.invoke(app, ["assemble-config", "x.cfg", "--nosection.key", "3"])
    assert no_section.exit_code == 2 and "nosection" in no_section.output
    assert not (tmp_path / "x.cfg").exists()
    unknown_profile = runner.invoke(app, ["train", "out", "--profile", "huge"])
    assert unknown_profile.exit_code == 2 and "huge" in unknown_profile.output


def test_package_skip_missing(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["package", str(tmp_path / "none"), str(tmp_path / "pk"),
                                 "--dataset", "cas2", "--skip-missing"])
    assert result.exit_code == 0 and "Skipped" in result.output
    failed = runner.invoke(app, ["package", str(tmp_path / "none"), str(tmp_path / "pk"), "--dataset", "cas2"])
    assert failed.exit_code == 1


def test_short_flags_mean_one_thing_everywhere():
    group = typer.main.get_command(app)
    meanings = {}
    for name, command in group.commands.items():
        for param in command.params:
            if param.param_type_name != "option":
                continue
            longs = tuple(sorted(o for o in param.opts if o.startswith("--")))
            for short in (o for o in param.opts + param.secondary_opts if not o.startswith("--")):
                meanings.setdefault(short, {}).setdefault(longs, []).append(name)
    conflicts = {short: found for short, found in meanings.items() if len(found) > 1}
    assert not conflicts
    assert list(meanings["-g"]) == [("--gpu-id",)]
