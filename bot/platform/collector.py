"""The cyclic garbage collector paused while a bulk read builds objects that form no cycles.

Why: a digest of 1,000 engagements builds some 100,000 small objects (rows, figures) that all
live until the digest is built. None is part of a cycle, so reference counting frees every one;
the cyclic collector's passes over them find nothing, yet each full pass walks every object
alive in the process, so their cost grew faster than the rows read and was the largest single
cost of a digest (0.3–0.6 s of some 1.5 s, measured with bench/digest.py).

The collector is process-wide and the engine runs jobs on several threads: pauses are counted,
so overlapping ones end when the last does, and a collector someone else turned off stays off.
Garbage cycles made elsewhere during a pause are collected by the first pass after it.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_pauses = 0
_resume = False  # whether the collector was on when the first pause began


@contextmanager
def paused() -> Iterator[None]:
    """The collector off for the block (and for any pause overlapping it)."""
    global _pauses, _resume
    with _lock:
        if _pauses == 0:
            _resume = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if _pauses == 0 and _resume:
                gc.enable()
