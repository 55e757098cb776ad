"""A toy French NER corpus for tests and smoke runs (hand-made, entities trivially learnable)."""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Dict, Iterator, List, Sequence, Tuple, Union

import spacy
from spacy.tokens import Doc, DocBin, Span

# (text, [(token start, token end, label)]): DISO and CHEM always on the same words.
TOY_SENTENCES: List[Tuple[str, List[Tuple[int, int, str]]]] = [
    ("Le patient a une fièvre depuis hier .", [(4, 5, "DISO")]),
    ("Prendre du paracétamol le matin .", [(2, 3, "CHEM")]),
    ("Une toux sèche persiste malgré le paracétamol .", [(1, 2, "DISO"), (6, 7, "CHEM")]),
    ("La fièvre a disparu après amoxicilline .", [(1, 2, "DISO"), (5, 6, "CHEM")]),
    ("Aucun effet indésirable n' a été rapporté .", []),
    ("Il prend de l' amoxicilline contre la toux .", [(4, 5, "CHEM"), (7, 8, "DISO")]),
]
PathLike = Union[str, Path]


def toy_docs(n_repeats: int = 2, sentences_per_doc: int = 3) -> List[Doc]:
    """Docs of ``sentences_per_doc`` toy sentences each (sentence starts and entities set)."""
    nlp = spacy.blank("fr")
    docs = []
    items = TOY_SENTENCES * n_repeats
    for i in range(0, len(items), sentences_per_doc):
        group = items[i : i + sentences_per_doc]
        words: List[str] = []
        starts: List[bool] = []
        ents: List[Tuple[int, int, str]] = []
        for text, spans in group:
            offset = len(words)
            tokens = text.split(" ")
            words.extend(tokens)
            starts.extend([True] + [False] * (len(tokens) - 1))
            ents.extend((offset + s, offset + e, label) for s, e, label in spans)
        doc = Doc(nlp.vocab, words=words, sent_starts=starts)
        doc.ents = [Span(doc, s, e, label=label) for s, e, label in ents]
        docs.append(doc)
    return docs


def write_toy_corpus(folder: PathLike, n_repeats: int = 2) -> Dict[str, str]:
    """Write ``train.spacy``, ``dev.spacy``, ``test.spacy``; RETURNS the ``paths.*`` overrides naming them."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for split in ("train", "dev", "test"):
        DocBin(docs=toy_docs(n_repeats), store_user_data=True).to_disk(folder / f"{split}.spacy")
        paths[f"paths.{split}"] = (folder / f"{split}.spacy").as_posix()
    return paths


def long_text(n_words: int, words: Sequence[str] = ("Le", "patient", "a", "une", "fièvre", ".")) -> str:
    """A text of exactly ``n_words`` whitespace-separated words (long-document tests)."""
    return " ".join(words[i % len(words)] for i in range(n_words))


@contextlib.contextmanager
def torch_threads(n: int = 1) -> Iterator[None]:
    """Run torch with ``n`` intra-op threads, then restore the previous setting.

    Tiny models are much faster single-threaded, above all when other processes
    keep the cores busy (thread oversubscription).
    """
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def init_from_config(profile: str, overrides: Dict[str, str]):
    """An initialized pipeline of the assembled config, and its training examples (for tests)."""
    from spacy import util
    from spacy.training.initialize import init_nlp

    from .config import assemble_config

    config = util.load_config_from_str(assemble_config(profile, overrides=overrides).to_str(), interpolate=False)
    nlp = init_nlp(config)
    corpus = util.registry.resolve(config.interpolate()["corpora"])["train"]
    return nlp, list(corpus(nlp))


def update_steps(nlp, examples, n_steps: int, learn_rate: float = 0.003) -> List[float]:
    """Run ``n_steps`` full-batch updates without dropout; RETURNS the NER loss of each step."""
    from thinc.api import Adam

    optimizer = Adam(learn_rate)
    losses = []
    for _ in range(n_steps):
        step: Dict[str, float] = {}
        nlp.update(examples, sgd=optimizer, losses=step, drop=0.0)
        losses.append(step["ner"])
    return losses
