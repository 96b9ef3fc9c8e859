"""detokenizers.align: detokenized text -> spans of the original, on gold cases and real lines."""
import re

import numpy as np
import pytest

from gpt2eval.detokenizers import lambada, megatron, one_billion_word, ptb, wikitext
from gpt2eval.detokenizers.align import boundaries, spans


def pieces(text: str, original: str, cuts: list[int]) -> list[tuple[str, str]]:
    b = boundaries(text, original)
    return [(text[a:c], original[b[a] : b[c]]) for a, c in zip(cuts, cuts[1:])]


def test_gold_wikitext_line():
    original = " He had a guest @-@ starring role . "
    text = wikitext.detokenize(original)
    assert text == "He had a guest-starring role."
    cuts = [0, 2, 6, 8, 14, 15, 19, 23, 28, 29]  # GPT-2's tokens of the text
    assert pieces(text, original, cuts) == [
        ("He", " He"), (" had", " had"), (" a", " a"), (" guest", " guest"), ("-", " @-@"), ("star", " star"),
        ("ring", "ring"), (" role", " role"), (".", " . "),
    ]


def test_replacements_inserted_and_deleted_characters():
    # Megatron's N -> 1, a newline the LAMBADA format adds, curly quotes made straight.
    assert pieces("about1 shares", " about N shares ", [0, 5, 6, 13]) == [("about", " about"), ("1", " N"), (" shares", " shares ")]
    text, original = '\nHe said "no" signs', "He said “no” signs"
    assert pieces(text, original, [0, 1, 3, 8, 10, 12, 13, 19]) == [
        ("\n", ""), ("He", "He"), (" said", " said"), (' "', " “"), ("no", "no"), ('"', "”"), (" signs", " signs"),
    ]


def test_identity_empty_and_unrelated_text():
    assert boundaries("abc", "abc").tolist() == [0, 1, 2, 3]
    b = boundaries("", " \n")
    assert b.tolist() == [2]  # nothing to map: the one boundary is the end
    b = boundaries("xyz", "completely different text")  # no anchor: one block, still a tiling
    assert b[0] == 0 and b[-1] == len("completely different text") and np.all(np.diff(b) >= 0)


def test_spans_of_token_ranges():
    start, end = spans("He had", " He had ", [0, 2], [2, 6])
    assert start.tolist() == [0, 3] and end.tolist() == [3, 8]


def check_lines(lines, detokenize, min_rate):
    """Every line: a monotone tiling. Every detokenized word: its original span gives the
    word back through the detokenizer (spaces aside: a quote alone cannot tell whether it
    opens or closes), on at least ``min_rate`` of the words."""
    n = ok = 0
    for line in lines:
        text = detokenize(line)
        if not text:
            continue
        b = boundaries(text, line)
        assert b[0] == 0 and b[-1] == len(line) and np.all(np.diff(b) >= 0), line
        for m in re.finditer(r"\S+", text):
            n += 1
            ok += detokenize(line[b[m.start()] : b[m.end()]]).replace(" ", "") == m.group()
    assert n and ok / n >= min_rate, f"{ok:,}/{n:,} words map back to themselves"
    return ok, n


def read_lines(path, n=None):
    return path.read_text(encoding="utf-8").split("\n")[:n]


def test_real_wikitext_lines(data_dir):
    check_lines(read_lines(data_dir / "wikitext-103" / "wiki.test.tokens", 1500), wikitext.detokenize, 0.999)


def test_real_ptb_and_1bw_lines(data_dir):
    check_lines(read_lines(data_dir / "ptb" / "ptb.test.txt"), ptb.detokenize, 0.999)
    check_lines(read_lines(data_dir / "1bw" / "news.en.heldout-00000-of-00050", 2000), one_billion_word.detokenize, 0.999)


def test_real_lambada_lines(data_dir):
    check_lines(read_lines(data_dir / "lambada" / "lambada_test_plain_text.txt", 1000), lambada.detokenize, 0.99)


def test_megatron_whole_article_keeps_lines_apart(data_dir):
    """Megatron's rules run over whole text (quotes pair across lines): align a whole article."""
    article = "".join(line + "\n" for line in read_lines(data_dir / "wikitext-2" / "wiki.test.tokens", 200))
    text = megatron.wikitext(article)
    b = boundaries(text, article)
    assert np.all(np.diff(b) >= 0) and b[-1] == len(article)
    # Each detokenized line maps onto exactly its original line (newlines are anchors).
    text_ends = [m.end() for m in re.finditer("\n", text)]
    article_ends = [m.end() for m in re.finditer("\n", article)]
    assert [int(b[e]) for e in text_ends] == article_ends


@pytest.mark.parametrize("text,original", [("a-b", "a @-@ b"), ("£N", "# N"), ("x/y", "x\\/y"), ("ab", "xab"), ("abc", "ab")])
def test_small_edits_tile(text, original):
    b = boundaries(text, original)
    assert b[0] == 0 and b[-1] == len(original) and np.all(np.diff(b) >= 0)
