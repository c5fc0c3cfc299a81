"""The code imports downward only, so that each area can be read, tested and shipped without the
ones above it: the model package (what SageMaker runs) at the bottom, then the `sentiment`
package (contract, packaging, data, evaluation, local stack, checks), then `stacks/`, then the
tools that synthesize and compare templates (`stacks.review`). Every import counts, also one
inside a function; only the command registry (sentiment.cli) names modules of every layer, as
strings, since it is the entry point above them all."""
import ast
from pathlib import Path

import pytest

from sentiment.paths import ROOT

# (layer name, package prefix, folder): a module belongs to the last layer whose prefix it has.
LAYERS = [
    ("model package", "sentiment_model", ROOT / "model_code" / "sentiment_model"),
    ("sentiment", "sentiment", ROOT / "scripts" / "sentiment"),
    ("stacks", "stacks", ROOT / "stacks"),
    ("template tools", "stacks.review", ROOT / "stacks" / "review"),
]
ENTRY_POINT = "sentiment.cli"


def layer_of(module: str) -> int | None:
    found = None
    for index, (_, prefix, _) in enumerate(LAYERS):
        if module == prefix or module.startswith(prefix + "."):
            found = index
    return found


def project_modules() -> dict[str, Path]:
    modules = {}
    for _, prefix, folder in LAYERS[:3]:
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join((prefix, *parts))] = path
    return modules


def imports_of(path: Path, module: str) -> list[tuple[int, str]]:
    """Every module path imports, with its line: absolute and relative, at any depth."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def test_the_layers_cover_the_project_and_the_template_tools_exist():
    modules = project_modules()
    assert "sentiment_model.serving" in modules and "sentiment.contract" in modules and "stacks.config" in modules
    assert {"stacks.review.snapshot", "stacks.review.diff"} <= set(modules)


@pytest.mark.parametrize("module", sorted(set(project_modules()) - {ENTRY_POINT}))
def test_no_module_imports_from_a_layer_above_its_own(module):
    path = project_modules()[module]
    own = layer_of(module)
    upward = [f"line {line}: {target} ({LAYERS[layer_of(target)][0]})" for line, target in imports_of(path, module)
              if layer_of(target) is not None and layer_of(target) > own]
    assert not upward, f"{module} ({LAYERS[own][0]}) imports upward: " + "; ".join(upward)


def test_the_check_sees_an_import_inside_a_function(tmp_path):
    """The scan must not miss the imports that used to hide the loop (inside functions)."""
    probe = tmp_path / "probe.py"
    probe.write_text("def later():\n    from stacks.config import DeploymentConfig\n    return DeploymentConfig\n")
    assert (2, "stacks.config") in imports_of(probe, "sentiment.probe")
    assert layer_of("stacks.config") > layer_of("sentiment.probe")
