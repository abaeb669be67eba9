"""Grades and grade spans: the one vocabulary formula files and data files share."""

from __future__ import annotations

import re

GRADES: tuple[str, ...] = ("TK", "K", *(str(g) for g in range(1, 13)))
GRADE_COLUMNS: tuple[str, ...] = tuple(f"grade_{g}" for g in GRADES)
ALL = "all"


def parse_span(span: str) -> tuple[str, ...]:
    """The grades a span covers: "K-3" -> ("K", "1", "2", "3"); "all" -> every grade.

    Raises ValueError with a sentence a formula author can act on.
    """
    if span == ALL:
        return GRADES
    low, sep, high = span.partition("-")
    if not sep:
        high = low
    if low not in GRADES or high not in GRADES:
        raise ValueError(
            f'"{span}" is not a grade span; use a grade (TK, K, 1..12), a range such as '
            f'"K-3" or "9-12", or "all"'
        )
    i, j = GRADES.index(low), GRADES.index(high)
    if i > j:
        raise ValueError(f'"{span}" runs backwards; write it low to high, e.g. "{high}-{low}"')
    return GRADES[i : j + 1]


WORDS = {"k": "K", "kn": "K", "kg": "K", "kinder": "K", "kindergarten": "K", "tk": "TK", "transitional kindergarten": "TK",
         "transitional k": "TK", "transitionalkindergarten": "TK"}
PREFIX = re.compile(r"^(grade|grd|gr)[\s_.\-]*(?=\S)", re.IGNORECASE)
ORDINAL = re.compile(r"^0*(\d{1,2})(st|nd|rd|th)?(\s*grade)?$")


def _grade_word(core: str) -> str | None:
    core = re.sub(r"\s+", " ", core.strip().lower())
    if core in WORDS:
        return WORDS[core]
    if (match := ORDINAL.match(core)) and 1 <= int(match.group(1)) <= 12:
        return str(int(match.group(1)))
    return None


def normalise_grade(value: str) -> str | None:
    """A roster grade as written in the canonical form, or None: "k", "KN" (CALPADS), "Kindergarten",
    "tk", "01", "3", "3rd", "Grade 3", "Gr 3" -> TK, K, 1 .. 12."""
    text = str(value).strip()
    return _grade_word(PREFIX.sub("", text)) or _grade_word(text)


def grade_of_header(header: str) -> str | None:
    """The grade a column header that is not wsf's `grade_<g>` seems to count ("Grade K", "Gr 1",
    "grade_01", "Kindergarten", "K", "TK", "1st grade"), or None. A bare number is not a grade:
    "3" could count anything."""
    if header in GRADE_COLUMNS:
        return None
    stripped = PREFIX.sub("", header.strip())
    if stripped != header.strip():  # it said grade / gr
        return _grade_word(stripped)
    word = _grade_word(header)
    return word if word is not None and not header.strip().isdigit() else None
SPAN_PREFIX = "enrollment_"  # a pupil column per [base] span: enrollment_K-3
