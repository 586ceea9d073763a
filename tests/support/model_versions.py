"""Two tiny `weibo` models that disagree, trained on the miniature data set, for tests of
the model registry and of swapping versions in a running worker.

"plain" learns the miniature's labels; "flipped" learns them with positive and negative
exchanged, so the same praise scores high under one and low under the other: a test can
tell from an item's score alone which model scored it.
"""

from __future__ import annotations

import json
from pathlib import Path

from monitor.sentiment.train import train_model
from tests.support.sentiment_data import write_fake_sentiment_data

PRAISE = "律师很负责谢谢"
COMPLAINT = "推诿扯皮不作为"


def flip_labels(data: Path) -> None:
    """Exchange positive and negative in every file of the miniature (neutral stays)."""
    smp = {"happy": "angry", "angry": "happy"}
    for path in (data / "smp2020_ewect").glob("*.txt"):
        items = json.loads(path.read_text(encoding="utf-8"))
        for item in items:
            item["label"] = smp.get(item["label"], item["label"])
        path.write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
    tsv = data / "weibo_senti_100k" / "dev.tsv"
    lines = tsv.read_text(encoding="utf-8").splitlines()
    tsv.write_text("".join(("1" if line[0] == "0" else "0") + line[1:] + "\n"
                           for line in lines), encoding="utf-8")


def train_toy(root: Path, kind: str) -> Path:
    """Train the "plain" or "flipped" model into `root/<kind>/model`; the folder."""
    data = root / kind / "data"
    write_fake_sentiment_data(data)
    if kind == "flipped":
        flip_labels(data)
    out = root / kind / "model"
    train_model(data, out, seed=0)
    return out
