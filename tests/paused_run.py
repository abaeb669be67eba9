"""A `wsf` run that stops at one chosen step, for tests that kill it there or make another run
meet it there. Not a test: tests/test_interrupted.py starts it as a child process.

    python paused_run.py SIGNAL MODE wsf-arguments...

At the step, it writes SIGNAL and waits until SIGNAL.go exists (the parent creates it, or kills
this process). MODE is where:

- `writer`: the CSV table half written (before anything is renamed);
- `swap`: the output folder's swap begun: right after the exchange, or (before wsf.write.atomic)
  right after the output folder was renamed away to `.old`;
- `two-renames`: the same, the exchange made unavailable, so the swap takes two renames;
- `first-rename`: the first file renamed into place (of a table and its meta.json);
- `writing`: no pause; SIGNAL is written when the run starts writing.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

signal, mode, args = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
go = signal.with_name(signal.name + ".go")


def pause() -> None:
    signal.write_text("paused", encoding="utf-8")
    deadline = time.monotonic() + 600
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def after(real, when):
    def step(*a, **k):
        result = real(*a, **k)
        if when(*a):
            pause()
        return result

    return step


try:
    from wsf.write import atomic
except ImportError:  # the code before wsf.write.atomic
    atomic = None

if mode == "writer":
    from wsf.write import files as outputs

    real_csv = outputs._write_csv

    def half_then_all(frame, path):
        path.write_text("school_id,na", encoding="utf-8")
        pause()
        real_csv(frame, path)

    outputs._write_csv = half_then_all
elif mode in ("swap", "two-renames"):
    os.rename = after(os.rename, lambda a, b, *rest: str(b).endswith(".old"))
    if atomic is not None and mode == "two-renames":
        atomic._exchange = lambda a, b: False
    elif atomic is not None:
        atomic._exchange = after(atomic._exchange, lambda a, b: True)
elif mode == "first-rename":
    renamed = []
    os.replace = after(os.replace, lambda a, b: not renamed and not renamed.append(b))
    if atomic is not None:
        atomic._exchange = after(atomic._exchange, lambda a, b: not renamed and not renamed.append(b))
elif mode == "writing":
    import wsf.cli

    real_write = wsf.cli.write_table

    def announce(*a, **k):
        signal.write_text("writing", encoding="utf-8")
        return real_write(*a, **k)

    wsf.cli.write_table = announce
else:
    raise SystemExit(f"unknown mode {mode!r}")

from wsf.cli import main  # noqa: E402  (after the patches, as a user's run would import it)

main(args, prog_name="wsf")
