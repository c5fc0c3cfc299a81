"""Data preparation: every supported source gives the same dataset, the output is exactly what
train.py reads, and bad input stops with one line naming the file."""
import gzip
import io
import json
import tarfile

import numpy as np
import pytest
from support import synthetic_reviews, write_aclimdb, write_jsonl

from sentiment.data import prepare as prepare_data
from sentiment.data.reviews import SourceError, load_reviews
from sentiment_model.dataset import DatasetError, load_dataset


def run(source, out, *extra):
    return prepare_data.main(["--source", str(source), "--out", str(out), "--vocab-size", "100",
                              "--workers", "2", "--quiet", *extra])


def make_tarball(path, rows, split="train"):
    with tarfile.open(path, "w:gz") as archive:
        for row in rows:
            data = row["text"].encode("utf-8")
            info = tarfile.TarInfo(f"aclImdb/{split}/{'pos' if row['label'] else 'neg'}/{row['id']}.txt")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_output_folder_holds_arrays_vocabulary_settings_and_a_verified_manifest(tiny_dataset):
    splits, vocabulary, settings, manifest = load_dataset(tiny_dataset)
    # The synthetic reviews have two sentences: too few for windows and snippets (3+), and no
    # "was <word>." verdict for the rules, so those splits are there and empty.
    assert set(splits) == {"train", "validation", "train_windows", "validation_short", "train_rules",
                           "validation_rules"}
    assert len(splits["train_windows"]) == len(splits["validation_short"]) == len(splits["train_rules"]) == 0
    assert manifest["splits"]["train"]["reviews"] + manifest["splits"]["validation"]["reviews"] == 600
    assert manifest["splits"]["validation"]["reviews"] == 60
    assert splits["train"].ids.dtype == np.int32 and splits["train"].labels.dtype == np.uint8
    assert len(vocabulary) + 2 == manifest["vocabulary_size"] <= 200
    assert settings["mode"] == "default" and settings["max_tokens"] == 60
    assert set(manifest["files"]) >= {"train.ids.npy", "vocab.json", "preprocessing.json"}
    assert all(len(digest) == 64 for digest in manifest["files"].values())


def test_every_source_layout_gives_the_same_dataset(tmp_path):
    rows = synthetic_reviews(80, seed=3)
    jsonl_dir = tmp_path / "jsonl"
    write_jsonl(jsonl_dir / "train.jsonl.gz", rows)
    folder = write_aclimdb(tmp_path / "extracted", "train", rows)
    tarball = make_tarball(tmp_path / "aclImdb_v1.tar.gz", rows)
    outputs = []
    for index, source in enumerate((jsonl_dir, folder, tarball)):
        out = tmp_path / f"out{index}"
        assert run(source, out) == 0
        outputs.append(json.loads((out / "manifest.json").read_text())["files"])
    assert outputs[0] == outputs[1] == outputs[2]


def test_validation_split_is_seeded(tmp_path, tiny_imdb):
    assert run(tiny_imdb, tmp_path / "a", "--seed", "7") == 0
    assert run(tiny_imdb, tmp_path / "b", "--seed", "7") == 0
    assert run(tiny_imdb, tmp_path / "c", "--seed", "8") == 0
    labels = [np.load(tmp_path / n / "validation.offsets.npy") for n in "abc"]
    manifests = [json.loads((tmp_path / n / "manifest.json").read_text())["files"] for n in "abc"]
    assert manifests[0] == manifests[1]
    assert manifests[0]["validation.ids.npy"] != manifests[2]["validation.ids.npy"]
    assert len(labels[0]) == len(labels[2])


def test_identical_reviews_never_straddle_train_and_validation():
    reviews = load_reviews.__globals__["Review"]
    rows = [reviews("same text", 1, str(i)) for i in range(10)] + \
           [reviews(f"text {i}", i % 2, f"x{i}") for i in range(30)]
    train, validation = prepare_data.split_validation(rows, 0.2, seed=0)
    duplicates = set(range(10))
    assert duplicates <= set(train) or duplicates <= set(validation)
    assert not set(train) & set(validation)


def test_seed_mode_writes_the_stopwords_and_stemming_into_the_settings(tmp_path, tiny_imdb):
    stopwords = tmp_path / "stopwords.txt"
    stopwords.write_text("the\nand\nwas\n")
    assert run(tiny_imdb, tmp_path / "seed", "--mode", "seed", "--stopwords", str(stopwords)) == 0
    settings = json.loads((tmp_path / "seed" / "preprocessing.json").read_text())
    assert settings["stopwords"] == ["the", "and", "was"] and settings["stem"] is True
    assert settings["max_tokens"] == 500 and settings["truncation"] == "head"


@pytest.mark.parametrize("make_source, message", [
    (lambda p: p / "nowhere", "not found"),
    (lambda p: (p / "broken.tar.gz").write_bytes(b"\x1f\x8b\x08 not really gzip") and p / "broken.tar.gz",
     "corrupt or unreadable archive"),
    (lambda p: (p / "wrong").mkdir() or p / "wrong", "aclImdb layout"),
    (lambda p: write_jsonl(p / "empty" / "train.jsonl.gz", []).parent, "no labelled reviews"),
    (lambda p: (p / "bad.jsonl").write_bytes(b'{"text": "\xff\xfe", "label": 1}\n') and p / "bad.jsonl",
     "not valid UTF-8"),
    (lambda p: (p / "label.jsonl").write_text('{"text": "fine", "label": 5}\n') and p / "label.jsonl",
     'label must be 0, 1, negative or positive'),
    (lambda p: (p / "json.jsonl").write_text('{"text": "fine", \n') and p / "json.jsonl", "not valid JSON"),
])
def test_bad_input_stops_with_one_line_naming_the_file(tmp_path, capsys, make_source, message):
    source = make_source(tmp_path)
    assert run(source, tmp_path / "out") == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and "\n" not in error
    assert message in error and source.name in error
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_undecodable_review_in_an_aclimdb_folder_names_the_file(tmp_path, capsys):
    folder = write_aclimdb(tmp_path, "train", synthetic_reviews(10))
    (folder / "train" / "pos" / "99_9.txt").write_bytes(b"caf\xe9")
    assert run(folder, tmp_path / "out") == 2
    assert "99_9.txt: not valid UTF-8" in capsys.readouterr().err


def test_truncated_tarball_is_reported_as_corrupt(tmp_path, capsys):
    tarball = make_tarball(tmp_path / "full.tar.gz", synthetic_reviews(50))
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(tarball.read_bytes()[:-200])
    assert run(cut, tmp_path / "out") == 2
    assert "cut.tar.gz: corrupt or unreadable archive" in capsys.readouterr().err


def test_a_changed_file_is_caught_by_the_manifest(tmp_path, tiny_imdb):
    out = tmp_path / "out"
    assert run(tiny_imdb, out) == 0
    labels = np.load(out / "train.labels.npy")
    np.save(out / "train.labels.npy", 1 - labels)
    with pytest.raises(DatasetError, match="train.labels.npy: sha256 does not match"):
        load_dataset(out)


def test_gzip_jsonl_rows_keep_their_ids(tmp_path):
    path = write_jsonl(tmp_path / "x.jsonl.gz", [{"text": "ok", "label": 1, "id": "3_8"}])
    assert load_reviews(str(path))[0].id == "3_8"
    with gzip.open(path, "rt") as handle:
        assert json.loads(handle.readline())["id"] == "3_8"


def test_missing_source_error_type_is_source_error(tmp_path):
    with pytest.raises(SourceError):
        load_reviews(str(tmp_path / "missing.tar.gz"))


def test_only_http_urls_are_downloaded(tmp_path):
    from sentiment.data.reviews import download

    with pytest.raises(SourceError, match="only http"):
        download("file:///etc/passwd", cache_dir=tmp_path)


def long_reviews(count, seed):
    rows = synthetic_reviews(count, seed=seed)
    for row in rows:
        row["text"] = row["text"].replace(".<br /><br />", ". It went on. ") + ". The end."
    return rows


def test_unlabelled_reviews_and_short_texts_come_from_every_source_layout(tmp_path):
    """The original archive keeps the unlabelled reviews in train/unsup/, the JSON-lines copy in
    unsup.jsonl.gz: prepare reads both, encodes them with the training vocabulary into the
    unlabelled channel, and cuts windows and snippets from the labelled reviews."""
    rows = long_reviews(80, seed=4)
    unlabelled = [{"text": row["text"], "id": f"{i}_0"} for i, row in enumerate(synthetic_reviews(30, seed=5))]
    jsonl_dir = tmp_path / "jsonl"
    write_jsonl(jsonl_dir / "train.jsonl.gz", rows)
    write_jsonl(jsonl_dir / "unsup.jsonl.gz", unlabelled)
    folder = write_aclimdb(tmp_path / "extracted", "train", rows)
    (folder / "train" / "unsup").mkdir()
    for row in unlabelled:
        (folder / "train" / "unsup" / f"{row['id']}.txt").write_text(row["text"], encoding="utf-8")
    tarball = tmp_path / "aclImdb_v1.tar.gz"
    with tarfile.open(tarball, "w:gz") as archive:
        for row in rows + unlabelled:
            data = row["text"].encode("utf-8")
            kind = "unsup" if "label" not in row else ("pos" if row["label"] else "neg")
            info = tarfile.TarInfo(f"aclImdb/train/{kind}/{row['id']}.txt")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    outputs = []
    for index, source in enumerate((jsonl_dir, folder, tarball)):
        out = tmp_path / f"out{index}"
        assert run(source, out) == 0
        splits, _, _, manifest = load_dataset(out)
        # Up to three windows per review; a window outside 3-60 words is left out.
        assert 2 * len(splits["train"]) < len(splits["train_windows"]) <= 3 * len(splits["train"])
        assert len(splits["validation"]) < len(splits["validation_short"]) <= 2 * len(splits["validation"])
        assert set(splits["train_windows"].labels) == {0, 1}
        channel = tmp_path / f"out{index}-unlabelled"
        meta = json.loads((channel / "unlabelled.json").read_text())
        assert meta["reviews"] == 30 and meta["vocabulary_sha256"] == manifest["vocabulary_sha256"]
        outputs.append((manifest["files"], (channel / "unlabelled.ids.npy").read_bytes()))
    assert outputs[0] == outputs[1] == outputs[2]


def test_a_source_without_unlabelled_reviews_still_prepares(tmp_path, tiny_imdb, capsys):
    assert run(tiny_imdb, tmp_path / "out") == 0
    assert "no unlabelled reviews" in capsys.readouterr().out
    assert not (tmp_path / "out-unlabelled").exists()


def test_unlabelled_reviews_of_another_vocabulary_are_refused(tmp_path):
    from sentiment_model.dataset import load_unlabelled

    rows = long_reviews(40, seed=6)
    write_jsonl(tmp_path / "a" / "train.jsonl.gz", rows)
    write_jsonl(tmp_path / "a" / "unsup.jsonl.gz", [{"text": r["text"], "id": r["id"]} for r in rows])
    write_jsonl(tmp_path / "b" / "train.jsonl.gz", long_reviews(40, seed=7))
    assert run(tmp_path / "a", tmp_path / "out-a") == 0
    assert run(tmp_path / "b", tmp_path / "out-b", "--no-unlabelled") == 0
    _, _, _, manifest_b = load_dataset(tmp_path / "out-b")
    with pytest.raises(DatasetError, match="another vocabulary"):
        load_unlabelled(tmp_path / "out-a-unlabelled", manifest_b)
