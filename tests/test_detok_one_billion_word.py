"""1BW detokenizer: golden lines from the heldout file, and the round trip on all of it."""

import pytest

from gpt2eval.detokenizers import one_billion_word as detok
from gpt2eval.detokenizers import round_trip_failures

FILE = "1bw/news.en.heldout-00000-of-00050"
N_LINES = 6075
# Measured: 6075 / 6075 lines round-trip. The floor leaves room for five regressions.
MIN_ROUND_TRIPS = 6070

# (line as in the heldout file, expected detokenized text): real lines, each picked for
# one rule of the detokenizer.
GOLDEN = [
    # plain sentence: only the final period moves
    (
        "Having a little flexibility on that issue would go a long way to putting together"
        " a final package .",
        "Having a little flexibility on that issue would go a long way to putting together"
        " a final package.",
    ),
    # odd number of `"`: the first one closes a quotation begun in an earlier sentence
    (
        'That \'s impossible , " said Van Conway , a turnaround expert at Conway MacKenzie .',
        'That\'s impossible," said Van Conway, a turnaround expert at Conway MacKenzie.',
    ),
    # digit : digit is a time
    (
        "The two small Cessnas crashed at 3 : 35 p.m.",
        "The two small Cessnas crashed at 3:35 p.m.",
    ),
    # currency and brackets attach inward
    (
        "The organisation , which has been downbeat about the short-term future of the airline"
        " industry for some time , said the industry could record losses of $ 6.1bn ( £ 3bn )"
        " this year .",
        "The organisation, which has been downbeat about the short-term future of the airline"
        " industry for some time, said the industry could record losses of $6.1bn (£3bn)"
        " this year.",
    ),
    # `O 'Reilly` and `'s` re-attach; paired quotes hug their contents
    (
        "Karl Frisch , a spokesman for Media Matters , called O 'Reilly 's remarks \" insensitive"
        " and racially charged \" and rejected O 'Reilly 's contention that his comments were"
        " taken out of context .",
        "Karl Frisch, a spokesman for Media Matters, called O'Reilly's remarks \"insensitive"
        " and racially charged\" and rejected O'Reilly's contention that his comments were"
        " taken out of context.",
    ),
    # line-initial single quote; Moses cannot split it back without help
    (
        "' Coming Home ' was released in October last year .",
        "'Coming Home' was released in October last year.",
    ),
    # line-final month abbreviation: the old tokenizer split its period
    (
        "Barr Pharmaceuticals said Friday that it planned to introduce its generic version of"
        " the basic 70-milligram form of Fosamax on Feb .",
        "Barr Pharmaceuticals said Friday that it planned to introduce its generic version of"
        " the basic 70-milligram form of Fosamax on Feb.",
    ),
    # a spaced ellipsis keeps its spaces
    ("How it sings of separation . . .", "How it sings of separation. . ."),
    # `don 't` style clitics and a closing single quote at the very end
    (
        "I didn 't say , ' I won 't fill out a form . '",
        "I didn't say, 'I won't fill out a form.'",
    ),
    # slashes lose their spaces; `--` dashes keep them
    (
        "No stranger to controversy , in September 2001 , he was one of four players fined two"
        " weeks ' wages by Chelsea after their behaviour at a Heathrow hotel was criticised on"
        " the day after the 9 / 11 terrorist attacks .",
        "No stranger to controversy, in September 2001, he was one of four players fined two"
        " weeks' wages by Chelsea after their behaviour at a Heathrow hotel was criticised on"
        " the day after the 9/11 terrorist attacks.",
    ),
]


@pytest.mark.parametrize("tokenized, natural", GOLDEN)
def test_golden_lines(tokenized, natural):
    assert detok.detokenize(tokenized) == natural
    assert detok.tokenize(natural) == tokenized


@pytest.mark.parametrize(
    "tokenized, natural",
    [
        ("visit http : / / www.cdc.gov / swineflu", "visit http://www.cdc.gov/swineflu"),
        ("email editor @ mediaguardian.co.uk or phone", "email editor@mediaguardian.co.uk or phone"),
    ],
)
def test_urls_and_emails_are_joined(tokenized, natural):
    assert detok.detokenize(tokenized) == natural
    assert detok.tokenize(natural) == tokenized


@pytest.fixture(scope="module")
def lines(data_dir):
    # split("\n"), not splitlines(): a few lines hold characters splitlines() breaks on.
    lines = (data_dir / FILE).read_text(encoding="utf-8").split("\n")
    assert lines[-1] == "", "the heldout file should end with a newline"
    assert len(lines) - 1 == N_LINES, f"expected {N_LINES} sentences, got {len(lines) - 1}"
    return lines[:-1]


def test_round_trip_rate(lines):
    n_ok = len(lines) - len(round_trip_failures(detok, lines))
    print(f"1BW round trip: {n_ok}/{len(lines)} = {n_ok / len(lines):.4%}")
    assert n_ok >= MIN_ROUND_TRIPS, f"only {n_ok}/{len(lines)} lines round-trip"


def test_detokenize_changes_typical_lines(lines):
    n_changed = sum(detok.detokenize(line) != line for line in lines)
    assert n_changed / len(lines) > 0.99, f"only {n_changed}/{len(lines)} lines changed"
