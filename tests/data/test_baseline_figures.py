"""The baseline file beside a prepared dataset: its figures count only for the dataset they were
computed for, and a missing or unreadable file leaves the registry without them, never a failed
synthesis."""
import json

from sentiment.data.baseline_figures import FIGURE_NAMES, baseline_file, read_baseline_figures, write_baseline_figures

FIGURES = {"validation_accuracy": 0.9192, "short_validation_accuracy": 0.7382, "calibration_error": 0.0423}


def test_the_file_lies_beside_the_folder_so_the_datasets_hash_does_not_include_it(tmp_path):
    assert baseline_file(tmp_path / "processed") == tmp_path / "processed-baseline.json"
    assert baseline_file(str(tmp_path / "processed") + "/") == tmp_path / "processed-baseline.json"


def test_figures_written_for_a_dataset_are_read_back_for_that_dataset(tmp_path):
    write_baseline_figures(tmp_path / "data", dataset_hash="a" * 64, figures=FIGURES, details={"seconds": 41.0})

    assert read_baseline_figures(tmp_path / "data", "a" * 64) == (FIGURES, None)


def test_no_file_means_no_figures_and_nothing_to_say(tmp_path):
    assert read_baseline_figures(tmp_path / "data", "a" * 64) == ({}, None)


def test_figures_of_another_dataset_are_not_used_and_the_reason_names_the_fix(tmp_path):
    write_baseline_figures(tmp_path / "data", dataset_hash="b" * 64, figures=FIGURES)

    figures, why = read_baseline_figures(tmp_path / "data", "a" * 64)

    assert figures == {}
    assert why == (f"{tmp_path / 'data-baseline.json'} was written for another dataset (hash {'b' * 16}, not "
                   f"{'a' * 16}), so the registry records no baseline figures; rerun `sentiment baseline --dataset "
                   f"{tmp_path / 'data'}` (make prepare)")


def test_an_unreadable_file_is_a_reason_not_an_exception(tmp_path):
    baseline_file(tmp_path / "data").write_text("{not json")

    figures, why = read_baseline_figures(tmp_path / "data", "a" * 64)

    assert figures == {} and why.startswith(f"{tmp_path / 'data-baseline.json'} is not a baseline file (JSONDecodeError")


def test_a_figure_the_dataset_cannot_give_is_left_out(tmp_path):
    """A dataset whose validation reviews have no 3-sentence review has no short snippets."""
    path = write_baseline_figures(tmp_path / "data", dataset_hash="a" * 64,
                                  figures={**FIGURES, "short_validation_accuracy": None})

    assert set(json.loads(path.read_text())["figures"]) == set(FIGURE_NAMES) - {"short_validation_accuracy"}
