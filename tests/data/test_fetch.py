"""The no-mirror path of ``assets``: Mantra's zip is unpacked to the mirror layout."""
import zipfile

from spacy_cbio.data.fetch import extract_mantra


def test_extract_mantra_keeps_french_only(tmp_path):
    dest = tmp_path / "assets"
    (dest / "mantra_gsc").mkdir(parents=True)
    with zipfile.ZipFile(dest / "mantra_gsc" / "Mantra-GSC-brat.zip", "w") as archive:
        archive.writestr("Mantra-GSC/French/EMEA/0001.txt", "Aspirine")
        archive.writestr("Mantra-GSC/French/EMEA/0001.ann", "T1\tC0004057 0 8\tAspirine\n")
        archive.writestr("Mantra-GSC/German/EMEA/0001.txt", "Aspirin")
    assert extract_mantra(dest) == 2
    french = dest / "mantra_gsc" / "Mantra-GSC" / "French" / "EMEA"
    assert (french / "0001.txt").read_text() == "Aspirine"
    assert not (dest / "mantra_gsc" / "Mantra-GSC" / "German").exists()


def test_extract_mantra_without_zip(tmp_path):
    assert extract_mantra(tmp_path) == 0
