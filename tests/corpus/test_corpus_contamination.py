from corpus_scripts.contamination import ContaminationIndex


def test_long_shared_passage_is_detected(make_text, heldout_passage):
    index = ContaminationIndex([("test1", make_text(1, 100) + " " + heldout_passage)], n=13)
    leaked = make_text(2, 200) + " " + heldout_passage.upper().replace(" ", "  ") + ". " + make_text(3, 50)
    assert index.matches(leaked) >= 1
    assert index.matches(make_text(4, 300)) == 0


def test_short_overlap_below_n_is_not_contamination(heldout_passage):
    index = ContaminationIndex([("test1", heldout_passage)], n=13)
    assert index.matches(" ".join(heldout_passage.split()[:12])) == 0
    assert index.matches(" ".join(heldout_passage.split()[:13])) == 1


def test_template_ngrams_are_ignored(make_text, heldout_passage):
    template = "si vous avez d'autres questions sur l'utilisation de ce médicament demandez plus d'informations à votre médecin"
    docs = [(f"d{i}", make_text(i, 60) + " " + template) for i in range(3)]
    docs.append(("d3", heldout_passage))
    index = ContaminationIndex(docs, n=13, template_df=3)
    assert index.matches(template) == 0
    assert index.matches(heldout_passage) > 0
    assert index.n_template > 0
    assert ContaminationIndex(docs, n=13, template_df=0).matches(template) > 0
