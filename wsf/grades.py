"""Grades and grade spans: the one vocabulary formula files and data files share."""

from __future__ import annotations

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


def normalise_grade(value: str) -> str | None:
    """A roster grade as written ("k", "01", "tk", 3) in the canonical form, or None."""
    text = str(value).strip().upper()
    if text in ("TK", "K"):
        return text
    if text.isdigit() and 1 <= int(text) <= 12:
        return str(int(text))
    return None
