"""The one multi-process scorer."""
import subprocess
import sys

SCRIPT = """
import torch
from sentiment_model.artifact import load_predictor
from sentiment.evaluation.scoring import score_all

torch.set_num_threads(2)
# A multi-threaded op in the parent before the fork, as loading a model with large tensors is.
torch.ones(8_000_000).mul(2).sum()
predictor = load_predictor(sys.argv[1])
scores = score_all(predictor, ["a fine film"] * 300 + ["an awful film"] * 300, workers=2, chunk=50, progress=False)
print(len(scores))
"""


def test_forked_workers_score_after_the_parent_ran_parallel_torch_ops(tiny_model_dir):
    """OpenMP's thread pool does not survive fork: without one thread per process the children
    hung forever on their first parallel op (seen with `sentiment baseline` on the 1.5 million
    n-gram model)."""
    result = subprocess.run([sys.executable, "-c", "import sys\n" + SCRIPT, str(tiny_model_dir)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "600"
