"""Export a saved bundle to run where trainlab does not: one ONNX file for the whole predict path (needs
``trainlab[onnx]``). ``export_onnx`` and ``ExportResult`` are imported on first use, with the install hint when
the extra is missing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trainlab.errors import MissingDependencyError

if TYPE_CHECKING:
    from trainlab.export.onnx import ExportResult

__all__ = ["ExportResult", "export_onnx"]
PACKAGES = ("onnx", "onnxruntime", "skl2onnx", "onnxmltools")


def export_onnx(bundle: Any, path: Any, rows: Any = None) -> ExportResult:
    """Write the bundle's model as one ONNX file, checked against the bundle first; see ``trainlab.export.onnx``."""
    try:
        from trainlab.export.onnx import export_onnx as export
    except ImportError as exc:
        if (exc.name or "").split(".")[0] not in PACKAGES:
            raise
        raise MissingDependencyError(exc.name or "onnx", "onnx", "ONNX export") from exc
    return export(bundle, path, rows)


def __getattr__(name: str) -> Any:
    if name == "ExportResult":
        from trainlab.export.onnx import ExportResult

        return ExportResult
    raise AttributeError(name)
