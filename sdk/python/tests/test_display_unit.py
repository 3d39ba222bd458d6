"""A job's figures as a notebook shows them: the plain repr and the HTML bars, from snapshots."""
from __future__ import annotations

import html.parser
import unittest

import support  # noqa: F401  (puts the SDK on sys.path)
from headway import display

SNAPSHOT = {
    "v": 1, "job_id": "a1", "status": "executing", "version": 42,
    "progress_combined": 75,
    "progress_per_original_file": [
        {"original_id": "f2.mp4", "progress": 100},
        {"original_id": "f1.jpg", "progress": 50},
        {"original_id": "broken.mov", "progress": 100, "status": "failed", "error": "decoder crashed"},
        {"original_id": "late.zip", "progress": None},
    ],
    "indicators": [{"label": None, "done": 3, "total": 10}, {"label": "pages <b>", "done": 4, "total": 4}],
    "eta_seconds": 75,
    "updated_at": "2026-11-22T10:00:00.000Z",
}


class _Bars(html.parser.HTMLParser):
    """Reads the rows of the HTML view: (name, bar width, note)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list = []
        self._cells: list = []
        self._widths: list = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "tr":
            self._cells, self._widths = [], []
        if tag == "td":
            self._cells.append("")
        style = dict(attrs).get("style") or ""
        if tag == "div" and "width:" in style and "height:12px;width:" in style and "240px" not in style:
            self._widths.append(float(style.split("width:")[-1].rstrip("%")))

    def handle_data(self, data: str) -> None:
        if self._cells:
            self._cells[-1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self.rows.append((self._cells[0], self._widths[0], self._cells[2]))


class TextTest(unittest.TestCase):
    def test_shows_the_status_figures_eta_and_a_line_per_file_slowest_first_and_per_label(self) -> None:
        self.assertEqual(display.text("a1", SNAPSHOT).splitlines(), [
            "Job('a1') executing · 75 % · ETA 1 min 15 s · version 42",
            "  broken.mov  failed: decoder crashed",
            "  late.zip    –",
            "  f1.jpg      50 %",
            "  f2.mp4      100 %",
            "  tasks       3/10",
            "  pages <b>   4/4",
        ])

    def test_a_finished_job_shows_no_eta_and_its_error(self) -> None:
        failed = dict(SNAPSHOT, status="failed", eta_seconds=None, error="out of disk", progress_per_original_file=[], indicators=[])
        self.assertEqual(display.text("a1", failed), "Job('a1') failed · 75 % · version 42\n  error: out of disk")

    def test_caps_the_files_shown(self) -> None:
        many = dict(SNAPSHOT, progress_per_original_file=[{"original_id": f"f{i}", "progress": i} for i in range(25)], indicators=[])
        lines = display.text("a1", many).splitlines()
        self.assertEqual(len(lines), 1 + display.FILE_ROWS + 1)
        self.assertEqual(lines[1].split(), ["f0", "0", "%"])
        self.assertEqual(lines[-1], "  … and 15 more files")

    def test_says_why_when_the_figures_cannot_be_read(self) -> None:
        self.assertEqual(display.unavailable_text("a1", "HTTP 403 forbidden: this key may not read"), "Job('a1') (progress not available: HTTP 403 forbidden: this key may not read)")


class HtmlTest(unittest.TestCase):
    def test_draws_a_bar_for_the_job_each_file_and_each_label_with_names_escaped(self) -> None:
        page = display.to_html("a1", SNAPSHOT)
        self.assertIn("pages &lt;b&gt;", page)
        self.assertNotIn("pages <b>", page)
        bars = _Bars()
        bars.feed(page)
        self.assertEqual(bars.rows, [
            ("job", 75.0, "executing · 75 % · ETA 1 min 15 s · version 42"),
            ("broken.mov", 100.0, "failed: decoder crashed"),
            ("late.zip", 0.0, "not estimated yet"),
            ("f1.jpg", 50.0, "50 %"),
            ("f2.mp4", 100.0, "100 %"),
            ("tasks", 30.0, "3/10"),
            ("pages <b>", 100.0, "4/4"),
        ])

    def test_says_why_when_the_figures_cannot_be_read(self) -> None:
        self.assertIn("progress not available (HTTP 404 job_not_found: &lt;x&gt;)", display.unavailable_html("a1", "HTTP 404 job_not_found: <x>"))


if __name__ == "__main__":
    unittest.main()
