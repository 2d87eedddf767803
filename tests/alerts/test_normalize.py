"""Normalisation: case, accents, width, script variants, spaces, and the way back to the original."""

from __future__ import annotations

import pytest

from alerts.match.normalize import is_cjk, normalize, normalize_term


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Trường Sa", "truong sa"),  # Vietnamese accents and horn
        ("Đá Ba Đầu", "da ba dau"),  # đ has no decomposition
        ("ＰＬＡ　Ｎａｖｙ", "pla navy"),  # full-width Latin and ideographic space
        ("釣魚臺", "钓鱼台"),  # traditional to simplified
        ("尖閣諸島", "尖阁诸岛"),  # Japanese kanji to simplified
        ("coast-guard", "coast guard"),
        ("China’s  navy", "china's navy"),
        ("Tre\u0302\u0300n", "tren"),  # decomposed input: combining marks dropped
    ],
)
def test_normalised_spellings_meet(text: str, folded: str) -> None:
    assert normalize(text).folded == folded


def test_folded_and_cased_have_the_same_length() -> None:
    n = normalize("İstanbul ＰＬＡ Trường")
    assert len(n.folded) == len(n.cased)
    assert n.cased.startswith("Istanbul PLA")


@pytest.mark.parametrize(
    "text",
    [
        "Japan  and\n\nChina — a “row” over the Senkakus…",
        "ﬁne ﬂags near Trường Sa and 釣魚臺 ½",
        "plain ascii - with   runs",
    ],
)
def test_every_normalised_character_maps_back_to_its_original(text: str) -> None:
    n = normalize(text)
    for i, ch in enumerate(n.cased):
        if ch.strip():
            assert ch in normalize(text[n.to_original(i)]).cased


def test_offsets_find_the_original_word_after_collapsed_spaces() -> None:
    text = "A  B\t\t  Senkaku Islands"
    n = normalize(text)
    start = n.folded.index("senkaku")
    end = start + len("senkaku islands")
    assert text[n.to_original(start) : n.to_original(end)] == "Senkaku Islands"


def test_words_after_a_character_that_expands_map_back_in_a_page_of_another_script() -> None:
    # A ligature (two letters from one) and a decomposed accent (a mark that vanishes) in Cyrillic and
    # Vietnamese text whose other letters change one for one: every word after them still maps back.
    text = "Біля ﬁ острова — кораблі «Trường Sa»  і  釣魚臺; Tre\u0302\u0300n ＰＬＡ Спратлі"
    n = normalize(text)
    for word in ("Trường Sa", "釣魚臺", "ＰＬＡ", "Спратлі", "кораблі"):
        folded = normalize(word).folded
        start = n.folded.index(folded)
        assert text[n.to_original(start) : n.to_original(start + len(folded))] == word
    assert "fi" in n.folded and "tren" in n.folded


def test_line_breaks_are_kept_as_sentence_boundaries() -> None:
    assert "\n" in normalize("one\r\ntwo").cased


def test_normalize_term_trims_and_keeps_case() -> None:
    assert normalize_term("  JMSDF ") == "JMSDF"


def test_cjk_detection() -> None:
    assert is_cjk("钓") and is_cjk("カ") and is_cjk("독")
    assert not is_cjk("a") and not is_cjk("ư")


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("China 中国 SEA", "china 中国 sea"),  # CJK has no case: only the ASCII letters change
        ("Ελλάδα ΣΕ China 中国", "ελλάδα σε china 中国"),  # Greek has: every letter is lowered
        ("ÉCOLE 中 ABC", "ecole 中 abc"),  # folded to ASCII first, then lowered
    ],
)
def test_lower_case_of_mixed_scripts(text: str, folded: str) -> None:
    assert normalize(text).folded == folded
