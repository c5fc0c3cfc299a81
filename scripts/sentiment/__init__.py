"""The tooling behind the `sentiment` command: data preparation, evaluation, the local stack,
checks and benchmarks, and infrastructure helpers. See `sentiment --help`."""
