"""The attacker's view of the feature columns: statistics, a numeric encoding, and record generators.

A ``FeatureEncoder`` is fitted on the attacker's population frame. It knows, per column:

- **numeric** columns (any numeric dtype except bool): range, mean, standard deviation and the
  sorted observed values. ``integer`` is true when every observed value is a whole number (int
  columns, and float columns such as ``1.0, 2.0``); generated values are then whole numbers too.
  A numeric column with at most two distinct values (a 0/1 flag) stays numeric (one standardised
  output, not a one-hot pair) but is marked ``binary``: generators draw only its two values, and
  noise flips it, as in Shokri et al.'s noisy data.
- **categorical** columns (bool, object, string and category dtypes): the seen values, ordered by
  frequency (most frequent first, ties by value), and their shares.

``transform`` turns a frame into a float32 matrix for models the audit trains itself: numeric
columns standardised with the population mean and (population, ddof=0) standard deviation
(a constant column gives zeros; a missing value gives 0, the mean); categorical columns one-hot
over their ``max_categories`` most frequent values, plus one "other" slot that takes the rarer
seen values when there are more; values never seen in the population encode as all zeros.

The generators (``sample_marginal``, ``random_records``, ``randomize``) return frames with the
fitted frame's columns, order and dtypes (int stays int, str stays str, bool stays bool, category
stays category), so they can be fed to any target. Internally records are handled as a float
"code" matrix: numeric values as they are, categorical values as indices into ``categories``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from mia_audit.errors import DataContractError

NUMERIC = "numeric"
_DENSE_SHARE = 0.1  # replace_codes: past this share of the cells, one pass over the matrix
CHUNK_CELLS = 2_000_000  # float64 temporaries of the vectorised paths: 16 MB, reused by the allocator
CATEGORICAL = "categorical"
_CATEGORY, _BINARY, _INTEGER, _CONTINUOUS = range(4)


@dataclass(frozen=True)
class ColumnSchema:
    """What the attacker knows about one feature column, fitted on the population frame."""

    name: str
    kind: str  # "numeric" | "categorical"
    dtype: Any = None  # the fitted column's dtype, restored on every generated frame
    # Numeric columns: their range, moments and sorted values.
    integer: bool = False
    low: float | None = None
    high: float | None = None
    mean: float | None = None
    std: float | None = None
    values: np.ndarray | None = field(default=None, compare=False, repr=False)
    binary: bool = False  # numeric with at most two distinct values
    # Categorical columns: the categories seen and their shares.
    categories: tuple[object, ...] = ()
    frequencies: tuple[float, ...] = ()

    @property
    def is_numeric(self) -> bool:
        return self.kind == NUMERIC


@dataclass(frozen=True)
class FeatureEncoder:
    """Per-column statistics of the population, an encoding for models, and record generators."""

    columns: tuple[ColumnSchema, ...]
    max_categories: int = 50

    # -- fitting -------------------------------------------------------------------------------

    @classmethod
    def fit(cls, frame: pd.DataFrame, max_categories: int = 50) -> FeatureEncoder:
        """Fit on the attacker's population records (at least one row and one column)."""
        if max_categories < 1:
            raise ValueError(f"max_categories must be at least 1, got {max_categories}")
        if frame.shape[0] == 0 or frame.shape[1] == 0:
            raise DataContractError(
                f"cannot learn the feature columns from {frame.shape[0]} records and {frame.shape[1]} columns; "
                "the population needs at least one record and one feature column"
            )
        return cls(
            tuple(_fit_column(str(name), frame.iloc[:, j]) for j, name in enumerate(frame.columns)), max_categories
        )

    # -- the model encoding -------------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def n_outputs(self) -> int:
        return sum(self._width(c) for c in self.columns)

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Float32 ``(n, n_outputs)``: standardised numeric columns, one-hot categorical ones."""
        self._check_columns(frame)
        out = np.zeros((len(frame), self.n_outputs), dtype=np.float32)
        plain = self._plain_numeric(frame)
        if plain:
            self._transform_plain(frame, plain, out)
        for j in sorted(set(range(len(self.columns))) - set(plain)):
            col, series, at = self.columns[j], frame.iloc[:, j], int(self.offsets[j])
            if col.is_numeric:
                column = (_as_float(series) - (col.mean or 0.0)) / (col.std if col.std else 1.0)
                out[:, at] = np.where(np.isnan(column), 0.0, column)
            else:
                codes = _category_codes(col, series)
                slot = np.minimum(codes, self._width(col) - 1)  # folded rare categories share the last ("other") slot
                rows = np.flatnonzero(codes >= 0)
                out[rows, at + slot[rows]] = 1.0
        return out

    def _transform_plain(self, frame: pd.DataFrame, plain: list[int], out: np.ndarray) -> None:
        """The plain numpy number columns ``plain`` into ``out``, a block of rows at a time: the same values as
        column by column, with float64 temporaries of at most ``CHUNK_CELLS`` cells (the whole matrix at once
        held 6 GB more at 1.5 million records of 200 columns)."""
        picked = np.asarray(plain)
        mean, std = self._moments[0][picked], self._moments[1][picked]
        every = len(plain) == frame.shape[1]  # then no column gather: the frame may be a transposed view
        whole = every and len(plain) == self.n_outputs
        rows = max(1, CHUNK_CELLS // len(plain))
        for at in range(0, len(frame), rows):
            part = frame.iloc[at : at + rows]
            values = part.to_numpy(dtype=np.float64) if every else part.iloc[:, plain].to_numpy(dtype=np.float64)
            scaled = values - mean
            scaled /= std
            scaled[np.isnan(scaled)] = 0.0
            if whole:
                out[at : at + rows] = scaled
            else:
                out[at : at + rows, self.offsets[picked]] = scaled

    @cached_property
    def _moments(self) -> tuple[np.ndarray, np.ndarray]:
        """Per column the mean and the standard deviation ``transform`` scales by (0 and 1 for categorical ones)."""
        mean = np.array([(c.mean or 0.0) if c.is_numeric else 0.0 for c in self.columns])
        std = np.array([(c.std if c.std else 1.0) if c.is_numeric else 1.0 for c in self.columns])
        return mean, std

    @cached_property
    def offsets(self) -> np.ndarray:
        """Per column its first output of ``transform``."""
        widths = [self._width(c) for c in self.columns]
        return np.concatenate([[0], np.cumsum(widths)[:-1]]).astype(np.int64)

    def _plain_numeric(self, frame: pd.DataFrame) -> list[int]:
        """The numeric columns that are plain numpy numbers in ``frame``: they convert to float64 in one pass."""
        dtypes = list(frame.dtypes)  # a list: indexing the dtypes Series per column cost 10 ms a call
        return [j for j, col in enumerate(self.columns) if col.is_numeric and _numpy_number(dtypes[j])]

    def _width(self, col: ColumnSchema) -> int:
        if col.is_numeric:
            return 1
        n = len(col.categories)
        return n if n <= self.max_categories else self.max_categories + 1

    # -- generators ----------------------------------------------------------------------------

    def sample_marginal(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        """``n`` records, each column drawn independently from its empirical marginal."""
        return self.decode(self.marginal_codes(n, rng))

    def random_records(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        """``n`` uniform random records: numeric uniform in [low, high] (whole numbers for integer
        columns, one of the two values for binary ones), categorical uniform over the seen values."""
        return self.decode(self.random_codes(n, rng))

    def randomize(self, frame: pd.DataFrame, k: np.ndarray | int, rng: np.random.Generator) -> pd.DataFrame:
        """A copy of ``frame`` in which ``k`` features per row (a number, or one per row) are redrawn
        uniformly as in ``random_records``. The other cells are kept exactly, unseen values included;
        a redrawn cell can by chance get its old value back."""
        self._check_columns(frame)
        mask = self.choose_cells(len(frame), k, rng)
        rows, cols = np.nonzero(mask)
        new = np.zeros(mask.shape)
        new[rows, cols] = self._uniform_cells(cols, rng)
        return self.replace_codes(frame, mask, new)

    # -- the code matrix (used by the hill-climbing synthesis) ----------------------------------

    def marginal_codes(self, n: int, rng: np.random.Generator) -> np.ndarray:
        codes = np.empty((n, len(self.columns)), dtype=np.float64)
        for j, col in enumerate(self.columns):
            if col.is_numeric:
                assert col.values is not None
                codes[:, j] = rng.choice(col.values, size=n) if col.values.size else 0.0
            else:
                codes[:, j] = rng.choice(len(col.categories), size=n, p=np.asarray(col.frequencies))
        return codes

    def random_codes(self, n: int, rng: np.random.Generator) -> np.ndarray:
        d = len(self.columns)
        return self._uniform_cells(np.tile(np.arange(d), n), rng).reshape(n, d)

    def randomize_codes(self, codes: np.ndarray, k: np.ndarray | int, rng: np.random.Generator) -> np.ndarray:
        """``randomize`` on a code matrix (the same random draws as on the decoded frame)."""
        out = np.array(codes, dtype=np.float64, copy=True)
        rows, cols = np.nonzero(self.choose_cells(len(out), k, rng))
        out[rows, cols] = self._uniform_cells(cols, rng)
        return out

    def choose_cells(self, n: int, k: np.ndarray | int, rng: np.random.Generator) -> np.ndarray:
        """A boolean ``(n, d)`` mask with ``k`` (per row, clipped to [0, d]) cells chosen at random per row."""
        d = len(self.columns)
        per_row = np.clip(np.broadcast_to(np.asarray(k, dtype=np.int64), (n,)), 0, d)
        order = np.argsort(rng.random((n, d)), axis=1)
        take = np.arange(d)[None, :] < per_row[:, None]
        mask = np.zeros((n, d), dtype=bool)
        mask[np.nonzero(take)[0], order[take]] = True
        return mask

    def replace_cells(self, frame: pd.DataFrame, mask: np.ndarray, draw: Any) -> pd.DataFrame:
        """A copy of ``frame`` where, for each column ``j``, the rows in ``mask[:, j]`` get the values
        ``draw(j, rows)`` returns (codes); the other cells are copied exactly."""
        out = frame.copy()
        for j, col in enumerate(self.columns):
            rows = np.flatnonzero(mask[:, j])
            if not rows.size:
                continue
            series = frame.iloc[:, j]
            if _plain_number(series.dtype, col.dtype):  # the same values as below, without Python objects
                kind = np.dtype(col.dtype)
                values = series.to_numpy(dtype=kind, copy=True)
                values[rows] = self._decode_column(j, draw(j, rows)).astype(kind)
                out.isetitem(j, values)
                continue
            objects = np.array(series.to_numpy(dtype=object), dtype=object)
            objects[rows] = self._decode_column(j, draw(j, rows))
            out.isetitem(j, _restore(objects, col.dtype))
        return out

    def replace_codes(self, frame: pd.DataFrame, mask: np.ndarray, new: np.ndarray, repeats: int = 1) -> pd.DataFrame:
        """``replace_cells`` with the codes of a whole ``(n, d)`` matrix ``new``: the cells in ``mask`` get theirs.

        With ``repeats`` > 1 the frame's rows stand for ``repeats`` copies each, in order (``n`` = ``repeats``
        × its rows), and the result has a fresh ``RangeIndex``. A frame whose columns all share the fitted
        numpy number dtype is replaced as one matrix, the same values as column by column (446 columns cost
        0.3 s a call that way).
        """
        self._check_columns(frame)
        dtypes = list(frame.dtypes)
        kind = dtypes[0] if dtypes else None
        if not dtypes or not all(
            _plain_number(dtypes[j], col.dtype) and col.dtype == kind for j, col in enumerate(self.columns)
        ):
            if repeats > 1:
                frame = frame.iloc[np.repeat(np.arange(len(frame)), repeats)].reset_index(drop=True)
            return self.replace_cells(frame, mask, lambda j, r: new[r, j])
        whole = np.array([col.integer for col in self.columns])
        values = frame.to_numpy(dtype=kind)
        values = np.repeat(values, repeats, axis=0) if repeats > 1 else np.array(values, order="F", copy=True)
        if mask.mean() > _DENSE_SHARE:  # e.g. Gaussian noise on every cell: no index arrays of every cell
            with np.errstate(invalid="ignore"):  # cells outside the mask may hold anything; they are not used
                decoded = (np.where(whole, np.rint(new), new) if whole.any() else new).astype(kind)
            values = np.where(mask, decoded, values)
        else:
            rows, cols = np.nonzero(mask)
            cells = new[rows, cols]
            values[rows, cols] = np.where(whole[cols], np.rint(cells), cells).astype(kind)
        index = pd.RangeIndex(len(values)) if repeats > 1 else frame.index
        # Without a copy: pandas keeps the matrix as its block.
        return pd.DataFrame(values, columns=frame.columns, index=index, copy=False)

    def codes(self, frame: pd.DataFrame) -> np.ndarray:
        """The code matrix of ``frame``; categorical values never seen get code -1."""
        self._check_columns(frame)
        out = np.empty((len(frame), len(self.columns)), dtype=np.float64)
        # Plain numpy number columns convert in one pass (the same values as column by column).
        plain = self._plain_numeric(frame)
        if plain:
            out[:, plain] = frame.iloc[:, plain].to_numpy(dtype=np.float64)
        for j in sorted(set(range(len(self.columns))) - set(plain)):
            col, series = self.columns[j], frame.iloc[:, j]
            out[:, j] = _as_float(series) if col.is_numeric else _category_codes(col, series)
        return out

    def decode(self, codes: np.ndarray) -> pd.DataFrame:
        """The frame for a code matrix, with the fitted columns, order and dtypes."""
        index = pd.RangeIndex(codes.shape[0])
        dtypes = {col.dtype for col in self.columns}
        if len(dtypes) == 1 and all(col.is_numeric for col in self.columns):
            dtype = next(iter(dtypes))
            if isinstance(dtype, np.dtype):  # one homogeneous block: much faster than column by column
                values = np.array(codes, dtype=np.float64, copy=True)
                whole = [j for j, col in enumerate(self.columns) if col.integer]
                values[:, whole] = np.rint(values[:, whole])
                return pd.DataFrame(values.astype(dtype), columns=self.names, index=index)
        data = {
            col.name: _restore(self._decode_column(j, codes[:, j]), col.dtype) for j, col in enumerate(self.columns)
        }
        return pd.DataFrame(data, index=index)

    @cached_property
    def _uniform_params(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per column: how to turn u ~ U[0, 1) into a uniform value (kind, base, span, top)."""
        d = len(self.columns)
        kind, base, span, top = np.empty(d, dtype=np.int64), np.zeros(d), np.zeros(d), np.zeros(d)
        for j, col in enumerate(self.columns):
            low, high = col.low or 0.0, col.high or 0.0
            if not col.is_numeric:
                kind[j], span[j] = _CATEGORY, len(col.categories)
            elif col.binary:
                kind[j], base[j], top[j] = _BINARY, low, high
            elif col.integer:
                kind[j], base[j], span[j] = _INTEGER, math.ceil(low), math.floor(high) - math.ceil(low) + 1
            else:
                kind[j], base[j], span[j], top[j] = _CONTINUOUS, low, high - low, high
        return kind, base, span, top

    def _uniform_cells(self, cols: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One uniform value (code) for each cell whose column index is in ``cols``: one draw per cell."""
        u = rng.random(len(cols))
        kind, base, span, top = (param[cols] for param in self._uniform_params)
        out = np.minimum(base + u * span, top)  # continuous; rounding never passes high
        out = np.where(kind == _BINARY, np.where(u < 0.5, base, top), out)
        return np.where((kind == _INTEGER) | (kind == _CATEGORY), base + np.floor(u * span), out)

    def _decode_column(self, j: int, codes: np.ndarray) -> np.ndarray:
        col = self.columns[j]
        if col.is_numeric:
            values = np.asarray(codes, dtype=np.float64)
            return np.rint(values) if col.integer else values
        lookup = np.empty(len(col.categories), dtype=object)
        lookup[:] = list(col.categories)
        return lookup[np.asarray(codes, dtype=np.int64)]

    def _check_columns(self, frame: pd.DataFrame) -> None:
        names = [str(c) for c in frame.columns]
        if names != self.names:
            raise DataContractError(
                f"the frame's columns {names[:8]} differ from the fitted columns {self.names[:8]}; "
                "pass the same feature columns in the same order"
            )


# -- fitting one column ------------------------------------------------------------------------


def _is_categorical(series: pd.Series) -> bool:
    return pd.api.types.is_bool_dtype(series.dtype) or not pd.api.types.is_numeric_dtype(series.dtype)


def _fit_column(name: str, series: pd.Series) -> ColumnSchema:
    if _is_categorical(series):
        return _fit_categorical(name, series)
    values = np.sort(_as_float(series))
    values = values[~np.isnan(values)]
    if values.size == 0:
        # No value seen: a constant column at 0.
        return ColumnSchema(
            name, NUMERIC, series.dtype, integer=True, low=0.0, high=0.0, mean=0.0, std=0.0, values=values, binary=True
        )
    low, high = float(values[0]), float(values[-1])
    return ColumnSchema(
        name=name,
        kind=NUMERIC,
        dtype=series.dtype,
        integer=bool(np.all(np.mod(values, 1.0) == 0.0)),
        low=low,
        high=high,
        mean=float(values.mean()),
        std=float(values.std()),
        values=values,
        binary=bool(np.all((values == low) | (values == high))),
    )


def _fit_categorical(name: str, series: pd.Series) -> ColumnSchema:
    counts = series.dropna().value_counts(sort=False)
    counts = counts[counts > 0]  # a category dtype lists values that never occur
    seen = [_plain(v) for v in counts.index.tolist()]
    order = sorted(range(len(seen)), key=_value_order(seen))
    order.sort(key=lambda i: -int(counts.iloc[i]))  # stable: most frequent first, ties by value
    total = float(counts.sum())
    categories = tuple(seen[i] for i in order)
    frequencies = tuple(float(counts.iloc[i]) / total for i in order)
    return ColumnSchema(name, CATEGORICAL, series.dtype, categories=categories, frequencies=frequencies)


def _value_order(values: list[Any]) -> Any:
    try:
        ranked = sorted(range(len(values)), key=lambda i: values[i])
    except TypeError:  # mixed types: order by type name, then by text
        ranked = sorted(range(len(values)), key=lambda i: (type(values[i]).__name__, repr(values[i])))
    position = {i: p for p, i in enumerate(ranked)}
    return position.__getitem__


def _plain(value: object) -> object:
    """numpy scalars as Python ones, so categories print and compare plainly."""
    return value.item() if isinstance(value, np.generic) else value


# -- conversions -------------------------------------------------------------------------------


def _as_float(series: pd.Series) -> np.ndarray:
    return np.asarray(pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan))


def _category_codes(col: ColumnSchema, series: pd.Series) -> np.ndarray:
    index = pd.Index(list(col.categories), dtype=object)
    values = pd.Index(np.asarray(series.to_numpy(dtype=object), dtype=object), dtype=object)
    return np.asarray(index.get_indexer(values), dtype=np.int64)


def _numpy_number(dtype: Any) -> bool:
    return isinstance(dtype, np.dtype) and dtype.kind in "fiu"


def _plain_number(frame_dtype: Any, fitted: Any) -> bool:
    """A numpy float or integer column of the fitted dtype: replaced in place as numbers (decoded integer codes
    are already rounded, so the cast is exact)."""
    return isinstance(fitted, np.dtype) and fitted.kind in "fiu" and frame_dtype == fitted


def _restore(values: np.ndarray, dtype: Any) -> Any:
    """Values (float or object array) as an array of the fitted column's dtype."""
    if isinstance(dtype, np.dtype) and dtype.kind in "iub":
        if values.dtype == object:
            return np.asarray(values.tolist(), dtype=dtype)
        return values.astype(dtype)
    if isinstance(dtype, np.dtype) and dtype.kind in "fc":
        return np.asarray(values, dtype=dtype)
    if isinstance(dtype, np.dtype) and dtype.kind == "O":
        out = np.empty(len(values), dtype=object)
        out[:] = list(values)
        return out
    return pd.array(list(values), dtype=dtype)
