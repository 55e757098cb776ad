"""The dataset table: every NER corpus, what it is and how it is read.

``DATASETS`` is the one place that names a dataset, its licence, labels, description,
upstream URL, location under the data root and splits; the data stage (``convert``),
the pretraining corpus builder (``corpus_scripts``: held-out text), the package metadata
and the README all read it. Names: ``e3c``, ``emea``, ``medline``, ``quaero`` (EMEA +
MEDLINE), ``mantra`` (test only), ``cas1``, ``cas2`` (user-supplied DEFT 2020 directories).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import spacy
from spacy.tokens import Doc

from .annotations import SourceDoc
from .brat import read_brat_dir
from .e3c import COLLECTION, FRENCH, e3c_splits, read_e3c_collection, read_e3c_xmi, seeded_splits
from .errors import DataError, Ledger
from .tokenize import source_to_doc

SPLITS = ("train", "dev", "test")
PathLike = Union[str, Path]


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset of the table.

    ``labels``: the entity labels of its flat view (empty when they come from the user's
    files, as for CAS). ``required``: the path under the data root that must exist (""
    for user-supplied directories). ``reader(root, split, **options)`` gives the
    ``SourceDoc``s of one split.
    """

    name: str
    description: str
    licence: str
    labels: Tuple[str, ...]
    url: str
    required: str
    splits: Tuple[str, ...]
    reader: Callable[..., List[SourceDoc]]

    def to_meta(self) -> Dict[str, Any]:
        """A spaCy ``meta.json`` ``sources`` entry: name, description, license, url, labels."""
        return {"name": self.name, "description": self.description, "license": self.licence,
                "url": self.url, "labels": list(self.labels)}


def _e3c(root: Path, split: str, *, protocol: str, seed: int, ledger: Ledger, **_) -> List[SourceDoc]:
    base = root / "e3c"
    layer, ids = e3c_splits(base, protocol, seed)[split]
    folder = base / FRENCH / f"layer{layer}"
    return [read_e3c_xmi(folder / f"{i}.xml", ledger=ledger) for i in ids]


def _quaero(subsets: Sequence[str]) -> Callable[..., List[SourceDoc]]:
    def read(root: Path, split: str, *, lenient: bool, ledger: Ledger, **_) -> List[SourceDoc]:
        docs: List[SourceDoc] = []
        for sub in subsets:
            docs.extend(read_brat_dir(root / "quaero" / "corpus" / split / sub, lenient=lenient,
                                      ledger=ledger, id_prefix=f"{sub}/"))
        return docs
    return read


MANTRA_DIR = "mantra_gsc/Mantra-GSC/French"


def _mantra(root: Path, split: str, *, lenient: bool, ledger: Ledger, **_) -> List[SourceDoc]:
    if split != "test":
        return []
    docs: List[SourceDoc] = []
    for sub in sorted(p for p in (root / MANTRA_DIR).iterdir() if p.is_dir()):
        short = sub.name.split("_")[0]
        docs.extend(read_brat_dir(sub, label_from="notes_group", lenient=lenient, ledger=ledger,
                                  id_prefix=f"{short}/"))
    return docs


def cas_split_dirs(cas_dir: Path, seed: int, dev_fraction: float = 0.1,
                   test_fraction: float = 0.1) -> Dict[str, Tuple[Path, Optional[List[str]]]]:
    """``{split: (folder, doc stems or None for all)}``: train/dev/test subfolders if present,
    otherwise a seeded document split of the flat folder (80/10/10 by default)."""
    if all((cas_dir / s).is_dir() for s in SPLITS):
        return {s: (cas_dir / s, None) for s in SPLITS}
    stems = sorted({p.stem for p in cas_dir.glob("*.ann")} | {p.stem for p in cas_dir.glob("*.txt")})
    if not stems:
        raise DataError(cas_dir, "no .ann/.txt files and no train/dev/test subfolders")
    splits = seeded_splits(stems, seed, dev_fraction, test_fraction)
    return {split: (cas_dir, ids) for split, ids in splits.items()}


def _cas(key: str) -> Callable[..., List[SourceDoc]]:
    def read(root: Path, split: str, *, seed: int, lenient: bool, ledger: Ledger,
             cas_dirs: Optional[Dict[str, PathLike]] = None, **_) -> List[SourceDoc]:
        cas_dir = (cas_dirs or {}).get(key)
        if not cas_dir:
            raise DataError(f"<{key} directory>", f"{key} is not public: pass its directory "
                            f"(--{key}-dir); see {CAS_HELP_URL}")
        folder, stems = cas_split_dirs(Path(cas_dir), seed)[split]
        docs = read_brat_dir(folder, lenient=lenient, ledger=ledger)
        return docs if stems is None else [d for d in docs if d.doc_id in set(stems)]
    return read


CAS_HELP_URL = "https://deft.lisn.upsaclay.fr/2020/"
CAS_HELP = (
    "CAS1/CAS2 (DEFT 2020 task 3) are distributed only under the DEFT 2020 data-use agreement: "
    f"request them via {CAS_HELP_URL} , unpack the BRAT files (.txt + .ann, optionally in "
    "train/dev/test subfolders) and pass the folder with --cas1-dir / --cas2-dir."
)

UMLS_GROUPS_QUAERO = ("ANAT", "CHEM", "DEVI", "DISO", "GEOG", "LIVB", "OBJC", "PHEN", "PHYS", "PROC")
QUAERO_URL = "https://quaerofrenchmed.limsi.fr/"
QUAERO_LICENCE = "GNU FDL"
CAS_LICENCE = "DEFT 2020 data-use agreement (not redistributable)"

DATASETS: Dict[str, DatasetSpec] = {spec.name: spec for spec in (
    DatasetSpec("e3c", "E3C French clinical entities (CLINENTITY)", "CC BY-NC", ("CLINENTITY",),
                "https://github.com/hltfbk/E3C-Corpus", "e3c/" + FRENCH, SPLITS, _e3c),
    DatasetSpec("emea", "QUAERO EMEA (drug leaflets), 10 UMLS groups", QUAERO_LICENCE, UMLS_GROUPS_QUAERO,
                QUAERO_URL, "quaero/corpus", SPLITS, _quaero(["EMEA"])),
    DatasetSpec("medline", "QUAERO MEDLINE (titles), 10 UMLS groups", QUAERO_LICENCE, UMLS_GROUPS_QUAERO,
                QUAERO_URL, "quaero/corpus", SPLITS, _quaero(["MEDLINE"])),
    DatasetSpec("quaero", "QUAERO EMEA + MEDLINE, 10 UMLS groups", QUAERO_LICENCE, UMLS_GROUPS_QUAERO,
                QUAERO_URL, "quaero/corpus", SPLITS, _quaero(["EMEA", "MEDLINE"])),
    DatasetSpec("mantra", "Mantra GSC French (EMEA, Medline, patents), UMLS groups; test only", "GPL-3.0",
                UMLS_GROUPS_QUAERO, "https://github.com/mi-erasmusmc/Mantra-Gold-Standard-Corpus",
                MANTRA_DIR, ("test",), _mantra),
    DatasetSpec("cas1", "DEFT 2020 task 3 CAS1 (user-supplied)", CAS_LICENCE, (), CAS_HELP_URL, "", SPLITS,
                _cas("cas1")),
    DatasetSpec("cas2", "DEFT 2020 task 3 CAS2 (user-supplied)", CAS_LICENCE, (), CAS_HELP_URL, "", SPLITS,
                _cas("cas2")),
)}


def user_spec(name: str, path: Optional[PathLike] = None, licence: Optional[str] = None) -> DatasetSpec:
    """The spec of a user's own corpus (:mod:`.user`): labels from its files, at ``path`` (none:
    a spec that describes it, e.g. for a package's metadata, and reads nothing)."""
    from .user import USER_LICENCE, check_name, read_user_split

    check_name(name, reserved=tuple(DATASETS))

    def read(root: Path, split: str, *, seed: int, lenient: bool, ledger: Ledger, **_) -> List[SourceDoc]:
        if path is None:
            raise ValueError(f"user corpus {name}: no folder or file given to read")
        return read_user_split(Path(path), split, seed=seed, lenient=lenient, ledger=ledger)

    description = f"user corpus {name}" + (f" ({Path(path).name})" if path is not None else "")
    return DatasetSpec(name, description, licence or USER_LICENCE, (), "", "", SPLITS, read)


def get_spec(name: str) -> DatasetSpec:
    """The ``DatasetSpec`` for ``name`` (``ValueError`` listing the known names otherwise)."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    return DATASETS[name]


def is_available(name: str, root: PathLike, cas_dirs: Optional[Dict[str, PathLike]] = None) -> bool:
    """Whether the data for ``name`` is present under ``root`` (or given, for CAS)."""
    spec = get_spec(name)
    if not spec.required:
        d = (cas_dirs or {}).get(name)
        return bool(d) and Path(d).is_dir()
    return (Path(root) / spec.required).exists()


def load_sources(name: str, root: PathLike, split: str, *, protocol: str = "paper", seed: int = 0,
                 lenient: bool = False, cas_dirs: Optional[Dict[str, PathLike]] = None,
                 ledger: Optional[Ledger] = None) -> List[SourceDoc]:
    """Raw source documents (text + entities) of one split of a dataset."""
    spec = get_spec(name)
    if split not in spec.splits:
        raise ValueError(f"dataset {name!r} has no split {split!r} (splits: {', '.join(spec.splits)})")
    ledger = ledger if ledger is not None else Ledger()
    return spec.reader(Path(root), split, protocol=protocol, seed=seed, lenient=lenient,
                       cas_dirs=cas_dirs, ledger=ledger)


def load_dataset(name: str, root: PathLike, split: str, *, protocol: str = "paper", seed: int = 0,
                 lenient: bool = False, cas_dirs: Optional[Dict[str, PathLike]] = None,
                 ledger: Optional[Ledger] = None, nlp=None) -> List[Doc]:
    """spaCy ``Doc``s of one split: flat ``doc.ents`` + ``doc.spans["gold_all"]``."""
    ledger = ledger if ledger is not None else Ledger()
    nlp = nlp if nlp is not None else spacy.blank("fr")
    sources = load_sources(name, root, split, protocol=protocol, seed=seed, lenient=lenient,
                           cas_dirs=cas_dirs, ledger=ledger)
    meta = {"dataset": name, "split": split}
    return [source_to_doc(nlp, s, ledger, meta) for s in sources]


def iter_raw_texts(name: str, root: PathLike, splits: Sequence[str] = SPLITS, *,
                   protocol: str = "paper", seed: int = 0,
                   cas_dirs: Optional[Dict[str, PathLike]] = None) -> Iterator[Tuple[str, str]]:
    """Yield ``(doc_id, text)`` for the given splits (those the dataset has), lenient reading."""
    spec = get_spec(name)
    for split in splits:
        if split not in spec.splits:
            continue
        for src in load_sources(name, root, split, protocol=protocol, seed=seed, lenient=True,
                                cas_dirs=cas_dirs):
            yield src.doc_id, src.text


# NER evaluation text that must never enter the pretraining corpus, as paths under the data
# root: all of E3C layers 1 and 2 (test and train/dev of the paper protocol, so held out
# whichever protocol runs), QUAERO dev and test, Mantra GSC. QUAERO train is the only NER
# text the pretraining corpus may use.
HELDOUT_PATHS: Tuple[str, ...] = (
    f"e3c/{COLLECTION}/layer1", f"e3c/{COLLECTION}/layer2",
    "quaero/corpus/dev", "quaero/corpus/test", MANTRA_DIR,
)


def heldout_texts(root: PathLike) -> Iterator[Tuple[str, str]]:
    """Yield ``(doc_id, text)`` of every held-out NER document (``HELDOUT_PATHS``); ids
    start with the corpus: ``e3c/layer1/FR100003``, ``quaero/dev/EMEA/...``, ``mantra/...``.

    E3C text is the raw collection (``read_e3c_collection``), as the corpus has always used."""
    root = Path(root)
    for layer in (1, 2):
        for doc_id, text in read_e3c_collection(root / "e3c", layer):
            yield f"e3c/layer{layer}/{doc_id}", text
    for split in ("dev", "test"):
        for doc_id, text in iter_raw_texts("quaero", root, [split]):
            yield f"quaero/{split}/{doc_id}", text
    for doc_id, text in iter_raw_texts("mantra", root, ["test"]):
        yield f"mantra/{doc_id}", text
