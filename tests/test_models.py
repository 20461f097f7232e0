"""Every registered model family passes the conformance suite, on each task it declares."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from trainlab.errors import ConfigError
from trainlab.models import REGISTRY, get_spec, model_output, select_families
from trainlab.testing import case_id, cases, check_family, skip_reason

ISSUE_FAMILIES = {"linear", "decision_tree", "random_forest", "extra_trees", "knn", "naive_bayes", "svm",
                  "hist_gradient_boosting", "lightgbm", "xgboost", "catboost"}


@pytest.mark.parametrize("case", cases(), ids=case_id)
def test_family_conformance(case: tuple[str, str]) -> None:
    reason = skip_reason(*case)
    if reason:
        pytest.skip(reason)
    with threadpool_limits(1):  # tiny tables: threads only contend on a shared 2-core machine
        check_family(*case)


def test_every_family_of_the_issue_is_registered_with_its_tasks() -> None:
    assert set(REGISTRY) >= ISSUE_FAMILIES
    assert REGISTRY["naive_bayes"].tasks == ("binary", "multiclass")
    for key in ISSUE_FAMILIES - {"naive_bayes"}:
        assert set(REGISTRY[key].tasks) == {"binary", "multiclass", "regression"}, key


def test_unknown_family_suggests_the_closest_key() -> None:
    with pytest.raises(ConfigError, match=r"Unknown model family 'lightbgm'\. Did you mean 'lightgbm'\?"):
        get_spec("lightbgm")


def test_select_families_skips_with_reasons() -> None:
    chosen, skipped = select_families("regression", 100_000, None, ("lightgbm",))
    keys = [s.key for s in chosen]
    assert "naive_bayes" not in keys and "lightgbm" not in keys and "naive_bayes" not in skipped
    assert skipped["svm"] == "too slow on 100000 training rows (limit 5000)"
    assert keys == sorted(keys, key=lambda k: REGISTRY[k].cost)


def test_select_families_with_nothing_left_says_why() -> None:
    with pytest.raises(ConfigError, match=r"No model family can run on this regression task: naive_bayes: does not "
                                          r"support regression tasks"):
        select_families("regression", 100, ("naive_bayes",), ())


class _TwoOfThree:
    """An estimator whose training rows held classes 0 and 2 only."""

    classes_ = np.array([0, 2])

    def predict_proba(self, features: object) -> np.ndarray:
        return np.array([[0.25, 0.75], [1.0, 0.0]])


def test_model_output_puts_probabilities_under_the_classes_the_model_saw() -> None:
    out = model_output(_TwoOfThree(), None, "multiclass", 3)
    assert out.tolist() == [[0.25, 0.0, 0.75], [1.0, 0.0, 0.0]]


def test_a_preprocessing_that_only_passes_columns_through_is_applied_as_a_selection() -> None:
    import pandas as pd

    from trainlab.config import make_config
    from trainlab.data.checks import check_data
    from trainlab.data.prepare import make_features, passthrough_columns
    from trainlab.models.fitted import fit_model
    from trainlab.run import encode_target

    rng = np.random.default_rng(0)
    table = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200), "c": rng.choice(["x", "y"], 200)})
    table["y"] = np.where(table["a"] + (table["c"] == "x") > 0.5, "yes", "no")
    spec, params = get_spec("lightgbm"), {**get_spec("lightgbm").defaults, "n_estimators": 20}
    numbers = check_data(table.drop(columns="c"), make_config("y"))
    features = make_features(numbers.frame, numbers.schema)
    model = fit_model(spec, params, numbers.schema, features, encode_target(numbers.frame, numbers.schema), None, 0)
    assert passthrough_columns(model.preprocessor) == ["a", "b"]
    shuffled = features[["b", "a"]]
    assert model.prepare(shuffled).equals(model.preprocessor.transform(features))
    assert np.array_equal(model.output(shuffled), model.output(features))
    mixed = check_data(table, make_config("y"))  # a category is encoded: the preprocessing runs as fitted
    model = fit_model(spec, params, mixed.schema, make_features(mixed.frame, mixed.schema),
                      encode_target(mixed.frame, mixed.schema), None, 0)
    assert passthrough_columns(model.preprocessor) is None
