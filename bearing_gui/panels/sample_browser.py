"""Sample browser: tree class / split / group / sample with thumbnail, label, ROI and score."""

from __future__ import annotations

from bearing_gui.controllers.session import SessionController
from bearing_gui.controllers.thumbnails import THUMB_SIZE, ThumbnailCache
from bearing_gui.qt import QtCore, QtGui, QtWidgets

KEY_ROLE = QtCore.Qt.ItemDataRole.UserRole + 1
FILTERS = ("All samples", "Good", "Dent", "Relabelled", "Unsaved", "ROI failed", "Problems")
ROW_HEIGHT = THUMB_SIZE + 4
GROUP_ROW_HEIGHT = 22
COL_NAME, COL_LABEL, COL_ROI, COL_SCORE = range(4)


class SampleBrowser(QtWidgets.QWidget):
    def __init__(self, session: SessionController, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.thumbs = ThumbnailCache(self)
        self.thumbs.ready.connect(self._on_thumb)
        self._items: dict[str, QtWidgets.QTreeWidgetItem] = {}
        self._problems: dict[str, list[str]] = {}

        self.search = QtWidgets.QLineEdit()
        self.search.setPlaceholderText("Search samples (e.g. OD/test 012)")
        self.search.setClearButtonEnabled(True)
        self.filter = QtWidgets.QComboBox()
        self.filter.addItems(FILTERS)
        self.tree = QtWidgets.QTreeWidget()
        self.tree.setHeaderLabels(["Sample", "Label", "ROI", "Score"])
        self.tree.setIconSize(QtCore.QSize(THUMB_SIZE, THUMB_SIZE))
        self.tree.setIndentation(12)
        self.tree.setAlternatingRowColors(True)
        self.tree.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(COL_NAME, QtWidgets.QHeaderView.ResizeMode.Stretch)
        for col, width in ((COL_LABEL, 70), (COL_ROI, 64), (COL_SCORE, 48)):
            header.setSectionResizeMode(col, QtWidgets.QHeaderView.ResizeMode.Interactive)
            header.resizeSection(col, width)
        self.tree.headerItem().setToolTip(COL_LABEL, "good / dent; * = relabelled (differs from "
                                          "its folder); unsaved in red")
        self.tree.headerItem().setToolTip(COL_ROI, "whether preprocessing found the ROI with the "
                                          "current settings (– = not run yet)")
        self.tree.headerItem().setToolTip(COL_SCORE, "anomaly score once inspected")
        self.empty = QtWidgets.QLabel("No project open.\n\nFile ▸ Open data set folder… "
                                      "(Ctrl+Shift+O)\nFile ▸ Open project… (Ctrl+O)\n"
                                      "File ▸ Open demo project")
        self.empty.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.empty.setStyleSheet("color:#999; padding:20px;")
        self.summary = QtWidgets.QLabel()
        self.summary.setStyleSheet("color:#aaa;")
        self.summary.setWordWrap(True)

        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.filter)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.empty, 1)
        layout.addWidget(self.summary)
        self.tree.hide()

        self._visible_timer = QtCore.QTimer(self, singleShot=True, interval=60)
        self._visible_timer.timeout.connect(self._request_visible_thumbs)
        self.tree.verticalScrollBar().valueChanged.connect(lambda *_: self._visible_timer.start())
        self.tree.itemExpanded.connect(lambda *_: self._visible_timer.start())
        self.tree.currentItemChanged.connect(self._on_current)
        self.search.textChanged.connect(self.apply_filter)
        self.filter.currentIndexChanged.connect(self.apply_filter)
        session.project_opened.connect(self.rebuild)
        session.sample_selected.connect(self._on_selected)
        session.status_changed.connect(self.update_status)
        session.labels.label_changed.connect(lambda key, _label: self.update_status(key))
        session.labels.label_changed.connect(lambda *_: self._update_summary())
        session.labels.save_failed.connect(lambda key, _msg: self.update_status(key))

    # -- building ------------------------------------------------------------------------------
    def rebuild(self) -> None:
        self.tree.clear()
        self._items.clear()
        self.thumbs.clear()
        ds = self.session.dataset
        self._problems = {}
        for p in ds.problems:
            if p.sample_key:
                self._problems.setdefault(p.sample_key, []).append(str(p))
        parents: dict[tuple, QtWidgets.QTreeWidgetItem] = {}

        def parent_for(path: tuple) -> QtWidgets.QTreeWidgetItem:
            if path in parents:
                return parents[path]
            item = QtWidgets.QTreeWidgetItem([path[-1]])
            item.setSizeHint(0, QtCore.QSize(1, GROUP_ROW_HEIGHT))
            font = item.font(0)
            font.setBold(len(path) == 1)
            item.setFont(0, font)
            item.setFlags(item.flags() & ~QtCore.Qt.ItemFlag.ItemIsSelectable)
            if len(path) == 1:
                self.tree.addTopLevelItem(item)
            else:
                parent_for(path[:-1]).addChild(item)
            parents[path] = item
            return item

        for s in self.session.samples:
            item = QtWidgets.QTreeWidgetItem([s.sample_id, "", "", ""])
            item.setData(0, KEY_ROLE, s.key)
            item.setSizeHint(0, QtCore.QSize(1, ROW_HEIGHT))  # room for the thumbnail
            parent_for((s.cls, s.split, s.group)).addChild(item)
            self._items[s.key] = item
            self.update_status(s.key)
        for path, item in parents.items():
            if len(path) < 3:
                item.setExpanded(True)
        for item in parents.values():
            self._update_group_count(item)
        has = bool(self._items)
        self.tree.setVisible(has)
        self.empty.setVisible(not has)
        if not has:
            self.empty.setText("This data set has no samples.\n\nExpected ROOT/LC|SC|OD/"
                               "train|test/<group>/<sample>_<level>.png")
        self._update_summary()
        self.summary.setToolTip("\n".join(str(p) for p in ds.problems[:50]))
        self.apply_filter()
        self._visible_timer.start()

    def _update_summary(self) -> None:
        s = self.session
        if s.dataset is None:
            return
        labels = [s.labels.label_of(k, k.split("/")[2] if k.count("/") >= 3 else "")
                  for k in self._items]
        n_good, n_dent = labels.count("good"), labels.count("dent")
        relabelled = len(s.labels.store.overrides) if s.labels.store else 0
        n_prob = len(s.dataset.problems)
        parts = [f"{len(self._items)} samples: {n_good} good, {n_dent} dent"]
        if relabelled:
            parts.append(f"{relabelled} relabelled")
        if s.labels.unsaved:
            parts.append(f"{len(s.labels.unsaved)} NOT SAVED")
        if n_prob:
            parts.append(f"{n_prob} scan problem(s) (filter 'Problems')")
        self.summary.setText(" · ".join(parts))

    def _update_group_count(self, item: QtWidgets.QTreeWidgetItem) -> None:
        if item.childCount() and item.child(0).data(0, KEY_ROLE):
            item.setText(COL_NAME, f"{item.text(COL_NAME)}  ({item.childCount()})")

    def update_status(self, key: str) -> None:
        item = self._items.get(key)
        if item is None:
            return
        s = self.session
        group = key.split("/")[2] if key.count("/") >= 3 else ""
        label = s.labels.label_of(key, group)
        unsaved = key in s.labels.unsaved
        item.setText(COL_LABEL, label + (" (unsaved)" if unsaved else "")
                     + (" *" if s.labels.store and s.labels.store.is_relabelled(key) else ""))
        item.setForeground(COL_LABEL, QtGui.QColor("#ff6b6b" if unsaved else (
            "#ff9f43" if label == "dent" else "#9ad39a")))
        if unsaved:
            item.setToolTip(COL_LABEL, s.labels.unsaved[key])
        roi = s.roi_status.get(key)
        problems = self._problems.get(key)
        if problems and s.labels.store is not None and s.labels.store.is_relabelled(key):
            # A relabel explains a mask on a good-folder sample, or a dent-folder sample without
            # one: not a problem of the data set any more.
            problems = [p for p in problems if "_mask." not in p]
        if problems:
            item.setText(COL_ROI, "problem")
            item.setForeground(COL_ROI, QtGui.QColor("#ff6b6b"))
            item.setToolTip(COL_ROI, "\n".join(problems))
            item.setToolTip(COL_NAME, "\n".join(problems))
        elif roi is None:
            item.setText(COL_ROI, "–")
        elif roi == "ok":
            item.setText(COL_ROI, "found")
            item.setForeground(COL_ROI, QtGui.QColor("#9ad39a"))
            item.setToolTip(COL_ROI, "ROI found with the current settings")
        else:
            item.setText(COL_ROI, "failed" if roi != "unreadable" else "unreadable")
            item.setForeground(COL_ROI, QtGui.QColor("#ff6b6b"))
            item.setToolTip(COL_ROI, roi)
        score = s.scores.get(key)
        item.setText(COL_SCORE, "–" if score is None else f"{score:.3f}")

    # -- filtering ------------------------------------------------------------------------------
    def _matches(self, key: str) -> bool:
        if not self._search_match(key):
            return False
        f = self.filter.currentText()
        s = self.session
        group = key.split("/")[2] if key.count("/") >= 3 else ""
        if f == "Good":
            return s.labels.label_of(key, group) == "good"
        if f == "Dent":
            return s.labels.label_of(key, group) == "dent"
        if f == "Relabelled":
            return bool(s.labels.store and s.labels.store.is_relabelled(key))
        if f == "Unsaved":
            return key in s.labels.unsaved
        if f == "ROI failed":
            return s.roi_status.get(key) not in (None, "ok")
        if f == "Problems":
            return bool(self._problems.get(key))
        return True

    def _search_match(self, key: str) -> bool:
        # Each word must start one part of the key ("od" finds OD, not good); a word with "/"
        # is matched anywhere in the key.
        low = key.lower()
        parts = low.split("/")
        for word in self.search.text().lower().split():
            if "/" in word:
                if word not in low:
                    return False
            elif not any(p.startswith(word) for p in parts):
                return False
        return True

    def apply_filter(self) -> None:
        for key, item in self._items.items():
            item.setHidden(not self._matches(key))
        for i in range(self.tree.topLevelItemCount()):
            self._hide_empty(self.tree.topLevelItem(i))
        self._visible_timer.start()

    def _hide_empty(self, item: QtWidgets.QTreeWidgetItem) -> bool:
        if item.data(0, KEY_ROLE):
            return not item.isHidden()
        any_visible = False
        for i in range(item.childCount()):
            any_visible |= self._hide_empty(item.child(i))
        item.setHidden(not any_visible)
        return any_visible

    def visible_keys(self) -> list[str]:
        """Sample keys in tree order that pass the filter (next/previous walks these)."""
        return [k for k, item in self._items.items() if not item.isHidden()]

    # -- thumbnails ------------------------------------------------------------------------------
    def _request_visible_thumbs(self) -> None:
        vp = self.tree.viewport()
        item = self.tree.itemAt(4, 4)
        by_key = {s.key: s for s in self.session.samples}
        n = 0
        while item is not None and n < 200:
            rect = self.tree.visualItemRect(item)
            if rect.top() > vp.height():
                break
            key = item.data(0, KEY_ROLE)
            if key and not self.thumbs.has(key):
                s = by_key.get(key)
                self.thumbs.request(key, s.level_paths[0] if s and s.level_paths else None)
            item = self.tree.itemBelow(item)
            n += 1

    def _on_thumb(self, key: str) -> None:
        item = self._items.get(key)
        if item is None:
            return
        icon = self.thumbs.icon(key)
        if icon is not None:
            item.setIcon(COL_NAME, icon)

    # -- selection -------------------------------------------------------------------------------
    def _on_current(self, item, _previous) -> None:
        if item is None:
            return
        key = item.data(0, KEY_ROLE)
        if key and (self.session.current is None or self.session.current.key != key):
            self.session.select_key(key)

    def _on_selected(self, sample) -> None:
        item = self._items.get(sample.key)
        if item is not None and self.tree.currentItem() is not item:
            self.tree.blockSignals(True)
            self.tree.setCurrentItem(item)
            self.tree.blockSignals(False)
            self.tree.scrollToItem(item)
            self._visible_timer.start()
