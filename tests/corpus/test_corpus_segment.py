import pytest

from corpus_scripts.segment import chunk_text, split_paragraphs, split_sentences


def test_sentences_and_paragraphs():
    assert split_sentences("Le patient va bien. Il sort demain ! « Bien » dit-il.") == [
        "Le patient va bien.", "Il sort demain !", "« Bien » dit-il."
    ]
    assert split_sentences("Dose de 2.5 mg par jour.") == ["Dose de 2.5 mg par jour."]
    assert split_paragraphs("a b\n\nc d\ne") == ["a b", "c d", "e"]


@pytest.mark.parametrize("max_words", [1, 7, 50, 200])
def test_chunks_are_bounded_and_lose_nothing(make_text, max_words):
    text = make_text(1, 400) + "\n\n" + " ".join(["long"] * 130) + "\n" + make_text(2, 90)
    chunks = chunk_text(text, max_words)
    assert all(1 <= len(c.split()) <= max_words for c in chunks)
    assert " ".join(chunks).split() == text.split()


def test_chunks_pack_sentences():
    text = "Un deux trois. Quatre cinq six. Sept huit neuf.\nDix onze."
    assert chunk_text(text, 6) == ["Un deux trois. Quatre cinq six.", "Sept huit neuf.\nDix onze."]
    with pytest.raises(ValueError):
        chunk_text(text, 0)
