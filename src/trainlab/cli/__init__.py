"""The `trainlab` command: thin faces over the public calls, with rich tables and plain-language errors.

One module per group of commands; this one builds the app and turns user mistakes into one red line.
"""

from __future__ import annotations

import sys
import time
import warnings

import typer
from rich.markup import escape

from trainlab.cli import evaluation, exporting, lifecycle, recommend, serving, training
from trainlab.cli.console import err
from trainlab.errors import TrainlabError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Turn a labeled table into a trained, evaluated, explained model, in one command.")
for command in (training.train, training.predict, training.doctor, evaluation.report, evaluation.explain,
                evaluation.evaluate, evaluation.fairness, exporting.export, serving.serve, lifecycle.monitor,
                lifecycle.retrain, recommend.recommend):
    app.command()(command)
app.add_typer(lifecycle.models_app, name="models")


def main() -> None:
    """Entry point: user mistakes print one or two lines and exit with code 2, never a traceback.

    The moment it is called is handed to the commands (``ctx.obj["started"]``): ``trainlab train --time-limit``
    counts the imports that follow from there (about 1.5 s), not only the training.
    """
    started = time.monotonic()
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    try:
        app(obj={"started": started})
    except TrainlabError as exc:
        err.print(f"[bold red]Error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("[yellow]Interrupted.[/]")
        sys.exit(130)
