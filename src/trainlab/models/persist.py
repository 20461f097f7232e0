"""Saving scikit-learn objects without pickle: skops, with an allow-list fixed here, never read from the file.

skops is imported only when a file is written or read: importing it walks every scikit-learn module, which
takes seconds that a training run's time limit should not pay up front.
"""

from __future__ import annotations

import importlib
import threading
from pathlib import Path
from typing import Any

from trainlab.errors import BundleError

# Every type a trainlab bundle may hold beyond skops' own defaults. Loading refuses anything else.
TRUSTED_TYPES: tuple[str, ...] = (
    "numpy.dtype",
    "sklearn.compose._column_transformer.ColumnTransformer",
    "sklearn.pipeline.Pipeline",
    "sklearn.impute._base.SimpleImputer",
    "sklearn.impute._base.MissingIndicator",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.preprocessing._encoders.OneHotEncoder",
    "sklearn.preprocessing._encoders.OrdinalEncoder",
    "sklearn.feature_selection._univariate_selection.SelectKBest",
    "sklearn.feature_selection._univariate_selection.f_classif",
    "sklearn.feature_selection._univariate_selection.f_regression",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.linear_model._ridge.Ridge",
    "sklearn.tree._classes.DecisionTreeClassifier",
    "sklearn.tree._classes.DecisionTreeRegressor",
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._forest.RandomForestClassifier",
    "sklearn.ensemble._forest.RandomForestRegressor",
    "sklearn.ensemble._forest.ExtraTreesClassifier",
    "sklearn.ensemble._forest.ExtraTreesRegressor",
    "sklearn.neighbors._classification.KNeighborsClassifier",
    "sklearn.neighbors._regression.KNeighborsRegressor",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.naive_bayes.GaussianNB",
    "sklearn.svm._classes.SVC",
    "sklearn.svm._classes.SVR",
    "sklearn.calibration.CalibratedClassifierCV",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingRegressor",
    "trainlab.models.trees.CategoricalHGBClassifier",
    "trainlab.models.nbsvm.NBLogistic",
    "trainlab.models.nbsvm.NBScaled",
    "trainlab.data.text.TextVectorizer",
    "trainlab.data.text.RawText",
    # histogram boosting's own encoder of categorical columns (a partial of check_array, nothing else)
    "functools.partial",
    "sklearn.utils.validation.check_array",
    "trainlab.models.trees.CategoricalHGBRegressor",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn._loss.loss.HalfMultinomialLoss",
    "sklearn._loss.loss.HalfSquaredError",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.link.MultinomialLogit",
    "sklearn._loss.link.IdentityLink",
    "sklearn._loss.link.Interval",
    "sklearn.utils._bunch.Bunch",
    "builtins.slice",
    "builtins.object",
    "pandas.core.indexes.base.Index",
)


def preload() -> threading.Thread:
    """Import skops on a background thread, so that a run's first save (the first usable model) does not wait the
    seconds it takes (3.2 s on a busy 2-core machine): started when the search starts, it runs beside the trials."""
    thread = threading.Thread(target=importlib.import_module, args=("skops.io",), name="trainlab-skops", daemon=True)
    thread.start()
    return thread


def save_sklearn(obj: Any, path: Path) -> None:
    """Write a scikit-learn object to ``path`` in skops format."""
    import skops.io as sio

    sio.dump(obj, path)


def load_sklearn(path: Path) -> Any:
    """Read a skops file, refusing any type outside TRUSTED_TYPES."""
    import skops.io as sio

    try:
        untrusted = [t for t in sio.get_untrusted_types(file=path) if t not in TRUSTED_TYPES]
    except Exception as exc:
        raise BundleError(f"Model file '{path.name}' is not a readable skops file: {exc}") from exc
    if untrusted:
        raise BundleError(f"Model file '{path.name}' holds types trainlab does not load: {', '.join(untrusted)}. "
                          "Only bundles written by trainlab can be loaded.")
    return sio.load(path, trusted=list(TRUSTED_TYPES))


def save_estimator(estimator: Any, folder: Path) -> list[str]:
    """Default saver of a scikit-learn family: one skops file."""
    save_sklearn(estimator, folder / "estimator.skops")
    return ["estimator.skops"]


def load_estimator(folder: Path, task: str) -> Any:
    """Default loader of a scikit-learn family."""
    return load_sklearn(folder / "estimator.skops")
