"""The data contract: reading, membership, labels, splits, and one clear error per bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mia_audit.data import records
from mia_audit.data.files import Narrowing
from mia_audit.data.records import AuditData, DataSpec, load_audit_data, parse_membership, read_tables, split_audit
from mia_audit.errors import DataContractError, InputFileError


def _frame(n_members: int = 30, n_holdout: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_members + n_holdout
    return pd.DataFrame(
        {
            "age": rng.integers(18, 90, n),
            "city": rng.choice(["a", "b", "c"], n),
            "income": rng.normal(size=n),
            "label": rng.choice(["yes", "no"], n),
            "member": [1] * n_members + [0] * n_holdout,
        }
    )


@pytest.fixture
def data_csv(tmp_path: Path) -> Path:
    path = tmp_path / "audit.csv"
    _frame().to_csv(path, index=False)
    return path


def test_single_file_split_and_balance(data_csv: Path) -> None:
    data = load_audit_data(DataSpec(data=data_csv), seed=1)
    assert data.feature_cols == ("age", "city", "income")
    assert data.label_col == "label"
    assert data.count("member") == 30
    # 40 holdout records: half (seeded) go to the attacker's population.
    assert data.count("population") == 20 and data.count("holdout") == 20
    members = data.is_member[data.eval_idx]
    assert members.sum() == 20 and (~members).sum() == 20
    assert not set(data.eval_idx) & set(data.population_idx)
    assert "50% of the holdout" in data.population_source


def test_split_is_reproducible_and_seed_dependent(data_csv: Path) -> None:
    a = load_audit_data(DataSpec(data=data_csv), seed=3)
    b = load_audit_data(DataSpec(data=data_csv), seed=3)
    c = load_audit_data(DataSpec(data=data_csv), seed=4)
    assert np.array_equal(a.eval_idx, b.eval_idx) and np.array_equal(a.population_idx, b.population_idx)
    assert not np.array_equal(a.population_idx, c.population_idx)


def test_no_balance_keeps_every_record(data_csv: Path) -> None:
    data = load_audit_data(DataSpec(data=data_csv, balance=False), seed=0)
    assert len(data.eval_idx) == 30 + 20


def test_two_files_and_population_file(tmp_path: Path) -> None:
    frame = _frame()
    frame[frame.member == 1].drop(columns="member").to_csv(tmp_path / "m.csv", index=False)
    frame[frame.member == 0].drop(columns="member").to_parquet(tmp_path / "h.parquet")
    _frame(0, 25, seed=9).drop(columns="member").to_csv(tmp_path / "p.csv", index=False)
    spec = DataSpec(members=tmp_path / "m.csv", holdout=tmp_path / "h.parquet", population=tmp_path / "p.csv")
    data = load_audit_data(spec, seed=0)
    assert data.count("population") == 25 and data.count("holdout") == 40
    assert data.population_source.startswith("population file")
    assert set(data.files) == {"members", "holdout", "population"}
    assert len(data.sha256["holdout"]) == 64
    # Row indices point back into each input file.
    assert data.row_index[data.source == "holdout"].tolist() == list(range(40))


def test_drop_and_feature_cols(data_csv: Path) -> None:
    assert load_audit_data(DataSpec(data=data_csv, drop_cols=("city",)), 0).feature_cols == ("age", "income")
    spec = DataSpec(data=data_csv, feature_cols=("income", "age"))
    assert load_audit_data(spec, 0).feature_cols == ("income", "age")


def _assert_same(a: AuditData, b: AuditData) -> None:
    pd.testing.assert_frame_equal(a.features, b.features, check_exact=True)
    for name in ("raw_labels", "role", "source", "row_index", "eval_idx", "population_idx", "sensitive"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert (a.notes, a.files, a.sha256, a.population_source) == (b.notes, b.files, b.sha256, b.population_source)


def test_split_of_one_read_equals_loading_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    frame = _frame(60, 80).assign(label=np.tile(["a", "b", "c", "d"], 35))
    frame[frame.member == 1].drop(columns="member").to_csv(tmp_path / "m.csv", index=False)
    frame[frame.member == 0].drop(columns="member").to_csv(tmp_path / "h.csv", index=False)
    frame.iloc[:30].drop(columns=["member", "city"]).to_csv(tmp_path / "p.csv", index=False)
    reads: list[str] = []
    read_table = records.read_table

    def counting(path: Path, what: str, narrowing: Narrowing) -> tuple[pd.DataFrame, str]:
        reads.append(what)
        return read_table(path, what, narrowing)

    monkeypatch.setattr(records, "read_table", counting)
    for population in (None, tmp_path / "p.csv"):
        spec = DataSpec(
            members=tmp_path / "m.csv", holdout=tmp_path / "h.csv", population=population, drop_cols=("city",)
        )
        reads.clear()
        tables = read_tables(spec)
        assert reads == ["members", "holdout"] + ["population"] * (population is not None)  # each file once
        drop = frozenset({"b", "d"})
        dropped = split_audit(tables, seed=5, drop_labels=drop)
        assert "non-member records are left out" in dropped.notes[0]
        assert set(dropped.raw_labels[dropped.role != "member"]) == {"a", "c"}
        _assert_same(dropped, load_audit_data(spec, 5, drop))
        # Splitting again, without dropping, finds the tables as they were read.
        _assert_same(split_audit(tables, seed=5), load_audit_data(spec, 5))


def test_input_file_is_not_modified(data_csv: Path) -> None:
    before = data_csv.read_bytes()
    load_audit_data(DataSpec(data=data_csv), seed=0)
    assert data_csv.read_bytes() == before


@pytest.mark.parametrize(
    ("values", "expected"),
    [([1, 0, 1], [True, False, True]), (["true", "False", "YES"], [True, False, True]), ([1.0, 0.0], [True, False])],
)
def test_parse_membership(values: list[object], expected: list[bool]) -> None:
    assert parse_membership(pd.Series(values), "member").tolist() == expected


def _error(tmp_path: Path, frame: pd.DataFrame, **kwargs: object) -> str:
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataContractError) as info:
        load_audit_data(DataSpec(data=path, **kwargs), seed=0)  # type: ignore[arg-type]
    message = str(info.value)
    assert "\n" not in message
    return message


def test_errors_name_problem_and_fix(tmp_path: Path) -> None:
    frame = _frame()
    assert "--member-col" in _error(tmp_path, frame.drop(columns="member"))
    assert "must be binary" in _error(tmp_path, frame.assign(member=[2] * len(frame)))
    assert "no training members" in _error(tmp_path, frame.assign(member=0))
    assert "no held-out records" in _error(tmp_path, frame.assign(member=1))
    assert "--label-col" in _error(tmp_path, frame.rename(columns={"label": "outcome"}))
    assert "several candidates" in _error(tmp_path, frame.assign(target=1))
    assert "'nope' not found" in _error(tmp_path, frame, label_col="nope")
    with_nan = frame.astype({"income": float})
    with_nan.loc[3, "income"] = np.nan
    assert "'income' (1)" in _error(tmp_path, with_nan)
    no_label = frame.astype({"label": object})
    no_label.loc[0, "label"] = None
    assert "label column 'label' has 1 empty" in _error(tmp_path, no_label)
    assert "do not exist" in _error(tmp_path, frame, drop_cols=("zzz",))
    assert "no feature columns" in _error(tmp_path, frame, drop_cols=("age", "city", "income"))
    assert "--population-share" in _error(tmp_path, frame, population_share=1.0)


def test_too_few_holdout_records_for_a_population(tmp_path: Path) -> None:
    assert "--population FILE" in _error(tmp_path, _frame(5, 1))


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="not found"):
        load_audit_data(DataSpec(data=tmp_path / "missing.csv"), 0)
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InputFileError, match="empty"):
        load_audit_data(DataSpec(data=tmp_path / "empty.csv"), 0)
    (tmp_path / "x.xlsx").write_text("a")
    with pytest.raises(InputFileError, match="unsupported type"):
        load_audit_data(DataSpec(data=tmp_path / "x.xlsx"), 0)


def test_source_choice_errors(data_csv: Path) -> None:
    with pytest.raises(DataContractError, match="either --data"):
        load_audit_data(DataSpec(data=data_csv, members=data_csv), 0)
    with pytest.raises(DataContractError, match="add --holdout"):
        load_audit_data(DataSpec(members=data_csv), 0)
    with pytest.raises(DataContractError, match="no audit data"):
        load_audit_data(DataSpec(), 0)


def test_mismatched_files(tmp_path: Path) -> None:
    frame = _frame().drop(columns="member")
    frame.to_csv(tmp_path / "m.csv", index=False)
    frame.drop(columns="city").to_csv(tmp_path / "h.csv", index=False)
    with pytest.raises(DataContractError, match="lacks columns city"):
        load_audit_data(DataSpec(members=tmp_path / "m.csv", holdout=tmp_path / "h.csv"), 0)
