"""`sentiment behaviour`: every capability has cases in both parts, the held-out split of
templates is fixed by its seed, and each kind of case fails exactly when its expectation is
broken, checked on fake models whose mistakes are known in advance."""
import json

import pytest

from sentiment.evaluation import behaviour
from sentiment.evaluation.behaviour import NAMES, TOLERANCE, build_cases, figures, held_out_templates, suite


@pytest.fixture(scope="module")
def capabilities():
    return suite()


@pytest.fixture(scope="module")
def cases(capabilities):
    return build_cases(capabilities)


def rates(capabilities, cases, scorer, part="tuning"):
    report = figures(capabilities, cases, {"fake": behaviour.score(cases, scorer)})
    return {name: entry[part]["fake"] for name, entry in report.items()}, report


def test_every_capability_has_dozens_of_cases_in_both_parts(capabilities, cases):
    assert len(capabilities) == 9
    for capability in capabilities:
        mine = [c for c in cases if c.capability == capability.name]
        assert 24 <= len(mine) <= 500, capability.name
        assert any(c.held_out for c in mine) and not all(c.held_out for c in mine), capability.name
        assert {c.template for c in mine} == {t.id for t in capability.templates}


def test_cases_are_the_same_texts_on_every_build(capabilities, cases):
    assert build_cases(suite()) == cases
    assert len({(c.template, c.original, c.text) for c in cases}) == len(cases)


def test_the_held_out_split_is_by_template_fixed_by_its_seed_and_about_the_fraction(capabilities):
    for capability in capabilities:
        ids = {t.id for t in capability.templates}
        held = held_out_templates(capability, seed=7, fraction=0.3)
        assert held == held_out_templates(capability, seed=7, fraction=0.3)
        assert held < ids and len(held) == max(1, round(0.3 * len(ids)))
    splits = {frozenset(held_out_templates(c, seed, 0.3)) for c in capabilities for seed in range(5)}
    assert len(splits) > len(capabilities)  # other seeds, other splits


def test_a_case_is_in_one_part_only_and_its_whole_template_with_it(capabilities, cases):
    parts = {}
    for case in cases:
        assert parts.setdefault(case.template, case.held_out) == case.held_out
    for capability in capabilities:
        held = held_out_templates(capability, behaviour.DEFAULT_SEED, behaviour.DEFAULT_HELD_OUT)
        assert {t for t, h in parts.items() if h and t.startswith(capability.name + "/")} == held


def test_a_model_that_always_says_positive_fails_exactly_the_negative_expectations(capabilities, cases):
    always_positive = lambda texts: [0.9] * len(texts)  # noqa: E731
    scores = behaviour.score(cases, always_positive)
    assert {c for c in cases if behaviour.fails(c, scores)} == {c for c in cases if c.expect == 0}
    tuning, report = rates(capabilities, cases, always_positive)
    for capability in capabilities:
        mine = [c for c in cases if c.capability == capability.name and not c.held_out]
        assert tuning[capability.name] == pytest.approx(sum(c.expect == 0 for c in mine) / len(mine))
    assert tuning["negated positive"] == 1.0 and tuning["negated negative"] == 0.0 and tuning["sarcasm"] == 1.0
    # Nothing changes its score, so no invariance or direction case can fail.
    assert tuning["names, places, typos"] == tuning["length"] == tuning["intensity"] == 0.0
    assert all(e["expected"] == "negative" for e in report["negated positive"]["examples"]["fake"])


def test_an_invariance_case_fails_when_the_model_flips_on_a_name(capabilities, cases):
    flips_on = NAMES[0]
    scorer = lambda texts: [0.2 if flips_on in t else 0.8 for t in texts]  # noqa: E731
    scores = behaviour.score(cases, scorer)
    invariance = [c for c in cases if c.capability == "names, places, typos"]
    failed = {c for c in invariance if behaviour.fails(c, scores)}
    assert failed and failed == {c for c in invariance if (flips_on in c.text) != (flips_on in c.original)}


def test_a_direction_case_fails_when_the_intensifier_moves_the_wrong_way_beyond_the_tolerance(capabilities):
    up = behaviour.Case("intensity", "intensity/t", "very good", original="good", direction=1)
    down = behaviour.Case("intensity", "intensity/t", "very bad", original="bad", direction=-1)
    assert behaviour.fails(up, {"good": 0.7, "very good": 0.7 - 2 * TOLERANCE})
    assert not behaviour.fails(up, {"good": 0.7, "very good": 0.7 - TOLERANCE / 2})
    assert behaviour.fails(down, {"bad": 0.3, "very bad": 0.3 + 2 * TOLERANCE})
    assert not behaviour.fails(down, {"bad": 0.3, "very bad": 0.1})


def test_one_typo_swaps_two_neighbouring_letters_the_same_way_every_time():
    text = "I thought this thriller was fantastic."
    typo = behaviour.one_typo(text)
    assert typo == behaviour.one_typo(text) and typo != text and sorted(typo) == sorted(text)
    differ = [i for i, (a, b) in enumerate(zip(text, typo)) if a != b]
    assert len(differ) == 2 and differ[1] == differ[0] + 1


def test_example_failures_come_from_the_tuning_part_only(capabilities, cases):
    _, report = rates(capabilities, cases, lambda texts: [0.1] * len(texts))
    held = {c.template for c in cases if c.held_out}
    shown = [e for entry in report.values() for e in entry["examples"]["fake"]]
    assert shown and not any(e["template"] in held for e in shown)


def test_quick_run_on_the_default_model_reports_every_capability(stack_model, tmp_path, capsys):
    out = tmp_path / "behaviour.json"
    assert behaviour.main(["--quick", "--model", str(stack_model), "--workers", "1", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    report = json.loads(out.read_text())
    assert list(report["capabilities"]) == [c.name for c in suite()]
    for name, entry in report["capabilities"].items():
        assert f"\n{name} " in printed
        for part in ("tuning", "held-out"):
            assert 0 < entry[part]["cases"] <= 2 * entry[part]["templates"]
            assert 0.0 <= entry[part]["model"] <= 1.0 and "baseline" not in entry[part]
    assert "baseline: not scored: no --data" in printed


@pytest.mark.parametrize("argv, message", [
    (["--held-out", "1.5"], "--held-out must be between 0 and 1"),
    (["--model", "no/such/model"], "no such model directory"),
    (["--data", "no/such/imdb"], "no/such/imdb"),
])
def test_bad_input_is_one_line_and_status_2(argv, message, capsys):
    assert behaviour.main(["--quick", *argv]) == 2
    error = capsys.readouterr().err.strip()
    assert message in error and "\n" not in error
