"""Tools for reviewers of the infrastructure, above the stacks they synthesize: the committed
template snapshots (`sentiment snapshot`), the reviewer's diff (`sentiment diff`) and cfn-lint
over the templates (`sentiment lint-templates`)."""
