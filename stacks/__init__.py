"""The CDK constructs and stacks that deploy the sentiment service (composed in app.py)."""
