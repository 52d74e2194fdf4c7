"""choose_family copies what the graph shows of a forest into the estimator the audit trains."""

from __future__ import annotations

from mia_audit.models.architecture import InferredArchitecture
from mia_audit.training.families import FamilyChoice, _estimator, _from_graph
from mia_audit.training.mlp import MLPSpec


def test_graph_settings_reach_the_forest() -> None:
    arch = InferredArchitecture(
        "rf", n_estimators=40, max_depth=25, depth_limited=False, min_samples_leaf=3, max_features=0.5
    )
    choice = _from_graph(arch, MLPSpec())
    assert (choice.max_depth, choice.min_samples_leaf, choice.max_features) == (None, 3, 0.5)
    params = _estimator(choice, seed=1).get_params()
    assert (params["n_estimators"], params["max_depth"], params["min_samples_leaf"], params["max_features"]) == (
        40,
        None,
        3,
        0.5,
    )
    assert "leaves of at least 3" in choice.describe()


def test_nothing_read_keeps_the_old_forest() -> None:
    choice = _from_graph(InferredArchitecture("rf", n_estimators=7, max_depth=4), MLPSpec())
    assert choice == FamilyChoice("rf", choice.reason, n_estimators=7, max_depth=4)
    params = _estimator(choice, seed=0).get_params()
    assert (params["max_depth"], params["min_samples_leaf"], params["max_features"]) == (4, 1, "sqrt")


def test_limited_depth_stays_a_limit() -> None:
    arch = InferredArchitecture("gbm", n_estimators=5, max_depth=3, depth_limited=True)
    choice = _from_graph(arch, MLPSpec())
    assert (choice.max_depth, choice.min_samples_leaf) == (3, 1)


def test_gradient_boosting_graph_trains_gradient_boosting() -> None:
    arch = InferredArchitecture(
        "gbm", n_estimators=50, max_depth=3, depth_limited=True, booster="gradient", learning_rate=0.2
    )
    choice = _from_graph(arch, MLPSpec())
    model = _estimator(choice, seed=2)
    assert type(model).__name__ == "GradientBoostingClassifier"
    params = model.get_params()
    assert (params["n_estimators"], params["max_depth"], params["learning_rate"], params["random_state"]) == (
        50,
        3,
        0.2,
        2,
    )
    assert "GradientBoosting, learning rate 0.2" in choice.describe()


def test_unknown_booster_keeps_hist_gradient_boosting() -> None:
    choice = _from_graph(InferredArchitecture("gbm", n_estimators=20, max_depth=None, depth_limited=False), MLPSpec())
    model = _estimator(choice, seed=0)
    assert type(model).__name__ == "HistGradientBoostingClassifier"
    params = model.get_params()
    assert (params["max_iter"], params["max_depth"], params["learning_rate"]) == (20, None, 0.1)
    assert "HistGradientBoosting" in choice.describe()
