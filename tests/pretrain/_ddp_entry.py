"""Entry point of test_multiprocess under torchrun / accelerate launch: spacy_cbio's CLI plus test probes.

usage: torchrun --nproc_per_node 2 tests/pretrain/_ddp_entry.py pretrain-run ...   (the spacy_cbio CLI's arguments)

SPACY_CBIO_TEST_TRACE=DIR: every rank writes DIR/rank<N>.json at exit: the sample numbers (``idx``) of
    its training batches, and the files it wrote (``open`` for writing, ``torch.save``, transformers'
    safetensors save).
SPACY_CBIO_TEST_STOP_AT=STEP: every rank exits abruptly (``os._exit(137)``, as if killed) right after the
    checkpoint of STEP is saved, so that ``--resume`` has a killed run to continue.
"""
from __future__ import annotations

import atexit
import builtins
import io
import json
import os
import sys
from pathlib import Path

TRACE = os.environ.get("SPACY_CBIO_TEST_TRACE")
STOP_AT = int(os.environ.get("SPACY_CBIO_TEST_STOP_AT", "0"))
RANK = int(os.environ.get("RANK", "0"))
record = {"rank": RANK, "world_size": int(os.environ.get("WORLD_SIZE", "1")), "train_idx": [], "writes": []}


def _dump() -> None:
    if TRACE:
        Path(TRACE).mkdir(parents=True, exist_ok=True)
        with _real_open(Path(TRACE) / f"rank{RANK}.json", "w", encoding="utf8") as f:
            json.dump(record, f)


_real_open = builtins.open


def _tracing_open(file, mode="r", *args, **kwargs):
    if any(c in str(mode) for c in "wax+") and isinstance(file, (str, os.PathLike)):
        record["writes"].append(os.path.abspath(os.fspath(file)))
    return _real_open(file, mode, *args, **kwargs)


def _install() -> None:
    from transformers import TrainerCallback

    import spacy_cbio.pretrain.mlm as mlm

    import torch
    import transformers.modeling_utils as modeling_utils

    builtins.open = _tracing_open
    io.open = _tracing_open

    def traced(save, path_arg):
        def wrapper(*args, **kwargs):
            target = args[path_arg] if len(args) > path_arg else kwargs.get("f", kwargs.get("filename"))
            if isinstance(target, (str, os.PathLike)):
                record["writes"].append(os.path.abspath(os.fspath(target)))
            return save(*args, **kwargs)

        return wrapper

    torch.save = traced(torch.save, 1)  # optimizer, scheduler, RNG states (written by C++, not open())
    modeling_utils.safe_save_file = traced(modeling_utils.safe_save_file, 1)  # model.safetensors (Rust)
    atexit.register(_dump)

    class TracingTrainer(mlm.PretrainTrainer):
        def get_train_dataloader(self):
            inner = self.data_collator

            def collate(examples):
                record["train_idx"].extend(int(e["idx"]) for e in examples)
                return inner(examples)

            self.data_collator = collate
            try:
                return super().get_train_dataloader()
            finally:
                self.data_collator = inner

    class StopAt(TrainerCallback):
        def on_save(self, args, state, control, **kw):
            if STOP_AT and state.global_step == STOP_AT:
                import torch.distributed as dist

                if dist.is_initialized():
                    dist.barrier()  # every rank's checkpoint files are written
                _dump()
                os._exit(137)

    mlm.PretrainTrainer = TracingTrainer
    original = mlm.run_mlm

    def run_mlm(*args, callbacks=(), **kwargs):
        return original(*args, callbacks=[*callbacks, StopAt()], **kwargs)

    import spacy_cbio.pretrain.stage as stage

    stage.run_mlm = run_mlm


if __name__ == "__main__":
    _install()
    from spacy_cbio.__main__ import app

    sys.argv = ["spacy_cbio", *sys.argv[1:]]
    app()
