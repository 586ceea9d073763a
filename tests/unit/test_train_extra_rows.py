"""train_model's extra_rows (issue 19): the office's reviewed items, weighted, join the
training part only, so the held-out figures stay comparable."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from monitor.errors import InputError
from monitor.sentiment.train import train_model
from monitor.sentiment.weibo import WeiboModel
from tests.support.sentiment_data import write_fake_sentiment_data

PRAISE = "司法所调解员连夜上门纠纷当场化解"


def _p_positive(out: Path, text: str) -> float:
    return float(WeiboModel.load(out).predict([text])[1][0])


def test_extra_rows_join_the_training_part_with_their_weight(tmp_path: Path) -> None:
    write_fake_sentiment_data(tmp_path / "data")
    plain = train_model(tmp_path / "data", tmp_path / "plain", seed=0)
    stages: list[str] = []
    light = train_model(tmp_path / "data", tmp_path / "light", seed=0, progress=stages.append,
                        extra_rows=[(PRAISE, "positive", 1.0)] * 2)
    train_model(tmp_path / "data", tmp_path / "heavy", seed=0,
                extra_rows=[(PRAISE, "positive", 5.0)] * 2)
    assert "adding 2 reviewed rows" in stages
    assert (plain["extra_rows"], light["extra_rows"]) == (0, 2)
    assert light["train_rows"] == plain["train_rows"] + 2
    # never in the held-out parts: the test figures are measured on the same rows
    assert light["smp_usual_eval"]["n"] == plain["smp_usual_eval"]["n"]
    a = np.load(tmp_path / "plain" / "weibo_sentiment.npz")
    b = np.load(tmp_path / "light" / "weibo_sentiment.npz")
    assert not np.array_equal(a["weights"], b["weights"])
    p0, p1, p2 = (_p_positive(tmp_path / n, PRAISE) for n in ("plain", "light", "heavy"))
    assert p0 < p1 < p2  # the rows teach their label, more so with more weight
    meta = json.loads((tmp_path / "light" / "weibo_sentiment.json").read_text("utf-8"))
    assert meta["metrics"]["extra_rows"] == 2


@pytest.mark.parametrize(("row", "needle"), [
    (("  ", "positive", 1.0), "empty text"),
    (("好", "happy", 1.0), "label must be one of"),
    (("好", "positive", 0.0), "weight must be above 0"),
    (("好", "positive", float("nan")), "weight must be above 0"),
])
def test_bad_extra_rows_are_refused_before_any_work(tmp_path: Path,
                                                    row: tuple[str, str, float],
                                                    needle: str) -> None:
    with pytest.raises(InputError, match=needle):
        train_model(tmp_path / "no-data-needed", tmp_path / "m",
                    extra_rows=[("很好", "positive", 1.0), row])
    assert not (tmp_path / "m").exists()
