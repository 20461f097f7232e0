"""The export command: a saved model as one ONNX file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from trainlab.cli.console import err, out

FORMATS = ("onnx",)


def export(
    bundle: Annotated[Path, typer.Argument(help="A model bundle: the 'model' folder of a run.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The file to write, e.g. model.onnx.")],
    format: Annotated[str, typer.Option("--format", help="onnx (the only format so far).")] = "onnx",
    data: Annotated[Path | None, typer.Option(
        help="Rows to check the export on (default: rows made from the sample kept in the bundle).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the export's record as JSON on stdout.")] = False,
) -> None:
    """Write a saved model's whole predict path as one file, once it predicts like the bundle on check rows."""
    from trainlab.errors import ConfigError
    from trainlab.export import export_onnx

    if format not in FORMATS:
        raise ConfigError(f"Option --format must be one of {', '.join(FORMATS)}, got {format!r}.")
    result = export_onnx(bundle, output, rows=data)
    if as_json:
        out.print_json(json.dumps(result.to_dict()))
        return
    out.print(f"Wrote {escape(result.path)} ({result.size_bytes / 1024:.0f} KiB, {result.seconds:.1f} s): "
              f"{escape(result.model)}", highlight=False)
    out.print(f"Inputs: {len(result.inputs)} columns, shape [N, 1] each "
              f"({sum(t == 'float32' for t in result.inputs.values())} float32, "
              f"{sum(t == 'string' for t in result.inputs.values())} string); output '{result.output}'", highlight=False)
    out.print(f"Checked on {result.checked_rows} rows with onnxruntime: largest difference from the bundle "
              f"{result.max_difference:.2g} (allowed {result.tolerance:g})", highlight=False)
    for note in result.left_out:
        err.print(f"[yellow]Left out of the file:[/] {escape(note)}", highlight=False)
