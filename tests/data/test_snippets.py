"""Short texts cut from reviews: the short validation set and the training windows."""
from sentiment.data.reviews import Review
from sentiment.data.snippets import sentences, short_snippets, training_windows, words


def test_snippets_are_short_labelled_and_taken_from_the_review():
    text = "The plot follows a family.<br /><br />It drags in the middle. The ending is awful. Avoid it."
    snippets = short_snippets([Review(text, 0, "7_2"), Review("Too short.", 1, "8_9")])
    assert [s.id for s in snippets] == ["7_2:last2", "7_2:first"]
    assert snippets[0].text == "The ending is awful. Avoid it." and snippets[1].text == "The plot follows a family."
    assert all(s.label == 0 and words(s.text) <= 60 for s in snippets)


def test_sentences_break_at_end_marks_and_html_line_breaks():
    assert sentences("Good. Bad!<br/>Ugly? fine") == ["Good.", "Bad!", "Ugly?", "fine"]


def test_training_windows_add_one_middle_sentence_chosen_reproducibly():
    text = "One is here. Two is there. Three is near. Four is far. Five is done."
    first = training_windows([Review(text, 1, "3_8")], seed=5)
    again = training_windows([Review(text, 1, "3_8")], seed=5)
    assert first == again
    middle = [w for w in first if w.id == "3_8:middle"]
    assert len(middle) == 1 and middle[0].text in sentences(text)[1:-1] and middle[0].label == 1
    assert {w.id for w in first} == {"3_8:last2", "3_8:first", "3_8:middle"}
