"""FeatureEncoder: fitted statistics, the model encoding worked out by hand, and dtype-keeping generators."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mia_audit.errors import DataContractError
from mia_audit.training.encoding import FeatureEncoder


@pytest.fixture
def tiny() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "n": np.array([1, 2, 3, 6], dtype=np.int64),
            "c": pd.Series(["a", "b", "a", "c"], dtype="str"),
            "f": [0.5, 0.5, 1.5, 1.5],
            "b": [True, False, True, True],
        }
    )


def mixed(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "hours": rng.normal(40.0, 8.0, n).round(2),
            "score": rng.normal(0.0, 1.0, n).astype(np.float32),
            "job": pd.Series(rng.choice(["clerk", "nurse", "smith"], n), dtype="str"),
            "grade": pd.Categorical(rng.choice(["A", "B"], n)),
            "code": pd.Series(rng.choice([1, 2, 3], n).astype(object), dtype=object),
            "smoker": rng.random(n) < 0.3,
            "flag": rng.integers(0, 2, n),
        }
    )


def test_fit_learns_kinds_and_statistics(tiny: pd.DataFrame) -> None:
    n, c, f, b = FeatureEncoder.fit(tiny).columns
    assert (n.kind, n.integer, n.low, n.high, n.mean) == ("numeric", True, 1.0, 6.0, 3.0)
    assert n.std == pytest.approx(math.sqrt(3.5))  # population std: (4 + 1 + 0 + 9) / 4
    assert not n.binary
    assert (c.kind, c.categories, c.frequencies) == ("categorical", ("a", "b", "c"), (0.5, 0.25, 0.25))
    assert (f.kind, f.integer, f.binary, f.mean, f.std) == ("numeric", False, True, 1.0, 0.5)
    assert (b.kind, b.categories, b.frequencies) == ("categorical", (True, False), (0.75, 0.25))


def test_transform_by_hand(tiny: pd.DataFrame) -> None:
    encoder = FeatureEncoder.fit(tiny)
    s = math.sqrt(3.5)
    expected = np.array(
        [
            # n            c: a  b  c   f     b: True False
            [-2 / s, 1, 0, 0, -1.0, 1, 0],
            [-1 / s, 0, 1, 0, -1.0, 0, 1],
            [0 / s, 1, 0, 0, 1.0, 1, 0],
            [3 / s, 0, 0, 1, 1.0, 1, 0],
        ],
        dtype=np.float32,
    )
    out = encoder.transform(tiny)
    assert encoder.n_outputs == 7
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    # standardised numeric columns have mean 0 and (population) std 1 on the fitted frame
    np.testing.assert_allclose(out[:, [0, 4]].mean(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(out[:, [0, 4]].std(axis=0), 1.0, atol=1e-6)


def test_unseen_category_encodes_as_zeros(tiny: pd.DataFrame) -> None:
    encoder = FeatureEncoder.fit(tiny)
    new = pd.DataFrame({"n": [3], "c": pd.Series(["zebra"], dtype="str"), "f": [1.0], "b": [False]})
    np.testing.assert_allclose(encoder.transform(new), [[0, 0, 0, 0, 0, 0, 1]], atol=1e-7)


def test_rare_categories_fold_into_other_slot(tiny: pd.DataFrame) -> None:
    encoder = FeatureEncoder.fit(tiny[["c"]], max_categories=2)  # keeps a, b; c goes to "other"
    assert encoder.n_outputs == 3
    frame = pd.DataFrame({"c": pd.Series(["a", "b", "c", "unseen"], dtype="str")})
    np.testing.assert_array_equal(encoder.transform(frame), [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0]])


def test_constant_column_standardises_to_zero() -> None:
    frame = pd.DataFrame({"k": [5.0, 5.0, 5.0], "x": [0.0, 1.0, 2.0]})
    out = FeatureEncoder.fit(frame).transform(frame)
    assert np.all(np.isfinite(out))
    np.testing.assert_array_equal(out[:, 0], 0.0)


def test_fit_refuses_an_empty_frame() -> None:
    with pytest.raises(DataContractError):
        FeatureEncoder.fit(pd.DataFrame({"x": []}))


def test_transform_refuses_other_columns(tiny: pd.DataFrame) -> None:
    with pytest.raises(DataContractError, match="columns"):
        FeatureEncoder.fit(tiny).transform(tiny[["c", "n", "f", "b"]])


def assert_schema_and_range(out: pd.DataFrame, frame: pd.DataFrame) -> None:
    assert list(out.columns) == list(frame.columns)
    assert out.dtypes.equals(frame.dtypes), (out.dtypes, frame.dtypes)
    assert out.index.equals(pd.RangeIndex(len(out)))
    for name in frame.columns:
        if pd.api.types.is_numeric_dtype(frame[name]) and not pd.api.types.is_bool_dtype(frame[name]):
            assert out[name].min() >= frame[name].min() and out[name].max() <= frame[name].max(), name
        else:
            assert set(out[name].tolist()) <= set(frame[name].tolist()), name


@pytest.mark.parametrize("method", ["sample_marginal", "random_records"])
def test_generators_keep_columns_dtypes_and_ranges(method: str) -> None:
    frame = mixed()
    encoder = FeatureEncoder.fit(frame)
    out = getattr(encoder, method)(500, np.random.default_rng(1))
    assert len(out) == 500
    assert_schema_and_range(out, frame)
    assert (out["age"] % 1 == 0).all()
    assert set(out["flag"]) <= {0, 1}  # a binary numeric column draws only its two values
    assert isinstance(out["grade"].dtype, pd.CategoricalDtype)
    assert out["grade"].cat.categories.equals(frame["grade"].cat.categories)
    again = getattr(encoder, method)(500, np.random.default_rng(1))
    pd.testing.assert_frame_equal(out, again)


def test_random_records_are_uniform_not_marginal() -> None:
    frame = pd.DataFrame({"x": np.r_[np.zeros(95), np.full(5, 10.0), [3.3]], "c": ["a"] * 99 + ["b", "c"]})
    encoder = FeatureEncoder.fit(frame)
    uniform = encoder.random_records(6000, np.random.default_rng(0))
    marginal = encoder.sample_marginal(6000, np.random.default_rng(0))
    assert uniform["x"].mean() == pytest.approx(5.0, abs=0.3)
    assert marginal["x"].mean() == pytest.approx(frame["x"].mean(), abs=0.3)
    assert (uniform["c"] == "a").mean() == pytest.approx(1 / 3, abs=0.03)
    assert (marginal["c"] == "a").mean() == pytest.approx(99 / 101, abs=0.01)


def test_randomize_redraws_exactly_k_features_per_row() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(200, 6)), columns=[f"x{i}" for i in range(6)])
    encoder = FeatureEncoder.fit(frame)
    k = np.arange(200) % 7  # 0..6 features per row
    out = encoder.randomize(frame, k, np.random.default_rng(3))
    changed = (out.to_numpy() != frame.to_numpy()).sum(axis=1)
    np.testing.assert_array_equal(changed, k)  # continuous values: a redraw never hits the old value
    assert_schema_and_range(out, frame)
    assert frame.equals(pd.DataFrame(np.random.default_rng(0).normal(size=(200, 6)), columns=frame.columns))
    # the same draws on the code matrix
    codes = encoder.randomize_codes(encoder.codes(frame), k, np.random.default_rng(3))
    pd.testing.assert_frame_equal(encoder.decode(codes), out)


def test_randomize_keeps_dtypes_and_unchanged_cells() -> None:
    frame = mixed()
    encoder = FeatureEncoder.fit(frame)
    out = encoder.randomize(frame, 2, np.random.default_rng(5))
    assert_schema_and_range(out, frame)
    changed = np.column_stack([out[c].to_numpy() != frame[c].to_numpy() for c in frame.columns]).sum(axis=1)
    assert changed.max() <= 2 and changed.mean() > 1.0
    untouched = encoder.randomize(frame, 0, np.random.default_rng(5))
    pd.testing.assert_frame_equal(untouched, frame)


def test_decode_round_trips_codes() -> None:
    frame = mixed()
    encoder = FeatureEncoder.fit(frame)
    pd.testing.assert_frame_equal(encoder.decode(encoder.codes(frame)), frame)


def test_unused_categories_of_a_category_dtype_are_not_seen_values() -> None:
    frame = pd.DataFrame({"g": pd.Categorical(["a", "b", "a"], categories=["a", "b", "never"])})
    encoder = FeatureEncoder.fit(frame)
    assert encoder.columns[0].categories == ("a", "b")
    out = encoder.random_records(300, np.random.default_rng(0))
    assert set(out["g"]) == {"a", "b"} and out["g"].dtype == frame["g"].dtype


@settings(max_examples=30, deadline=None)
@given(
    ints=st.lists(st.integers(-1000, 1000), min_size=1, max_size=30),
    seed=st.integers(0, 2**32 - 1),
)
def test_generated_records_stay_in_schema(ints: list[int], seed: int) -> None:
    n = len(ints)
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "i": np.array(ints, dtype=np.int64),
            "f": rng.normal(size=n),
            "s": pd.Series(rng.choice(["x", "y", "z"], n), dtype="str"),
            "b": rng.random(n) < 0.5,
        }
    )
    encoder = FeatureEncoder.fit(frame)
    assert encoder.transform(frame).shape == (n, encoder.n_outputs)
    for out in (
        encoder.sample_marginal(20, rng),
        encoder.random_records(20, rng),
        encoder.randomize(frame, rng.integers(0, 5, n), rng),
    ):
        assert_schema_and_range(out, frame)


def test_replace_cells_fast_numeric_path_equals_the_object_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Float and integer columns are replaced as numbers; the frame (values and dtypes) is the one the
    general object path gives."""
    import mia_audit.training.encoding as encoding

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "f64": rng.normal(size=50),
            "f32": rng.normal(size=50).astype(np.float32),
            "i64": rng.integers(0, 90, 50),
            "flag": rng.integers(0, 2, 50).astype(bool),
            "text": rng.choice(["a", "b", "c"], 50),
        }
    )
    encoder = FeatureEncoder.fit(frame)
    mask = rng.random((50, 5)) < 0.5
    codes = encoder.codes(frame) + 1.25

    def draw(j: int, rows: np.ndarray) -> np.ndarray:
        return np.zeros(len(rows)) if j >= 3 else codes[rows, j]

    fast = encoder.replace_cells(frame, mask, draw)
    monkeypatch.setattr(encoding, "_plain_number", lambda *_: False)
    slow = encoder.replace_cells(frame, mask, draw)
    pd.testing.assert_frame_equal(fast, slow)
    assert list(fast.dtypes) == list(frame.dtypes)
    assert not fast.equals(frame)  # cells did change


def test_codes_of_plain_number_columns_equal_the_column_by_column_values() -> None:
    from mia_audit.training.encoding import _as_float, _category_codes

    frame = pd.DataFrame(
        {
            "x": [1.5, np.nan, 3.0, 4.25],
            "k": np.array([1, 2, 3, 4], dtype=np.int32),
            "city": ["Oslo", "Lima", "Oslo", "Pune"],
            "n": pd.array([1, None, 3, 4], dtype="Int64"),
            "f": np.array([0.1, 0.2, 0.3, 0.4], dtype=np.float32),
        }
    )
    encoder = FeatureEncoder.fit(frame)
    expected = np.column_stack(
        [
            _as_float(frame.iloc[:, j]) if col.is_numeric else _category_codes(col, frame.iloc[:, j])
            for j, col in enumerate(encoder.columns)
        ]
    )
    np.testing.assert_array_equal(encoder.codes(frame), expected)


def _by_column(encoder: FeatureEncoder, frame: pd.DataFrame) -> np.ndarray:
    """The encoding of numeric columns worked out one column at a time (the definition)."""
    out = np.zeros((len(frame), encoder.n_outputs), dtype=np.float32)
    for j, col in enumerate(encoder.columns):
        values = pd.to_numeric(frame.iloc[:, j]).to_numpy(dtype=np.float64)
        scaled = (values - (col.mean or 0.0)) / (col.std if col.std else 1.0)
        out[:, encoder.offsets[j]] = np.where(np.isnan(scaled), 0.0, scaled)
    return out


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64])
def test_numeric_blocks_encode_as_column_by_column(monkeypatch: pytest.MonkeyPatch, dtype: type) -> None:
    """The one-pass path, over several row blocks, gives the column-by-column values exactly."""
    import mia_audit.training.encoding as encoding
    import mia_audit.training.reference_pool as reference_pool

    monkeypatch.setattr(encoding, "CHUNK_CELLS", 40)  # 8 rows a block: many blocks
    monkeypatch.setattr(reference_pool, "CHUNK_CELLS", 15)
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(0, 3, (101, 5)).round(2), columns=list("abcde")).astype(dtype)
    frame["flag"] = rng.integers(0, 2, 101).astype(dtype)
    if dtype != np.int64:
        frame.iloc[::7, 1] = np.nan
    encoder = FeatureEncoder.fit(frame)
    np.testing.assert_array_equal(encoder.transform(frame), _by_column(encoder, frame))
    flags = reference_pool.model_matrix(encoder, frame)
    np.testing.assert_array_equal(flags[:, :5], _by_column(encoder, frame)[:, :5])
    np.testing.assert_allclose(flags[:, 5], frame["flag"].to_numpy(), atol=1e-6)  # 0/1 flags kept on 0–1
