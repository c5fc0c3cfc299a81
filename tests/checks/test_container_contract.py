"""The endpoint's container contract (sentiment.checks.serving_contract): one list of cases, each
with its documented status and answer, run against the local model server here and, by
`sentiment container-test`, against the real SageMaker serving stack too."""
import json

import pytest

from sentiment.checks.serving_contract import CASES, Answer, Case, disagreements, documented_problems, send
from sentiment.contract import MODEL_MAX_BODY_BYTES


def test_the_case_list_covers_every_kind_of_request_the_issue_names():
    names = [case.name for case in CASES]
    assert len(names) >= 40 and len(set(names)) == len(names)

    def any_case(predicate):
        return any(predicate(case) for case in CASES)

    def not_utf8(case):
        try:
            case.body.decode("utf-8")
        except UnicodeDecodeError:
            return True
        return False

    for content_type in ("application/json", "text/csv"):
        assert any_case(lambda c: c.content_type == content_type and not_utf8(c) and 400 <= c.status < 500)
    assert any_case(lambda c: c.content_type and "charset=" in c.content_type)
    assert any_case(lambda c: c.body == b"")
    assert any_case(lambda c: len(c.body) > MODEL_MAX_BODY_BYTES and c.status == 413)
    assert any_case(lambda c: c.content_type == "application/jsonlines" and c.answer == "lines")
    assert any_case(lambda c: c.accept and "," in c.accept and c.status == 200)
    assert any_case(lambda c: c.accept == "*/*")
    assert any_case(lambda c: c.accept and "q=0" in c.accept.replace(" ", "") and c.status == 406)
    assert max(case.count for case in CASES if case.answer == "predictions") >= 1000


CASE = Case("JSON not UTF-8", b'{"review": "\xff"}', "application/json", status=400, answer="error",
            error_says="not valid UTF-8")


def test_what_the_real_container_answered_before_counts_as_a_failure():
    """The judge must be able to fail: the toolkit's 500 with a text traceback, and a 400 whose
    body is text, both depart from the documented {"error": ...} answer."""
    traceback_500 = Answer(500, "", b"'utf-8' codec can't decode byte 0xff\nTraceback (most recent call last):")
    problems = documented_problems(CASE, traceback_500)
    assert any("status 500" in p for p in problems) and any("traceback" in p for p in problems)
    assert any("Content-Type missing" in p for p in problems)
    documented = Answer(400, "application/json", json.dumps({"error": "application/json body is not valid UTF-8 "
                                                                      "(byte 12)"}).encode())
    assert documented_problems(CASE, documented) == []
    assert disagreements(CASE, documented, traceback_500)
    assert disagreements(CASE, documented, documented) == []


def test_answers_that_differ_in_shape_or_score_are_told_apart():
    case = Case("JSON reviews", b"", "application/json", answer="predictions", count=2)
    one = Answer(200, "application/json", b'{"predictions": [{"sentiment": "positive", "score": 0.9}, '
                                          b'{"sentiment": "negative", "score": 0.1}]}')
    moved = Answer(200, "application/json", b'{"predictions": [{"sentiment": "positive", "score": 0.9}, '
                                            b'{"sentiment": "negative", "score": 0.2}]}')
    short = Answer(200, "application/json", b'{"predictions": [{"sentiment": "positive", "score": 0.9}]}')
    assert documented_problems(case, one) == []
    assert documented_problems(case, short) == ["1 predictions, documented 2"]
    assert disagreements(case, one, moved) and disagreements(case, one, short)


@pytest.fixture(scope="module")
def local_model_server(stack_model, tmp_path_factory):
    """The local model server on the model.tar.gz `sentiment package` builds."""
    from sentiment.local.model_server import start_runtime_server
    from sentiment.packaging import build_model_archive

    archive = build_model_archive(stack_model, tmp_path_factory.mktemp("archive") / "model.tar.gz")
    server = start_runtime_server(archive, progress=lambda message: None)
    yield server
    server.stop()


def test_the_local_model_server_answers_every_case_as_documented(local_model_server):
    import requests

    with requests.Session() as session:
        problems = {case.name: documented_problems(case, send(session, local_model_server.url, case)) for case in CASES}
    assert {name: found for name, found in problems.items() if found} == {}


@pytest.mark.toolkit
@pytest.mark.slow
def test_the_real_serving_stack_and_the_local_one_agree_on_every_case(serving_stack, stack_model, capsys):
    """`make container-test`: TorchServe with the PyTorch 2.6 inference image's toolkit on the
    packaged model, against the local model server, case by case."""
    from sentiment.checks import container_test

    status = container_test.main(["--model", str(stack_model)])
    output = capsys.readouterr().out
    print(output)  # the table, for the CI log
    assert status == 0, output
    assert f"{len(CASES)} cases, {len(CASES)} as documented and equal on both servers, 0 failed" in output
