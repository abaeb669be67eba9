"""The one error type a user sees.

Every fault in a formula file, a mapping file or a data file becomes a `WsfError` that names
the file, the place in it (line, key path, row), the column or key, what is wrong and how to
fix it. The CLI prints it in one or two lines and exits 2; anything else reaching a user is a bug.
"""

from __future__ import annotations

from pathlib import Path


class WsfError(Exception):
    """A problem the user can fix, located as precisely as the input allows."""

    def __init__(
        self,
        problem: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        row: int | None = None,
        key: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.problem = problem
        self.file = str(Path(file).name) if file is not None else None
        self.line = line
        self.row = row
        self.key = key
        self.fix = fix
        super().__init__(str(self))

    def __str__(self) -> str:
        place = []
        if self.file:
            place.append(self.file)
        if self.line is not None:
            place.append(f"line {self.line}")
        if self.row is not None:
            place.append(f"row {self.row}")
        if self.key:
            place.append(self.key)
        head = ": ".join(place)
        text = f"{head}: {self.problem}" if head else self.problem
        if self.fix:
            text += f"\n  fix: {self.fix}"
        return text

    @classmethod
    def many(cls, errors: list[WsfError]) -> WsfError:
        """Several faults found at once, reported together (one per line)."""
        if len(errors) == 1:
            return errors[0]
        combined = cls("\n".join(str(e) for e in errors))
        combined.errors = errors
        return combined
