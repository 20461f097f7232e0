"""The web page's words in place: the text cut into pieces, the explained words marked with their weight."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi")

from trainlab.serve.ui import highlighted


def test_words_are_marked_in_place_whatever_their_case() -> None:
    pieces = highlighted("Superb, but TEDIOUS!", [{"word": "superb", "weight": 2.0}, {"word": "tedious", "weight": -1.0},
                                                  {"word": "(other)", "weight": 0.3}])
    assert "".join(p["text"] for p in pieces) == "Superb, but TEDIOUS!"
    marked = [(p["text"], p["weight"], p["strength"]) for p in pieces if "weight" in p]
    assert marked == [("Superb", 2.0, 1.0), ("TEDIOUS", -1.0, 0.57)]


def test_a_text_without_explained_words_is_one_plain_piece() -> None:
    assert highlighted("nothing here", []) == [{"text": "nothing here"}]
    assert highlighted("", [{"word": "a", "weight": 1.0}]) == []
