from collections import Counter

from corpus_scripts.clean import clean_text, count_words, is_boilerplate


def test_nfc_not_nfkc():
    repairs = Counter()
    text = clean_text("Une se\u0301ance de 2 m² avec 5 µg et ½ dose.", repairs)
    assert "séance" in text and "\u0301" not in text  # composed (NFC)
    assert "m²" in text and "µg" in text and "½" in text  # not NFKC-folded
    assert repairs["nfc_changed_docs"] == 1


def test_control_and_invisible_characters_are_removed_and_counted():
    repairs = Counter()
    text = clean_text("dose\u00a0:\u202f5\tmg\x07 par\u00adjour\u200b\ufeff ici", repairs)
    assert text == "dose : 5 mg parjour ici"
    assert repairs["control_chars"] == 1
    assert repairs["invisible_chars"] == 3
    assert repairs["layout_spaces"] == 3


def test_whitespace_boilerplate_and_hyphenation():
    repairs = Counter()
    raw = "  Titre   du   texte \r\n\r\n\r\n\r\nPage 3 sur 10\nhttps://example.org/x\noccasionnelle¬ment sévère\n---\n"
    text = clean_text(raw, repairs)
    assert text == "Titre du texte\n\noccasionnellement sévère"
    assert repairs["boilerplate_lines"] == 3
    assert repairs["hyphenation_joins"] == 1


def test_boilerplate_keeps_real_lines():
    assert is_boilerplate("12.")
    assert not is_boilerplate("1. Qu'est-ce que ce médicament ?")
    assert count_words(" a  b\nc ") == 3


def test_e3c_layer3_upstream_json_layout(tmp_path):
    """Without the mirror's jsonl.gz, layer 3 is read from upstream's one-JSON-per-document folder."""
    import json as _json

    from corpus_scripts.sources import NOTICES_SOURCE, read_e3c_layer3

    folder = tmp_path / "e3c" / "data_collection" / "French" / "layer3"
    folder.mkdir(parents=True)
    (folder / "FR1.json").write_text(_json.dumps({"id": "FR1", "source": NOTICES_SOURCE, "text": "Notice."}))
    (folder / "FR2.json").write_text(_json.dumps({"id": "FR2", "source": "PAMJ", "text": "Cas clinique."}))
    assert list(read_e3c_layer3(tmp_path)) == [
        ("e3c_l3_notices", "FR1", "Notice."), ("e3c_l3_pamj", "FR2", "Cas clinique.")]
