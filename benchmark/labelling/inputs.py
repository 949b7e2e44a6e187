"""What a person types, checked before it is stored: rater ids, study names and free text.

Why strict: a rater id becomes part of the judgment file and of the agreement report, a study name
becomes a file name, and free text is opened in spreadsheets. So ids are refused unless they match
a plain pattern (no HTML, no path characters, nothing a shell or a spreadsheet reads specially),
and free text is limited in length and characters, then written so that no spreadsheet evaluates
it as a formula (OWASP's "CSV injection": a leading ``=``, ``+``, ``-``, ``@``, tab or carriage
return gets a leading apostrophe). HTML escaping happens where text is shown (the page sets
``textContent``, never ``innerHTML``; reports use :func:`html.escape`).
"""

from __future__ import annotations

import re
import unicodedata

from interpbench.infra.errors import InterpbenchError

#: A rater id: a letter or digit, then up to 31 letters, digits, ``_`` or ``-``.
RATER_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
#: A study name (it names files): lower-case letters, digits, ``_`` and ``-``, up to 64.
STUDY_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
#: Longest free-text object name accepted.
MAX_TEXT = 60
#: First characters a spreadsheet reads as the start of a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class InputError(InterpbenchError):
    """A rater id, study name or free text that is refused; the message says what is allowed."""


def check_rater_id(rater: str) -> str:
    """``rater`` unchanged when it matches :data:`RATER_PATTERN`, else :class:`InputError`."""
    if not isinstance(rater, str) or not RATER_PATTERN.fullmatch(rater):
        raise InputError(f"rater id {rater!r} is refused: use 1-32 letters, digits, '_' or '-', "
                         "starting with a letter or digit (no spaces, HTML or path characters)")
    return rater


def check_study_name(name: str) -> str:
    """``name`` unchanged when it matches :data:`STUDY_PATTERN` (it becomes a file name)."""
    if not isinstance(name, str) or not STUDY_PATTERN.fullmatch(name):
        raise InputError(f"study name {name!r} is refused: use 1-64 lower-case letters, digits, '_' or '-', "
                         "starting with a letter or digit")
    return name


def clean_free_text(text: str) -> str:
    """Free text (an object a rater named) trimmed and checked: at most :data:`MAX_TEXT`
    characters, no control or invisible format characters (they hide text in a spreadsheet or a
    terminal). Returns the text as typed (apart from surrounding space); :func:`csv_safe` protects
    it on the way into a CSV."""
    if not isinstance(text, str):
        raise InputError("the object name must be text")
    text = unicodedata.normalize("NFC", text.strip())
    if not text:
        raise InputError("name the object (or pick one from the list)")
    if len(text) > MAX_TEXT:
        raise InputError(f"the object name is {len(text)} characters long; at most {MAX_TEXT} are allowed")
    bad = sorted({f"U+{ord(c):04X}" for c in text if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp")})
    if bad:
        raise InputError(f"the object name contains control or invisible characters ({', '.join(bad)})")
    return text


def csv_safe(text: str) -> str:
    """``text`` as a CSV cell that no spreadsheet runs as a formula: a leading formula character
    gets an apostrophe in front (the cell then shows the text as typed)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text
