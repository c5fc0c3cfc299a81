"""Found by the soak (scripts/sentiment/checks/soak.py): the model server's memory grew by 150 MB in two minutes of
IMDb reviews, because oneDNN kept a compiled LSTM kernel for each new (batch, length) shape.
The inference handlers keep that cache small; reviews of every length must leave memory flat."""
import os
import subprocess
import sys

from sentiment.paths import ROOT

PROBE = """
import random, sys
import torch
torch.set_num_threads(1)
from sentiment_model import serving

def resident_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

model = serving.model_fn({model_dir!r})
serving.predict_fn(serving.input_fn("warm up", "text/plain"), model)
before = resident_mb()
rng = random.Random(0)
for _ in range(300):  # 300 batches, nearly every one a shape not seen before
    texts = [" ".join(rng.choice(["wonderful", "awful", "film", "plot"]) for _ in range(rng.randint(1, 80)))
             for _ in range(rng.randint(1, 64))]
    serving.predict_fn(serving.Reviews(texts, "list"), model)
print(resident_mb() - before)
"""


def test_reviews_of_every_length_leave_the_model_servers_memory_flat(tiny_model_dir):
    environment = {k: v for k, v in os.environ.items() if k != "ONEDNN_PRIMITIVE_CACHE_CAPACITY"}
    run = subprocess.run([sys.executable, "-c", PROBE.format(model_code=str(ROOT / "model_code"),
                                                             model_dir=str(tiny_model_dir))],
                         env=environment, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    growth_mb = float(run.stdout.strip().splitlines()[-1])
    assert growth_mb < 15, f"resident memory grew by {growth_mb:.1f} MB"  # 8 MB here; 25 MB with the default cache
