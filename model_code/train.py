#!/usr/bin/env python3
"""SageMaker's training entry point: the training job runs this file from its source folder
(model_code/, where sentiment_model/ sits beside it). Everything it does is
sentiment_model.training; `python model_code/train.py --help` lists the flags."""
import sys

from sentiment_model.training import main

if __name__ == "__main__":
    sys.exit(main())
