"""``tune``: Optuna study over lr / warmup / batch size, pruning from spaCy's loop, kill and resume."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import optuna
import pytest
import srsly
from optuna.trial import TrialState
from typer.testing import CliRunner

from spacy_cbio.__main__ import app
from spacy_cbio.train.config import assemble_config
from spacy_cbio.train.testing import write_toy_corpus
from spacy_cbio.train.tune import BATCH_KEY, LEARN_RATE_KEY, PAPER_VALUES, SEARCH_SPACE, WARMUP_KEY, run_trial


def test_search_space_contains_paper_values():
    low, high = SEARCH_SPACE[LEARN_RATE_KEY]
    assert low <= PAPER_VALUES[LEARN_RATE_KEY] <= high
    low, high = SEARCH_SPACE[WARMUP_KEY]
    assert low <= PAPER_VALUES[WARMUP_KEY] <= high
    assert PAPER_VALUES[BATCH_KEY] in SEARCH_SPACE[BATCH_KEY]


def test_dev_scores_reach_the_trial_and_pruning_stops_training(tmp_path, tiny_hf_model_dir):
    paths = write_toy_corpus(tmp_path / "toy")
    config = assemble_config("tiny", overrides={**paths, "paths.transformer": str(tiny_hf_model_dir),
                                                "training.max_steps": 6, "training.eval_frequency": 2})
    seen = []

    def report(step, score):
        seen.append((step, score))

    best = run_trial(config, dict(PAPER_VALUES), report)
    assert [step for step, _ in seen] == [0, 2, 4, 6]
    assert best == max(score for _, score in seen)

    study = optuna.create_study(direction="maximize")

    def objective(trial):
        def prune(step, score):
            seen.append(("pruned", step))
            raise optuna.TrialPruned()

        return run_trial(config, dict(PAPER_VALUES), prune)

    study.optimize(objective, n_trials=1)
    assert study.trials[0].state == TrialState.PRUNED
    assert seen[-1] == ("pruned", 0)  # stopped at the first evaluation


def _tune_command(out, paths, model_dir, n_trials=3):
    return [sys.executable, "-m", "spacy_cbio", "tune", str(out), "--profile", "tiny", "--n-trials", str(n_trials),
            "--threads", "1", "--paths.train", paths["paths.train"], "--paths.dev", paths["paths.dev"],
            "--paths.transformer", str(model_dir), "--training.max_steps", "12", "--training.eval_frequency", "4"]


def _finished(storage: str, name: str) -> int:
    if not os.path.exists(storage[len("sqlite:///"):]):
        return 0
    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except (KeyError, Exception):  # not created yet, or the database is being written
        return 0
    return len(study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED)))


def test_killed_study_resumes(tmp_path, tiny_hf_model_dir):
    paths = write_toy_corpus(tmp_path / "toy")
    out = tmp_path / "study"
    storage = f"sqlite:///{(out / 'study.db').as_posix()}"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(_tune_command(out, paths, tiny_hf_model_dir), env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and process.poll() is None and _finished(storage, "toy") < 1:
        time.sleep(0.2)
    still_running = process.poll() is None
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert still_running, "the 3-trial study ended before it could be killed"
    assert _finished(storage, "toy") in (1, 2)

    result = subprocess.run(_tune_command(out, paths, tiny_hf_model_dir), env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Resuming study 'toy'" in result.stderr  # the CLI logs progress to stderr
    study = optuna.load_study(study_name="toy", storage=storage)
    assert len(study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED))) == 3
    assert not study.get_trials(states=(TrialState.RUNNING,))
    # the first trial ran the paper's values
    assert study.trials[0].params == {"learn_rate": 5e-5, "warmup_ratio": 0.224, "batch_size": 16}
    best = srsly.read_json(out / "best.json")
    assert best["best_values"][BATCH_KEY] in (8, 16, 32)
    assert (out / "history.png").read_bytes()[:4] == b"\x89PNG"
    # best.cfg is a profile that train takes
    config = assemble_config(out / "best.cfg", overrides={**paths, "paths.transformer": str(tiny_hf_model_dir)})
    assert config["training"]["batcher"]["size"] == best["best_values"][BATCH_KEY]
    assert config["training"]["optimizer"]["learn_rate"]["initial_rate"] == pytest.approx(best["best_values"][LEARN_RATE_KEY])
    # nothing left to do: a third call (in this process) adds no trial
    again = CliRunner().invoke(app, _tune_command(out, paths, tiny_hf_model_dir)[3:])
    assert again.exit_code == 0, again.output
    after = optuna.load_study(study_name="toy", storage=storage)
    assert len(after.trials) == len(study.trials)  # the killed trial, marked failed, and the 3 counted
    assert best["chosen_on"]["split"] == "dev" and best["chosen_on"]["dataset"] == "toy"


def test_cnn_study_tunes_its_own_space_on_dev(tmp_path):
    """The CNN baseline gets the same budget on its own knobs (rate, dropout, width); the first
    trial runs spaCy's stock values and best.cfg is the CNN config with the best values."""
    from confection import Config

    paths = write_toy_corpus(tmp_path / "toy")
    out = tmp_path / "cnn-study"
    command = ["tune", str(out), "--recipe", "cnn", "--n-trials", "2",
               "--threads", "1", "--paths.train", paths["paths.train"], "--paths.dev", paths["paths.dev"],
               "--training.max_steps", "4", "--training.eval_frequency", "2"]
    result = CliRunner().invoke(app, command)  # in this process: the CNN study needs no fresh one
    assert result.exit_code == 0, result.output
    best = srsly.read_json(out / "best.json")
    assert best["recipe"] == "cnn" and best["chosen_on"]["split"] == "dev"
    assert set(best["best_values"]) == {"training.optimizer.learn_rate", "training.dropout",
                                        "components.tok2vec.model.encode.width"}
    assert best["trials"][0]["params"] == {"learn_rate": 1e-3, "dropout": 0.1, "width": 256}
    config = Config().from_disk(out / "best.cfg", interpolate=False)
    assert config["training"]["dropout"] == pytest.approx(best["best_values"]["training.dropout"])
    assert config["components"]["tok2vec"]["model"]["encode"]["width"] == \
        best["best_values"]["components.tok2vec.model.encode.width"]
