"""WikiText detokenizer: golden lines, the inverse, and the round-trip rate on real files."""
from pathlib import Path

import pytest

from gpt2eval.detokenizers import wikitext
from gpt2eval.detokenizers import round_trip_failures


# Whole real lines from wikitext-2/wiki.test.tokens (or wikitext-103 where marked), with
# the text GPT-2 should see.
GOLDEN = [
    (" ", ""),
    (" = = Career = = ", "== Career =="),
    (" = = = 2000 – 2005 = = = ", "=== 2000–2005 ==="),
    (" = <unk> <unk> But They Don 't Go Down = ", "= <unk> <unk> But They Don't Go Down ="),
    (" = No. 20 Squadron RAAF = ", "= No. 20 Squadron RAAF ="),
    (' " Kiss You " – 3 : 04 ', '"Kiss You" – 3:04'),
    (" N / A = ", "N/A ="),
    (
        " The 3rd District ( 2015 population : 197 @,@ 242 ) covers <unk> , <unk> ,"
        " San Nicolas and Santa Cruz . ",
        "The 3rd District (2015 population: 197,242) covers <unk>, <unk>,"
        " San Nicolas and Santa Cruz.",
    ),
    (
        " Among the local government units , Manila has the highest budget allocation to"
        " health . It was also one of the cities with the highest tax and internal revenue ."
        " Tax revenue accounts for 46 % of the city 's income in 2012 . ",
        "Among the local government units, Manila has the highest budget allocation to"
        " health. It was also one of the cities with the highest tax and internal revenue."
        " Tax revenue accounts for 46% of the city's income in 2012.",
    ),
    (  # wikitext-103
        " On December 15 , 2011 , Lesnar was charged with hunting infractions on a trip to"
        " Alberta on November 19 , 2010 . Two charges were dropped , but Lesnar pleaded"
        " guilty to the charge of improper tagging of an animal . He was fined $ 1 @,@ 725"
        " and given a six @-@ month hunting suspension . ",
        "On December 15, 2011, Lesnar was charged with hunting infractions on a trip to"
        " Alberta on November 19, 2010. Two charges were dropped, but Lesnar pleaded"
        " guilty to the charge of improper tagging of an animal. He was fined $1,725"
        " and given a six-month hunting suspension.",
    ),
    (  # wikitext-103
        " Stevens ' father , Mark , is an orthopedic surgeon in Indianapolis and former"
        " Indiana Hoosiers football player . His mother , Jan , is a university professor ."
        " She has previously taught at Butler . ",
        "Stevens' father, Mark, is an orthopedic surgeon in Indianapolis and former"
        " Indiana Hoosiers football player. His mother, Jan, is a university professor."
        " She has previously taught at Butler.",
    ),
]


@pytest.mark.parametrize("line, natural", GOLDEN)
def test_golden_lines(line, natural):
    assert wikitext.detokenize(line) == natural
    assert wikitext.tokenize(natural) == line


@pytest.mark.parametrize(
    "line, expected_piece",
    [
        (" They Don 't Go Down ", "Don't"),  # WikiText splits "don't" as "don 't"
        (" 1 @,@ 000 ", "1,000"),
        (" 2 @.@ 5 ", "2.5"),
        (" guest @-@ starring ", "guest-starring"),
        (" ( born 1977 ) ", "(born 1977)"),
        (' " In Safe Hands " . ', '"In Safe Hands".'),
    ],
)
def test_detokenize_changes_typical_pieces(line, expected_piece):
    assert expected_piece in wikitext.detokenize(line)


def test_period_after_possible_abbreviation_keeps_its_space():
    # "Jr." is a token in WikiText too; joining would make the two indistinguishable.
    line = " named Luke ( born Brock Jr . ) "
    assert wikitext.detokenize(line) == "named Luke (born Brock Jr .)"
    assert wikitext.detokenize(" Brock Jr. said . ") == "Brock Jr. said."


def _lines(path: Path) -> list[str]:
    pieces = path.read_text(encoding="utf-8").split("\n")
    assert pieces[-1] == "", f"{path} should end with a newline"
    return pieces[:-1]  # the empty piece after the final newline is not a line


@pytest.mark.parametrize(
    "dataset, n_lines, floor",
    [("wikitext-2", 4358, 4358), ("wikitext-103", 4358, 4357)],
)
def test_round_trip_rate_on_test_file(data_dir, dataset, n_lines, floor):
    path = data_dir / dataset / "wiki.test.tokens"
    lines = _lines(path)
    assert len(lines) == n_lines
    failures = round_trip_failures(wikitext, lines)
    n_ok = len(lines) - len(failures)
    print(f"{dataset}: round trip {n_ok}/{len(lines)} = {n_ok / len(lines):.4%}")
    assert n_ok >= floor, f"round trip {n_ok}/{len(lines)} below floor {floor}; first: {failures[:1]}"
