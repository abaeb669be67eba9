"""What a template folder may lend: regular files whose real path is inside the folder's real path.

A district's `--templates` folder is input from outside the project, and its packets go to the
public. A link in it (`principal.html -> /etc/passwd`, `i18n -> ../../secrets`), a device or a
pipe must not make wsf read, print or embed anything from elsewhere on the machine, or hang.
Templates (`wsf.render.loaders`), translation files (`wsf.render.i18n`) and whatever a PDF loads
(`wsf.render.pdf.refusal`) all go through `why_not`; the shipped folder follows the same rule.
Links that stay inside the folder are fine: the rule is about where a path really leads.

The Jinja loaders that read templates by this rule are `wsf.render.loaders`; this module needs
no Jinja, so what only reads a translation (the CLI's summary) does not import it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from wsf.errors import WsfError

OUTSIDE = "outside the templates folder"


def why_not(folders: Iterable[Path], path: Path) -> str | None:
    """Why `path` may not be read (`"is not a regular file"`), or None when it is a regular file
    whose real path is inside the real path of one of `folders`. Checked before anything opens it,
    so a pipe or a device is never opened."""
    real = Path(os.path.realpath(path))
    if not any(real.is_relative_to(os.path.realpath(folder)) for folder in folders):
        return f"leads to {real}, {OUTSIDE}" if real != Path(os.path.abspath(path)) else f"is {OUTSIDE}"
    try:
        mode = os.stat(real).st_mode
    except FileNotFoundError:
        return "does not exist" if real == Path(os.path.abspath(path)) else f"is a link to {real}, which does not exist"
    except OSError as exc:
        return f"cannot be read: {exc.strerror}"
    return None if stat.S_ISREG(mode) else "is not a regular file"


def inside(folder: Path, path: Path) -> Path:
    """The real path of `path`, a file of `folder`; a WsfError naming it when `why_not` refuses it."""
    problem = why_not([folder], path)
    if problem is not None:
        raise WsfError(
            problem,
            file=path,
            fix=f"put the file itself in {folder}: not a link to elsewhere, a folder or a device",
        )
    return Path(os.path.realpath(path))
