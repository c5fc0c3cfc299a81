"""Score many reviews with every core: forked worker processes share the loaded model, each
with one torch thread (score_all sets torch.set_num_threads(1) before it forks).

One process per core beats one process with several threads here: the LSTM's per-step matrix
products are small, and two processes that each spin two OpenMP threads on two cores were
measured about 9x slower than one thread each.
"""
from __future__ import annotations

import multiprocessing

_predictor = None
_texts: list[str] = []


def score_texts(predictor, texts: list[str]) -> list[float]:
    """Probabilities of "positive" for texts (the Predictor batches them by token count)."""
    return predictor.predict_ids([predictor.encoder.encode(text) for text in texts])


def _score_slice(indices: list[int]) -> tuple[list[int], list[float]]:
    return indices, score_texts(_predictor, [_texts[i] for i in indices])


CHUNK = 512


def processes_for(reviews: int, workers: int, chunk: int = CHUNK) -> int:
    return max(1, min(workers, -(-reviews // chunk)))


def score_all(predictor, texts: list[str], workers: int, batch_size: int = 64, chunk: int = CHUNK,
              progress: bool = True) -> list[float]:
    """Scores of texts in their order, from `workers` forked processes sharing the loaded model.

    Reviews are dealt out in chunks of similar character length, so each batch pads little."""
    global _predictor, _texts
    from tqdm import tqdm

    by_length = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    chunks = [by_length[start: start + chunk] for start in range(0, len(by_length), chunk)]
    scores = [0.0] * len(texts)
    _predictor, _texts = predictor, texts
    saved_batch_size, predictor.batch_size = predictor.batch_size, batch_size
    try:
        with tqdm(total=len(texts), desc="scoring", unit=" reviews", disable=not progress, mininterval=1) as bar:
            processes = processes_for(len(texts), workers, chunk)
            if processes == 1:
                results = map(_score_slice, chunks)
                pool = None
            else:
                import torch

                # A child forked after this process ran a multi-threaded torch op (loading a model
                # with large tensors does) hangs on its first parallel op: OpenMP's pool does not
                # survive fork. One thread per process is also what the workers are for.
                torch.set_num_threads(1)
                # Fork: the children share the model and the texts with this process, nothing is pickled
                # but the index lists and the scores.
                pool = multiprocessing.get_context("fork").Pool(processes)
                results = pool.imap_unordered(_score_slice, chunks)
            try:
                for indices, part in results:
                    for index, score in zip(indices, part):
                        scores[index] = score
                    bar.update(len(indices))
            except BaseException:
                if pool is not None:
                    pool.terminate()  # Ctrl-C or a failed worker: stop the others at once
                raise
            finally:
                if pool is not None:
                    pool.close()
                    pool.join()  # reaped workers count in RUSAGE_CHILDREN
    finally:
        _predictor, _texts = None, []
        predictor.batch_size = saved_batch_size
    return scores
