"""The sentiment model: text pipelines, the network and its n-gram parts, training, explanations
and the endpoint's handlers. SageMaker receives it as it is, beside the two entry scripts
model_code/train.py and model_code/inference.py; everything else imports it by this name."""
