"""PTB detokenizer: golden lines, the inverse, and the round-trip rate on the real file."""

import pytest

from gpt2eval.detokenizers import ptb
from gpt2eval.detokenizers import round_trip_failures


# Real lines from ptb/ptb.test.txt, with the text GPT-2 should see.
GOLDEN = [
    (" no it was n't black monday ", "no it wasn't black monday"),
    (" the equity market was <unk> ", "the equity market was <unk>"),
    (" but that wo n't be easy ", "but that won't be easy"),
    (" when the dollar is in a <unk> even central banks ca n't stop it ",
     "when the dollar is in a <unk> even central banks can't stop it"),
    (" you 've either got a chair or you do n't ", "you've either got a chair or you don't"),
    (" i 'm going to hold on ", "i'm going to hold on"),
    (" the minimum unit is $ N ", "the minimum unit is $N"),
    (" <unk> wants to change its viewers ' habits ", "<unk> wants to change its viewers' habits"),
    (" annual revenue of british aerospace 's missile business is about # N million a thomson"
     " spokesman said ",
     "annual revenue of british aerospace's missile business is about £N million a thomson"
     " spokesman said"),
    (" hence nbc might be able to take say a N N stake in a company such as mgm\\/ua ",
     "hence nbc might be able to take say a N N stake in a company such as mgm/ua"),
]


@pytest.mark.parametrize("line, natural", GOLDEN)
def test_golden_lines(line, natural):
    assert ptb.detokenize(line) == natural
    assert ptb.tokenize(natural) == line


@pytest.mark.parametrize(
    "line, expected_piece",
    [
        (" did n't ", "didn't"),
        (" fund managers say they 're ready ", "they're"),
        (" revenue of c$ N million ", "c$N"),
        (" shareholders ' rights ", "shareholders'"),
    ],
)
def test_detokenize_changes_typical_pieces(line, expected_piece):
    assert expected_piece in ptb.detokenize(line)


def test_lost_information_is_left_alone():
    # Case, numbers (N) and <unk> cannot be recovered: they pass through unchanged.
    line = " mr. <unk> owns N N of u.s. steel "
    assert ptb.detokenize(line) == line.strip(" ")


def test_round_trip_rate_on_test_file(data_dir):
    path = data_dir / "ptb" / "ptb.test.txt"
    pieces = path.read_text(encoding="utf-8").split("\n")
    assert pieces[-1] == "", f"{path} should end with a newline"
    lines = pieces[:-1]  # the empty piece after the final newline is not a line
    assert len(lines) == 3761
    failures = round_trip_failures(ptb, lines)
    n_ok = len(lines) - len(failures)
    print(f"ptb: round trip {n_ok}/{len(lines)} = {n_ok / len(lines):.4%}")
    assert n_ok == len(lines), f"round trip {n_ok}/{len(lines)}; first failure: {failures[:1]}"
