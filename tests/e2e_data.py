"""Small real models and audit files for end-to-end tests, built in a tmp dir in about a second."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression


@dataclass(frozen=True)
class AuditCase:
    model: Path
    data: Path
    frame: pd.DataFrame


def _records(n: int, seed: int) -> pd.DataFrame:
    X, y = make_classification(n_samples=n, n_features=10, n_informative=6, n_classes=3, flip_y=0.1, random_state=seed)
    frame = pd.DataFrame(X.round(5), columns=[f"f{i}" for i in range(X.shape[1])])
    frame["label"] = np.array(["red", "green", "blue"])[y]
    return frame


def _save_skops(model: object, path: Path) -> Path:
    import skops.io as sio

    sio.dump(model, path)
    return path


def overfit_case(tmp: Path, n_members: int = 300, n_holdout: int = 600, seed: int = 0) -> AuditCase:
    """A fully grown random forest: it memorises its (noisy) training records."""
    frame = _records(n_members + n_holdout, seed)
    frame["member"] = (np.arange(len(frame)) < n_members).astype(int)
    train = frame[frame.member == 1]
    features = [c for c in frame.columns if c.startswith("f")]
    model = RandomForestClassifier(n_estimators=60, random_state=seed, n_jobs=1)
    model.fit(train[features], train["label"])
    frame.to_csv(tmp / "audit.csv", index=False)
    return AuditCase(_save_skops(model, tmp / "forest.skops"), tmp / "audit.csv", frame)


def exchangeable_case(tmp: Path, n: int = 2400, seed: int = 1) -> AuditCase:
    """Members and non-members are both records the model never saw: no attack can tell them apart."""
    frame = _records(n + 500, seed)
    features = [c for c in frame.columns if c.startswith("f")]
    train, audit = frame.iloc[:500], frame.iloc[500:].reset_index(drop=True)
    model = LogisticRegression(max_iter=500).fit(train[features], train["label"])
    audit = audit.assign(member=np.random.default_rng(seed).permutation(np.arange(n) % 2))
    audit.to_csv(tmp / "audit.csv", index=False)
    return AuditCase(_save_skops(model, tmp / "logreg.skops"), tmp / "audit.csv", audit)
