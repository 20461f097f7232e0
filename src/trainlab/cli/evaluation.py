"""Commands that look at a trained model: report, explain, evaluate, fairness."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from trainlab.cli.console import err, out, print_fairness, scores_with_intervals


def report(
    run_dir: Annotated[Path, typer.Argument(help="A run folder, e.g. runs/<name>.")],
) -> None:
    """Rebuild report.html and summary.json of a run from the files in its folder."""
    from trainlab.report import write_report

    path = write_report(run_dir)
    err.print(f"Wrote {path} and {path.with_name('summary.json')}")


def _explain_picture(predictor: Any, picture: Path, output: Path, top: int) -> None:
    import numpy as np

    from trainlab.evaluate.occlusion import occlusion_map, write_heat_map

    image, heat, proba = occlusion_map(predictor.output, predictor.schema, picture)
    order = np.argsort(-proba)[:top]
    classes = [str(predictor.classes[i]) for i in order]
    write_heat_map(image, heat, f"{picture.name}: {classes[0]} ({proba[order[0]]:.3f})", output)
    for name, i in zip(classes, order, strict=True):
        out.print(f"  {proba[i]:.3f}  {name}", highlight=False)
    err.print(f"Wrote the heat map to {output}")


def explain(
    bundle: Annotated[Path, typer.Argument(help="A model bundle: the 'model' folder of a run.")],
    data: Annotated[Path, typer.Argument(help="Rows to explain, with the training columns.")],
    top: Annotated[int, typer.Option(help="Contributing features shown per row.")] = 5,
    limit: Annotated[int, typer.Option(help="Explain at most this many rows.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print the explanations as JSON on stdout.")] = False,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Heat map of a picture (PNG).")] = None,
) -> None:
    """Explain each prediction of DATA: its top contributing features, their values and direction; for one
    picture, a heat map of the regions that drove the prediction (occlusion) and the top classes."""
    from trainlab.data.load import load_table
    from trainlab.data.media import kind_of_path
    from trainlab.predict import Predictor

    if kind_of_path(data) == "image":
        _explain_picture(Predictor.load(bundle), data, output or data.with_name(f"{data.stem}-heat.png"), top)
        return
    rows = load_table(data)
    explained = Predictor.load(bundle).explain(rows.head(limit), top=top)
    if as_json:
        out.print_json(json.dumps(explained, default=str))
        return
    for i, entry in enumerate(explained):
        chance = f" (p({entry['explained_class']}) = {entry['probability']:.3f})" if "probability" in entry else ""
        prediction = entry["prediction"]
        shown = f"{prediction:.4g}" if isinstance(prediction, float) else prediction
        out.print(f"[bold]Row {i}[/]: prediction [bold]{shown}[/]{chance}", highlight=False)
        for c in entry["contributions"]:
            colour = "green" if c["contribution"] > 0 else "red"
            out.print(f"  [{colour}]{c['contribution']:+.4f}[/] {c['feature']} = {c['value']!r} "
                      f"({c['direction']} the {entry['unit']})", highlight=False)
        for column, found in entry.get("words", {}).items():
            out.print(f"  words of {column} that pushed it, in log-odds ({found['method']}):", highlight=False)
            for w in found["words"]:
                out.print(f"    [{'green' if w['weight'] > 0 else 'red'}]{w['weight']:+.4f}[/] {w['word']}",
                          highlight=False)
    if len(rows) > limit:
        err.print(f"Explained the first {limit} of {len(rows)} rows; use --limit to explain more.")
    if explained:
        err.print(f"[dim]Contributions by {explained[0]['method']}; base value {explained[0]['base']:.4f}.[/]")


def evaluate(
    bundle: Annotated[Path, typer.Argument(help="A model bundle: the 'model' folder of a run.")],
    data: Annotated[Path, typer.Argument(help="Labelled rows: the training columns and the target column.")],
    out_dir: Annotated[Path | None, typer.Option("--out", help="Report folder (default: evaluation-<data>).")] = None,
    metric: Annotated[str | None, typer.Option(help="Metric for permutation importance (default: the task's).")] = None,
    k: Annotated[int | None, typer.Option("--k", help="Recommenders: list length scored (default: the run's).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Recommenders: print the metrics as JSON on stdout.")] = False,
) -> None:
    """Score a saved model on new labelled DATA: metrics, curves, error analysis and importance, in a report;
    a recommender on new interactions: ranking metrics at k over the items each user had not seen in training."""
    from trainlab.bundle.recommender import is_recommender
    from trainlab.data.load import load_table

    if is_recommender(bundle):
        from trainlab.cli.recommend import evaluate_recommender

        evaluate_recommender(bundle, data, k, as_json)
        return
    from trainlab.evaluate.analysis import evaluate_saved
    from trainlab.predict import Predictor
    from trainlab.report import write_report

    predictor = Predictor.load(bundle)
    folder = out_dir or Path(f"evaluation-{data.stem}")
    name = predictor.manifest.extras.get("model_name", "model") if predictor.manifest else "model"
    analysis = evaluate_saved(predictor.model, predictor.schema, load_table(data), folder, model_name=str(name),
                              bundle=bundle, data=str(data), metric=metric, threshold=predictor.threshold)
    path = write_report(folder)
    scores = scores_with_intervals(analysis["test"]["metrics"], analysis["test"].get("intervals"))
    out.print(f"[bold]{name}[/] on {analysis['test']['rows']} labelled rows (95 % intervals in brackets): "
              f"{escape(scores)}", highlight=False)
    out.print(f"Report: {path}")


def fairness(
    bundle: Annotated[Path, typer.Argument(help="A model bundle: the 'model' folder of a run.")],
    data: Annotated[Path, typer.Argument(help="Labelled rows: the training columns, the target and the sensitive columns.")],
    sensitive: Annotated[str, typer.Option(help="Columns that describe groups of people, comma-separated (e.g. sex,age).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")] = False,
) -> None:
    """Fairness by group of a saved model on new labelled DATA: per-group rates, demographic parity, equalized
    odds, and a verdict in plain words for each sensitive column."""
    from trainlab.data.load import load_table
    from trainlab.evaluate.analysis import fairness_saved
    from trainlab.predict import Predictor

    predictor = Predictor.load(bundle)
    columns = tuple(c.strip() for c in sensitive.split(",") if c.strip())
    result = fairness_saved(predictor.model, predictor.schema, load_table(data), columns,
                            threshold=predictor.threshold)
    if as_json:
        out.print_json(json.dumps(result, default=str))
        return
    out.print(f"{result['rows']} labelled rows: {escape(scores_with_intervals(result['metrics'], result['intervals']))}",
              highlight=False)
    print_fairness(result["fairness"])
