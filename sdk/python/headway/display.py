"""A job's snapshot as people read it: plain text for ``repr`` and HTML bars for Jupyter.

Pure functions of a snapshot dict (``GET /v1/jobs/{id}``); ``Job.__repr__`` and
``Job._repr_html_`` fetch the snapshot and call them.
"""
from __future__ import annotations

import html
from typing import Any, List, Mapping, Optional, Sequence

#: Rows of files shown before "… and N more files" (the slowest first).
FILE_ROWS = 10
BAR_CHARS = 20


def _percent(value: Optional[float]) -> str:
    return "–" if value is None else f"{int(value)} %"


def _eta(seconds: Optional[float]) -> Optional[str]:
    if seconds is None:
        return None
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _slowest_first(files: Sequence[Mapping[str, Any]]) -> List[Mapping[str, Any]]:
    """Failed files first, then those not estimated yet, then by progress, as ``headway watch`` orders them."""
    def rank(entry: Mapping[str, Any]) -> tuple:
        if entry.get("status") == "failed":
            return (0, 0)
        progress = entry.get("progress")
        return (1, 0) if progress is None else (2, progress)
    return sorted(files, key=rank)


def _indicator_label(entry: Mapping[str, Any]) -> str:
    return "tasks" if entry.get("label") is None else str(entry["label"])


def _ratio(done: float, total: float) -> Optional[float]:
    return None if not total else min(100.0, 100.0 * done / total)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def summary(snapshot: Mapping[str, Any]) -> str:
    """One line: status, combined figure, ETA, version."""
    parts = [str(snapshot.get("status")), _percent(snapshot.get("progress_combined"))]
    eta = _eta(snapshot.get("eta_seconds"))
    if eta is not None and snapshot.get("status") not in ("completed", "failed", "cancelled"):
        parts.append(f"ETA {eta}")
    parts.append(f"version {snapshot.get('version')}")
    return " · ".join(parts)


def text(job_id: str, snapshot: Mapping[str, Any]) -> str:
    """The plain ``repr``: a summary line, then a line per file (slowest first) and per label."""
    lines = [f"Job({job_id!r}) {summary(snapshot)}"]
    error = snapshot.get("error")
    if error:
        lines.append(f"  error: {error}")
    files = _slowest_first(snapshot.get("progress_per_original_file") or [])
    width = max([len(str(f["original_id"])) for f in files[:FILE_ROWS]] + [len(_indicator_label(i)) for i in snapshot.get("indicators") or []] + [4])
    for entry in files[:FILE_ROWS]:
        figure = f"failed: {entry.get('error', '')}".rstrip(": ") if entry.get("status") == "failed" else _percent(entry.get("progress"))
        lines.append(f"  {str(entry['original_id']):<{width}}  {figure}")
    if len(files) > FILE_ROWS:
        lines.append(f"  … and {len(files) - FILE_ROWS} more files")
    for entry in snapshot.get("indicators") or []:
        lines.append(f"  {_indicator_label(entry):<{width}}  {_number(entry['done'])}/{_number(entry['total'])}")
    return "\n".join(lines)


def unavailable_text(job_id: str, reason: str) -> str:
    return f"Job({job_id!r}) (progress not available: {reason})"


def _bar_html(name: str, value: Optional[float], note: str, failed: bool = False) -> str:
    width = 0 if value is None else max(0.0, min(100.0, float(value)))
    colour = "#d9534f" if failed else "#3b82f6"
    shown = "not estimated yet" if value is None and not failed else note
    return (
        "<tr>"
        f"<td style=\"padding:2px 8px 2px 0;text-align:left;white-space:nowrap\">{html.escape(name)}</td>"
        "<td style=\"padding:2px 8px 2px 0;width:240px\">"
        "<div style=\"background:#e5e7eb;border-radius:3px;height:12px;width:240px\">"
        f"<div style=\"background:{colour};border-radius:3px;height:12px;width:{width:.1f}%\"></div>"
        "</div></td>"
        f"<td style=\"padding:2px 0;text-align:left;white-space:nowrap\">{html.escape(shown)}</td>"
        "</tr>"
    )


def to_html(job_id: str, snapshot: Mapping[str, Any]) -> str:
    """Jupyter's view: the job's bar, then a bar per file (slowest first) and per label."""
    rows = [_bar_html("job", snapshot.get("progress_combined"), summary(snapshot), failed=snapshot.get("status") == "failed")]
    files = _slowest_first(snapshot.get("progress_per_original_file") or [])
    for entry in files[:FILE_ROWS]:
        failed = entry.get("status") == "failed"
        note = f"failed: {entry.get('error', '')}" if failed else _percent(entry.get("progress"))
        rows.append(_bar_html(str(entry["original_id"]), 100 if failed else entry.get("progress"), note, failed))
    more = f"<div style=\"color:#6b7280\">… and {len(files) - FILE_ROWS} more files</div>" if len(files) > FILE_ROWS else ""
    for entry in snapshot.get("indicators") or []:
        ratio = _ratio(entry["done"], entry["total"])
        rows.append(_bar_html(_indicator_label(entry), ratio, f"{_number(entry['done'])}/{_number(entry['total'])}"))
    error = snapshot.get("error")
    error_html = f"<div style=\"color:#d9534f\">error: {html.escape(str(error))}</div>" if error else ""
    return (
        "<div class=\"headway-job\" style=\"font-family:system-ui,sans-serif;font-size:13px\">"
        f"<div style=\"font-weight:600;margin-bottom:4px\">Job {html.escape(job_id)}</div>"
        f"<table style=\"border-collapse:collapse\">{''.join(rows)}</table>{more}{error_html}</div>"
    )


def unavailable_html(job_id: str, reason: str) -> str:
    return (
        "<div class=\"headway-job\" style=\"font-family:system-ui,sans-serif;font-size:13px\">"
        f"<b>Job {html.escape(job_id)}</b>: progress not available ({html.escape(reason)})</div>"
    )


def describe_failure(error: Any) -> str:
    """A reading error in a few words (the HeadwayError's message names the status and the API's code)."""
    return getattr(error, "message", None) or str(error)


__all__: List[str] = ["text", "to_html", "unavailable_text", "unavailable_html", "describe_failure", "summary"]
