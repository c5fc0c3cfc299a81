"""A tiny labelled dataset and a seconds-long trained model, built by the tests themselves."""
from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

POSITIVE = ["wonderful", "brilliant", "superb", "loved", "moving", "delightful", "masterpiece", "great"]
NEGATIVE = ["awful", "boring", "terrible", "hated", "dull", "waste", "worst", "mess"]
FILLER = ["the", "film", "movie", "plot", "actors", "scene", "story", "director", "was", "and", "it", "a"]


def synthetic_reviews(count: int, seed: int = 0) -> list[dict]:
    """Reviews whose sentiment words decide the label, with HTML breaks like IMDb's."""
    rng = random.Random(seed)
    rows = []
    for index in range(count):
        label = index % 2
        cue = POSITIVE if label else NEGATIVE
        words = [rng.choice(FILLER) for _ in range(rng.randint(5, 40))]
        for _ in range(3):
            words.insert(rng.randrange(len(words) + 1), rng.choice(cue))
        text = " ".join(words[:10]) + ".<br /><br />" + " ".join(words[10:])
        rows.append({"text": text, "label": label, "id": f"{index}_{8 if label else 2}"})
    return rows


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")
    return path


def write_aclimdb(root: Path, split: str, rows: list[dict]) -> Path:
    for row in rows:
        folder = root / "aclImdb" / split / ("pos" if row["label"] else "neg")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{row['id']}.txt").write_text(row["text"], encoding="utf-8")
    return root / "aclImdb"
