"""``bearing-gui [PATH]``: the desktop app.

With no argument it opens the built-in demo project, rendering the synthetic demo data set into the
user data folder on first run (with a progress dialog). With PATH it opens a data set folder or a
saved ``*.bearing.json`` project.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from bearing_gui.qt import QtCore, QtWidgets

ORG, APP = "BearingInspector", "Bearing Inspector"
DEMO_PROJECT = "demo.bearing.json"
_RESOURCES = Path(__file__).resolve().parent.parent / "resources"


def demo_folder() -> Path:
    base = QtCore.QStandardPaths.writableLocation(
        QtCore.QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".bearing-inspector") / "demo"


def ensure_demo(parent: QtWidgets.QWidget | None = None, folder: Path | None = None,
                size: tuple[int, int] = (1024, 1024), counts="default") -> Path | None:
    """The demo project file, rendering the demo data first if needed. None if cancelled/failed.

    ``size`` and ``counts`` go to ``core.synth.render_demo`` (tests render a small one).
    """
    from core.project import new_project

    folder = folder or demo_folder()
    project_file = folder / DEMO_PROJECT
    data = folder / "data"
    if project_file.exists():
        return project_file
    try:
        from core.synth import render_demo
    except ImportError:
        _message(parent, "Demo not available",
                 "This build has no demo renderer (core.synth.render_demo). Open a data set folder "
                 "with File ▸ Open instead.")
        return None
    from bearing_gui.controllers.workers import Job, global_pool

    dialog = QtWidgets.QProgressDialog("Rendering the demo data set (first run only)…", "Cancel",
                                       0, 0, parent)
    dialog.setWindowTitle("Bearing Inspector")
    dialog.setWindowModality(QtCore.Qt.WindowModality.ApplicationModal)
    dialog.setMinimumDuration(0)
    loop = QtCore.QEventLoop()
    outcome: dict = {}

    def work(report, cancel):
        def progress(done, total=None, *_):
            report(done, total or 0)

        return render_demo(data, seed=0, size=size, counts=counts, progress=progress,
                           overwrite=True)

    job = Job(work)
    job.signals.progress.connect(lambda _t, d, n: (dialog.setMaximum(n), dialog.setValue(d)))
    job.signals.finished.connect(lambda _t, r: (outcome.setdefault("ok", True), loop.quit()))
    job.signals.failed.connect(lambda _t, m: (outcome.setdefault("error", m), loop.quit()))
    dialog.canceled.connect(job.cancel_event.set)
    global_pool().start(job)
    dialog.show()
    loop.exec()
    dialog.close()
    if "error" in outcome:
        if outcome["error"] != "cancelled":
            _message(parent, "Could not render the demo", outcome["error"])
        return None
    project = new_project(data)
    project.save(project_file)
    return project_file


def _message(parent, title: str, text: str) -> None:
    if QtWidgets.QApplication.instance() is None or parent is None:
        print(f"{title}: {text}", file=sys.stderr)
        return
    QtWidgets.QMessageBox.warning(parent, title, text)


def make_settings(path: str | Path | None = None) -> QtCore.QSettings:
    """QSettings for window layout and recent projects (an INI file at ``path`` for tests)."""
    if path is not None:
        return QtCore.QSettings(str(path), QtCore.QSettings.Format.IniFormat)
    return QtCore.QSettings(QtCore.QSettings.Format.IniFormat, QtCore.QSettings.Scope.UserScope,
                            ORG, "bearing-gui")


def style_sheet() -> str:
    path = _RESOURCES / "style.qss"
    return path.read_text(encoding="utf-8") if path.exists() else ""


def create_window(settings: QtCore.QSettings | None = None):
    from bearing_gui.main_window import MainWindow

    app = QtWidgets.QApplication.instance()
    if app is not None and not app.property("bearing_styled"):
        app.setStyle("Fusion")
        app.setStyleSheet(style_sheet())
        app.setProperty("bearing_styled", True)
    return MainWindow(settings or make_settings())


def launch(argv: Sequence[str] | None = None):
    """Parse the command line, create and show the main window, start opening PATH or the demo."""
    parser = argparse.ArgumentParser(prog="bearing-gui", description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", help="data set folder or project file (default: demo)")
    parser.add_argument("--settings", help=argparse.SUPPRESS)
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    app.setOrganizationName(ORG)
    app.setApplicationName(APP)
    window = create_window(make_settings(args.settings))
    window.show()
    if args.path:
        window.open_path(args.path)
    else:
        QtCore.QTimer.singleShot(0, window.open_demo)
    return window


def main(argv: Sequence[str] | None = None) -> int:
    window = launch(argv)
    return QtWidgets.QApplication.instance().exec() if window is not None else 1


if __name__ == "__main__":
    sys.exit(main())
