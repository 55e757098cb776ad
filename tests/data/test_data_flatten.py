"""Flat-view policy and tokenization on hand-built documents."""
from __future__ import annotations

from spacy_cbio.data import Entity, Ledger, SourceDoc, flatten_entities, source_to_doc


def ent(i, label, *frags, extent_only=False):
    return Entity(id=f"T{i}", label=label, fragments=list(frags), extent_only=extent_only)


def test_outermost_then_longest_then_earliest():
    text = "aaaa bbbb cccc dddd"
    ents = [
        ent(1, "X", (5, 9)),  # nested in T2
        ent(2, "Y", (0, 9)),  # outermost
        ent(3, "Z", (5, 14)),  # crosses T2, same length: later start loses
        ent(4, "W", (10, 19)),  # crosses T3 only, T3 dropped -> kept
    ]
    ledger = Ledger()
    flat = flatten_entities(ents, text, ledger)
    assert [(f.start, f.end, f.label) for f in flat] == [(0, 9, "Y"), (10, 19, "W")]
    assert ledger.counts == {"drop.nested": 1, "drop.overlap": 1}


def test_extent_only_discontinuous_is_dropped_but_kept_in_gold_all(nlp):
    text = "douleur du bras et de la jambe"
    src = SourceDoc("d", text, [ent(1, "CLINENTITY", (0, 30), extent_only=True),
                                ent(2, "CLINENTITY", (25, 30))])
    ledger = Ledger()
    doc = source_to_doc(nlp, src, ledger)
    assert [e.text for e in doc.ents] == ["jambe"]
    assert ledger.counts["drop.discontinuous_extent_only"] == 1
    assert [s.text for s in doc.spans["gold_all"]] == [text, "jambe"]
    assert [s.text for s in doc.spans["gold_discontinuous"]] == [text]


def test_no_sentence_start_inside_entity(nlp):
    text = "Il prend du paracétamol. Puis rien.\nFin"
    src = SourceDoc("d", text, [ent(1, "CHEM", (12, 29))])  # "paracétamol. Puis"
    ledger = Ledger()
    doc = source_to_doc(nlp, src, ledger)
    assert doc.ents[0].text == "paracétamol. Puis"
    assert ledger.counts["repair.sentence_start_inside_entity"] == 1
    assert all(not t.is_sent_start for t in doc.ents[0][1:])
    sents = [s.text for s in doc.sents]
    assert sents[0].startswith("Il prend") and sents[-1] == "Fin"


def test_tokens_split_at_every_boundary_text_unchanged(nlp):
    text = "hyperthermie antibiotiques"
    src = SourceDoc("d", text, [ent(1, "A", (5, 12)), ent(2, "B", (13, 17)), ent(3, "B", (17, 26))])
    ledger = Ledger()
    doc = source_to_doc(nlp, src, ledger)
    assert doc.text == text
    assert [t.text for t in doc] == ["hyper", "thermie", "anti", "biotiques"]
    assert [(e.start_char, e.end_char) for e in doc.ents] == [(5, 12), (13, 17), (17, 26)]
    assert ledger.counts["repair.token_split"] == 2
