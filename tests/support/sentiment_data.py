"""A miniature of ../shared/data/sentiment (same file names and formats) for training tests."""

from __future__ import annotations

import csv
import json
from pathlib import Path


def write_fake_sentiment_data(root: Path) -> None:
    """A miniature of the shared data folder, same file names and formats."""
    pos = ["服务很好感谢", "非常满意点赞", "律师很负责谢谢", "调解员辛苦了", "效率高好评"]
    neg = ["太失望了投诉", "推诿扯皮不作为", "态度差很生气", "敷衍了事垃圾", "拖了半年没人管"]
    neu = ["发布通知", "召开会议部署工作", "请问需要什么材料", "地址已迁至新区", "考试时间公布"]
    smp = root / "smp2020_ewect"
    smp.mkdir(parents=True)
    for name, reps in (("virus_train.txt", 4), ("virus_eval_labeled.txt", 4),
                       ("usual_eval_labeled.txt", 4)):
        items = []
        for r in range(reps):
            items += [{"id": 0, "content": f"{t}{r}", "label": "happy"} for t in pos]
            items += [{"id": 0, "content": f"{t}{r}", "label": "angry"} for t in neg]
            items += [{"id": 0, "content": f"{t}{r}", "label": "neutral"} for t in neu]
            items += [{"id": 0, "content": f"天哪{r}", "label": "surprise"}]
        (smp / name).write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
    senti = root / "weibo_senti_100k"
    senti.mkdir()
    lines = [f"1\t{t}[哈哈]{r}" for t in pos for r in range(4)]
    lines += [f"0\t{t}[怒]{r}" for t in neg for r in range(4)]
    (senti / "dev.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    waimai = root / "waimai_10k"
    waimai.mkdir()
    with (waimai / "waimai_10k.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["label", "review"])
        writer.writerows([[1, f"好吃{r}"] for r in range(8)] + [[0, f"难吃{r}"] for r in range(8)])
