"""Fixtures: a tiny data mirror with every source the corpus builder reads."""
import gzip
import json
import random
from pathlib import Path

import pytest

VOCAB = (
    "patient traitement dose médicament effet douleur fièvre infection cellule tumeur rein foie "
    "sang examen analyse résultat étude risque enfant adulte semaine jour mois hôpital médecin "
    "pharmacien notice comprimé injection allergie pression cardiaque pulmonaire chronique aigu "
    "clinique biologique symptôme diagnostic protocole essai groupe réponse taux niveau durée "
    "surveillance chirurgie anesthésie radiographie scanner échographie biopsie lésion organe"
).split()
HELDOUT_PASSAGE = (
    "le patient de soixante ans présentait une masse rénale droite découverte fortuitement lors "
    "d'une échographie abdominale réalisée pour des douleurs lombaires persistantes depuis trois mois "
    "sans fièvre ni hématurie associée"
)


def random_text(rng: random.Random, n_words: int, sentence: int = 12) -> str:
    """Random 'French' sentences: distinct docs share almost no 5-shingles."""
    words = [rng.choice(VOCAB) for _ in range(n_words)]
    sentences = [" ".join(words[i : i + sentence]) for i in range(0, n_words, sentence)]
    return " ".join(s[0].upper() + s[1:] + "." for s in sentences)


def perturb(text: str, rng: random.Random, n_changes: int) -> str:
    words = text.split()
    for i in rng.sample(range(len(words)), n_changes):
        words[i] = "modifié"
    return " ".join(words)


def write_mirror(root: Path, seed: int = 0) -> dict:
    """Write a tiny mirror; return facts the tests check (ids of planted documents)."""
    rng = random.Random(seed)
    facts = {}
    # E3C layer 3
    layer3 = []
    for i in range(30):
        layer3.append({"id": f"N{i}", "source": "Ministère des Solidarités et de la Santé", "type": "other",
                       "licence": "CC-BY-NC", "text": random_text(rng, 300)})
    for i in range(8):
        layer3.append({"id": f"P{i}", "source": "The Pan African Medical Journal", "type": "journal",
                       "licence": "CC BY 4.0", "text": random_text(rng, 250)})
    layer3.append(dict(layer3[0], id="N_exact", text=layer3[0]["text"].upper().replace(".", " ;")))
    layer3.append(dict(layer3[1], id="N_near", text=perturb(layer3[1]["text"], rng, 5)))
    layer3.append(dict(layer3[2], id="N_contaminated",
                       text=random_text(rng, 150) + " " + HELDOUT_PASSAGE + ". " + random_text(rng, 100)))
    layer3.append(dict(layer3[3], id="N_short", text="Trop court."))
    facts.update(exact="N_exact", near="N_near", contaminated="N_contaminated", short="N_short")
    path = root / "e3c" / "layer3" / "e3c_fr_layer3.jsonl.gz"
    path.parent.mkdir(parents=True)
    with gzip.open(path, "wt", encoding="utf8") as fh:
        for record in layer3:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    # E3C layers 1/2: held-out evaluation text
    for layer in ("layer1", "layer2"):
        folder = root / "e3c" / "data_collection" / "French" / layer
        folder.mkdir(parents=True)
        for i in range(2):
            text = random_text(rng, 80) + (" " + HELDOUT_PASSAGE if layer == "layer1" and i == 0 else "")
            (folder / f"FR{layer}{i}.json").write_text(json.dumps({"id": f"FR{i}", "text": text}), encoding="utf8")
    # QUAERO (train used for pretraining; dev/test held out)
    for split in ("train", "dev", "test"):
        for sub in ("EMEA", "MEDLINE"):
            folder = root / "quaero" / "corpus" / split / sub
            folder.mkdir(parents=True)
            for i in range(3):
                n = 120 if sub == "EMEA" else 12
                (folder / f"{i}.txt").write_text(random_text(rng, n).replace(".", " .") + "\n", encoding="utf8")
    mantra = root / "mantra_gsc" / "Mantra-GSC" / "French" / "EMEA_ec22-cui-best_man"
    mantra.mkdir(parents=True)
    (mantra / "0001_d1.u1.txt").write_text(random_text(rng, 20) + "\n", encoding="utf8")
    # WMT biomedical
    train = root / "wmt_biomed_fr" / "Train data with section information"
    train.mkdir(parents=True)
    for name in ("medline", "scielo", "edp"):
        lines, ids = [], []
        for d in range(4):
            for s in range(2):
                section = ["Abstract"] + [random_text(rng, 15) for _ in range(4)]
                lines += section + [""]
                ids += [f"{name}{d}"] * len(section) + [""]
            lines.append("")
            ids.append("")
        (train / f"{name}_d1.fr").write_text("\n".join(lines), encoding="utf8")
        (train / f"{name}_d1_id.fr").write_text("\n".join(ids), encoding="utf8")
    tests = root / "wmt_biomed_fr" / "Document level test sets"
    tests.mkdir(parents=True)
    (tests / "medline20_fr2en_d1.fr").write_text(
        "\n\n\n".join("Title\n" + random_text(rng, 10) + "\n\nAbstract\n" + random_text(rng, 60) for _ in range(3)),
        encoding="utf8",
    )
    # general French
    eltec = root / "eltec_fra" / "plain1"
    eltec.mkdir(parents=True)
    for i in range(4):
        (eltec / f"FRA0{i}.txt").write_text("\n".join(random_text(rng, 40) for _ in range(10)), encoding="utf8")
    sequoia = root / "ud_french_sequoia"
    sequoia.mkdir(parents=True)
    blocks = []
    for prefix, n in (("annodis.er", 30), ("emea-fr-dev", 5), ("frwiki_50.1000", 10)):
        for k in range(n):
            text = random_text(rng, 10)
            blocks.append(f"# sent_id = {prefix}_{k:05d}\n# text = {text}\n1\t{text.split()[0]}\t_\t_\t_\t_\t0\troot\t_\t_\n")
    (sequoia / "fr_sequoia-ud-train.conllu").write_text("\n".join(blocks) + "\n", encoding="utf8")
    facts["emea_prefix"] = "emea-fr-dev"
    return facts


@pytest.fixture(scope="session")
def mirror(tmp_path_factory):
    root = tmp_path_factory.mktemp("mirror")
    facts = write_mirror(root)
    return root, facts


@pytest.fixture
def make_text():
    """``make_text(seed, n_words)``: random sentences from a small medical vocabulary."""
    return lambda seed, n_words: random_text(random.Random(seed), n_words)


@pytest.fixture
def heldout_passage():
    return HELDOUT_PASSAGE
