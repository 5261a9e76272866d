import sys

import pytest

pytestmark = pytest.mark.gui


def test_binding_refcount_leak_is_absent_or_neutralised():
    """shiboken6 6.12.0 drops references to None/True per void call / emit (see bearing_gui.qt)."""
    from bearing_gui.qt import NONE_LEAK_DETECTED, QtCore

    obj = QtCore.QObject()
    before = sys.getrefcount(None)
    for _ in range(200):
        obj.setObjectName("x")
    leaking = before - sys.getrefcount(None) >= 150
    assert leaking == NONE_LEAK_DETECTED
    if leaking:  # then the singletons must be far from zero
        for singleton in (None, True, False):
            assert sys.getrefcount(singleton) > 2**39
