from __future__ import annotations

import io

from core.progress import TextProgress, null_progress


def test_tty_bar_redraws_one_line_and_throttles():
    out = io.StringIO()
    t = [0.0]
    bar = TextProgress("prep", stream=out, width=10, tty=True, min_interval=0.5, clock=lambda: t[0])
    bar(0, 4, "start")
    t[0] = 0.1
    bar(1, 4, "skipped: too soon")
    t[0] = 1.0
    bar(2, 4, "LC/train/good/002")
    t[0] = 1.1
    bar(4, 4)  # the final update is always drawn, and ends the line
    text = out.getvalue()
    assert "too soon" not in text
    frames = text.split("\r")[1:]
    assert frames[0].startswith("prep [----------] 0/4   0%  start")
    assert frames[1].startswith("prep [#####-----] 2/4  50%  LC/train/good/002")
    assert frames[2].rstrip(" ").startswith("prep [##########] 4/4 100%")
    assert text.endswith("\n") and text.count("\n") == 1
    # a shorter frame blanks out the rest of the longer one before it
    assert len(frames[2].rstrip("\n")) >= len(frames[1])


def test_non_tty_prints_lines_every_tenth():
    out = io.StringIO()
    bar = TextProgress(stream=out, tty=False)
    for i in range(1, 101):
        bar(i, 100, f"item {i}")
    lines = out.getvalue().splitlines()
    assert len(lines) == 11  # the first update, then one per tenth
    assert "1/100" in lines[0] and "10/100" in lines[1]
    assert lines[-1].startswith("[") and "100/100 100%  item 100" in lines[-1]
    bar.close()
    assert out.getvalue().count("\n") == 11


def test_unknown_total():
    out = io.StringIO()
    bar = TextProgress("scan", stream=out, tty=True, min_interval=0)
    bar(3, None, "x")
    bar.close()
    assert out.getvalue() == "\rscan 3 done  x\n"


def test_null_progress_accepts_both_forms():
    assert null_progress(1, 2) is None and null_progress(1, None, "m") is None
