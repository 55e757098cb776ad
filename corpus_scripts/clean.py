"""Text cleaning: Unicode normalisation, control characters, whitespace, boilerplate lines.

Normalisation is **NFC**, not NFKC: NFKC rewrites characters that carry meaning in medical
text (``m²`` -> ``m2``, ``µg`` -> ``μg``, ``½`` -> ``1⁄2``) and the CamemBERT SentencePiece
model applies its own NFKC-like normalisation at tokenisation time anyway. Only the
compatibility characters that are pure layout are mapped by hand (non-breaking and thin
spaces to a space; soft hyphens, zero-width characters and BOMs removed). Every change is
counted in the returned ``Counter`` so nothing is repaired silently.
"""
import re
import unicodedata
from collections import Counter

SPACE_CHARS = "\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
DROP_CHARS = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
LAYOUT_SPACE_RE = re.compile(f"[{SPACE_CHARS}\t\v\f]")
INVISIBLE_RE = re.compile(f"[{DROP_CHARS}]")
# Unicode category Cc (C0, DEL, C1) except the newline
CONTROL_RE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")
# "occasionnelle¬ment": a line-break hyphen left over from PDF extraction
HYPHENATION_RE = re.compile(r"(?<=\w)¬\s?(?=\w)")
MULTI_SPACE_RE = re.compile(r" {2,}")
BLANK_LINES_RE = re.compile(r"\n{3,}")
BOILERPLATE_RES = [
    re.compile(r"^(https?://|www\.)\S+$", re.I),  # a bare URL
    re.compile(r"^[\W\d_]+$"),  # only digits / punctuation (page numbers, rules)
    re.compile(r"^page \d+( (sur|/|of) \d+)?$", re.I),
    re.compile(r"^retour (en haut de la page|au sommaire)$", re.I),
    re.compile(r"^(©|copyright\b).*$", re.I),
    re.compile(r"^tous droits réservés\.?$", re.I),
]


def count_words(text: str) -> int:
    """Whitespace word count (the unit of every size in the corpus statistics)."""
    return len(text.split())


def normalise_unicode(text: str, repairs: Counter) -> str:
    """NFC, layout spaces to ' ', invisible characters dropped, control characters removed."""
    nfc = unicodedata.normalize("NFC", text)
    if nfc != text:
        repairs["nfc_changed_docs"] += 1
    text = nfc.replace("\r\n", "\n").replace("\r", "\n")
    text, n = LAYOUT_SPACE_RE.subn(" ", text)
    repairs["layout_spaces"] += n
    text, n = INVISIBLE_RE.subn("", text)
    repairs["invisible_chars"] += n
    text, n = CONTROL_RE.subn("", text)
    repairs["control_chars"] += n
    return text


def is_boilerplate(line: str) -> bool:
    """Whether a (stripped, non-empty) line is boilerplate to drop."""
    return any(pattern.match(line) for pattern in BOILERPLATE_RES)


def clean_text(text: str, repairs: Counter) -> str:
    """Clean one document; paragraphs are separated by a blank line in the result."""
    text = normalise_unicode(text, repairs)
    text, n_hyphen = HYPHENATION_RE.subn("", text)
    repairs["hyphenation_joins"] += n_hyphen
    lines = []
    for line in text.split("\n"):
        line = MULTI_SPACE_RE.sub(" ", line).strip()
        if line and is_boilerplate(line):
            repairs["boilerplate_lines"] += 1
            continue
        lines.append(line)
    text = "\n".join(lines).strip()
    return BLANK_LINES_RE.sub("\n\n", text)
