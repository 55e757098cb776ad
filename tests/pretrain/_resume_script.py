"""Helper for test_mlm: one tiny MLM run, optionally slowed down after each step.

usage: python _resume_script.py RUN_DIR TOKENIZER_DIR MAX_STEPS [--resume] [--slow SECONDS]
       [--lr LR] [--model-seed SEED]
(``main`` is also called in-process by the tests.)
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from datasets import Dataset
from transformers import AutoTokenizer, TrainerCallback

from spacy_cbio.pretrain.blocks import tokenize_and_pack
from spacy_cbio.pretrain.mlm import run_mlm
from spacy_cbio.pretrain.modeling import init_model
from spacy_cbio.pretrain.testing import TINY_PROFILE, sample_texts


class Slow(TrainerCallback):
    def __init__(self, seconds: float):
        self.seconds = seconds

    def on_step_end(self, args, state, control, **kw):
        time.sleep(self.seconds)


def _option(argv, name, default):
    return type(default)(argv[argv.index(name) + 1]) if name in argv else default


def main(argv):
    argv = [str(a) for a in argv]
    run_dir, tok_dir, steps = Path(argv[0]), argv[1], int(argv[2])
    slow = _option(argv, "--slow", 0.0)
    tok = AutoTokenizer.from_pretrained(tok_dir)
    texts = sample_texts()
    train = tokenize_and_pack(Dataset.from_dict({"text": texts[:280]}), tok, 48, seed=0)
    valid = tokenize_and_pack(Dataset.from_dict({"text": texts[280:]}), tok, 48)
    model, tok = init_model(TINY_PROFILE, tok, seed=_option(argv, "--model-seed", 0))
    cfg = {"max_steps": steps, "save_steps": 4, "eval_steps": 6, "logging_steps": 2, "seq_len": 48,
           "batch_size": 4, "grad_accum": 2, "lr": _option(argv, "--lr", 0.002), "num_threads": 1,
           "max_eval_blocks": 16}
    return run_mlm("resume-test", model, tok, train, valid, cfg, run_dir, resume="--resume" in argv,
                   callbacks=[Slow(slow)] if slow else ())


if __name__ == "__main__":
    main(sys.argv[1:])
