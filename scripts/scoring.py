"""Score many reviews with every core: one process per core, each with one torch thread.

One process per core beats one process with several threads here: the LSTM's per-step matrix
products are small, and two processes that each spin two OpenMP threads on two cores were
measured about 9x slower than one thread each.
"""
from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

_predictor = None


def _init_worker(model_dir: str) -> None:
    global _predictor
    import torch

    torch.set_num_threads(1)
    from artifact import load_predictor

    _predictor = load_predictor(Path(model_dir))


def _score(texts: list[str]) -> list[float]:
    return _predictor.predict(texts)


def score_texts(model_dir: Path, texts: list[str], workers: int | None = None, chunk: int = 500,
                progress: bool = True, description: str = "scoring") -> list[float]:
    """Probabilities of "positive" for texts, in order, with a progress bar."""
    workers = workers or os.cpu_count() or 1
    # Reviews of similar length in the same chunk pad less; scores are put back in input order.
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    chunks = [[texts[i] for i in order[start: start + chunk]] for start in range(0, len(order), chunk)]
    sorted_scores = _score_chunks(model_dir, chunks, len(texts), workers, progress, description)
    scores = [0.0] * len(texts)
    for index, score in zip(order, sorted_scores):
        scores[index] = score
    return scores


def _score_chunks(model_dir: Path, chunks: list[list[str]], total: int, workers: int, progress: bool,
                  description: str) -> list[float]:
    from tqdm import tqdm

    scores: list[float] = []
    with tqdm(total=total, desc=description, unit=" reviews", disable=not progress, mininterval=2) as bar:
        if workers <= 1:
            _init_worker(str(model_dir))
            results = map(_score, chunks)
            for part in results:
                scores += part
                bar.update(len(part))
            return scores
        context = multiprocessing.get_context("fork")
        with context.Pool(workers, _init_worker, (str(model_dir),)) as pool:
            for part in pool.imap(_score, chunks):
                scores += part
                bar.update(len(part))
    return scores
