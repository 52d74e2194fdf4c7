"""Reading audit files in chunks: the same records as one read, the file's own SHA-256, float32 when large."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mia_audit.data import files
from mia_audit.data.files import Narrowing, read_table
from mia_audit.data.records import DataSpec, read_tables
from mia_audit.errors import DataContractError


def _frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(size=n).round(6),
            "k": rng.integers(0, 9, size=n),
            "city": rng.choice(["Oslo", "Lima", "Pune"], size=n),
            "label": rng.choice(["a", "b"], size=n),
        }
    )


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files, "CHUNK_ROWS", 7)


def test_a_csv_read_in_chunks_is_the_whole_file_and_hashes_its_bytes(tmp_path: Path, small_chunks: None) -> None:
    frame = _frame(50)
    path = tmp_path / "a.csv"
    frame.to_csv(path, index=False)
    read, digest = read_table(path, "data")
    pd.testing.assert_frame_equal(read, pd.read_csv(path))
    assert digest == _sha256(path)


def test_a_gzipped_csv_hashes_the_compressed_file(tmp_path: Path, small_chunks: None) -> None:
    frame = _frame(30)
    path = tmp_path / "a.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        frame.to_csv(handle, index=False)
    read, digest = read_table(path, "data")
    pd.testing.assert_frame_equal(read, frame)
    assert digest == _sha256(path)


def test_parquet_in_batches_equals_the_csv(tmp_path: Path, small_chunks: None) -> None:
    frame = _frame(40)
    frame.to_csv(tmp_path / "a.csv", index=False)
    frame.to_parquet(tmp_path / "a.parquet", index=False)
    from_csv, _ = read_table(tmp_path / "a.csv", "data")
    from_parquet, digest = read_table(tmp_path / "a.parquet", "data")
    pd.testing.assert_frame_equal(from_csv, from_parquet)
    assert digest == _sha256(tmp_path / "a.parquet")


def test_a_header_without_records_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("x,label\n")
    with pytest.raises(DataContractError, match="has no records"):
        read_table(path, "data")


def test_floats_narrow_once_the_files_pass_the_limit_even_those_read_first(tmp_path: Path, small_chunks: None) -> None:
    narrowing = Narrowing(limit=60)
    first, _ = _written(tmp_path / "a.csv", _frame(40), narrowing)
    assert first.x.dtype == np.float64  # 40 float values so far
    second, _ = _written(tmp_path / "b.csv", _frame(40, seed=1), narrowing)
    assert narrowing.narrow and second.x.dtype == np.float32
    assert narrowing.apply(first).x.dtype == np.float32
    assert second.k.dtype == np.int64 and second.city.dtype == first.city.dtype  # only floats narrow


def _written(path: Path, frame: pd.DataFrame, narrowing: Narrowing) -> tuple[pd.DataFrame, str]:
    frame.to_csv(path, index=False)
    return read_table(path, "data", narrowing)


@pytest.mark.parametrize("limit, dtype", [(10**9, np.float64), (100, np.float32)])
def test_the_audit_holds_large_inputs_as_float32_whatever_the_format(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: int, dtype: type
) -> None:
    monkeypatch.setattr(files, "FLOAT32_CELLS", limit)
    members, holdout = _frame(60), _frame(60, seed=1)
    members.to_csv(tmp_path / "m.csv", index=False)
    holdout.to_parquet(tmp_path / "h.parquet", index=False)
    tables = read_tables(DataSpec(members=tmp_path / "m.csv", holdout=tmp_path / "h.parquet"))
    assert tables.features.x.dtype == dtype
    np.testing.assert_allclose(tables.features.x[:60], members.x.astype(dtype))
    assert tables.sha256 == {"members": _sha256(tmp_path / "m.csv"), "holdout": _sha256(tmp_path / "h.parquet")}


def test_float32_columns_count_toward_the_limit() -> None:
    narrowing = Narrowing(limit=50)
    narrowing.add(pd.DataFrame({"x": np.zeros(60, dtype=np.float32), "k": np.zeros(60, dtype=np.int64)}))
    assert narrowing.cells == 60 and narrowing.narrow
