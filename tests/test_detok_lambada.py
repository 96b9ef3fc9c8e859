"""LAMBADA (plain-text release) detokenizer: golden passages and the round trip on all 5,153."""

import pytest

from gpt2eval.detokenizers import lambada as detok
from gpt2eval.detokenizers import round_trip_failures

FILE = "lambada/lambada_test_plain_text.txt"
N_LINES = 5153
# Measured: 5147 / 5153 passages round-trip (99.88%). The 6 that do not: ` em read back
# as 'em (2), a single letter before a final period (`b .` read back as `b.`, 3), and a
# doubled opening quote (`` ` ` ``, 1).
MIN_ROUND_TRIPS = 5145

# (passage as in lambada_test_plain_text.txt, expected detokenized text): real passages.
GOLDEN = [
    # line 2752: PTB brackets; a period after `...` keeps its space
    (
        'what had gone on between those two women in the car , and in the vineyards , '
        'and in the hotels ? who was this woman , the deneuve ? what was it about her '
        'that was so compelling , not only to men -lrb- that was easy to understand ... '
        ". the world 's greatest beauty -rrb- but also to women",
        'what had gone on between those two women in the car, and in the vineyards, and '
        'in the hotels? who was this woman, the deneuve? what was it about her that was '
        "so compelling, not only to men (that was easy to understand... . the world's "
        'greatest beauty) but also to women',
    ),
    # line 3205: `can not` -> `cannot`; `` and '' give the quote direction
    (
        "part of stefan wanted to melt at katherine 's desperate look , at her tears . "
        'but wounded pride and jealousy were too strong , and he knew his face was as '
        "hard , as unyielding , as damon 's . `` no , '' he said . `` we can not . it "
        'must be one or the other , katherine',
        "part of stefan wanted to melt at katherine's desperate look, at her tears. but "
        'wounded pride and jealousy were too strong, and he knew his face was as hard, '
        'as unyielding, as damon\'s. "no," he said. "we cannot. it must be one or the '
        'other, katherine',
    ),
    # line 548: `gon na` -> `gonna`; clitics re-attach
    (
        "the cat mewed . `` did you hear that , juniper ? '' elijah smiled . `` you 're "
        "gon na be good as new . annie 'll fix you right up . you got to get better . "
        "it 'd be too lonely at my house without you . '' `` your house does n't have "
        'to be so lonely',
        'the cat mewed. "did you hear that, juniper?" elijah smiled. "you\'re gonna be '
        "good as new. annie'll fix you right up. you got to get better. it'd be too "
        'lonely at my house without you." "your house doesn\'t have to be so lonely',
    ),
    # line 3605: ` and ' single quotes
    (
        "`` happy to comply , '' i said . `` so , you 're ben . ben what ? '' `` no , i "
        "'m matt ... matt casale . i live down the street . '' `` was n't he just "
        "calling you ` ben ' just now ? '' `` no , ` bean ' -- it 's a nickname",
        '"happy to comply," i said. "so, you\'re ben. ben what?" "no, i\'m matt... matt '
        'casale. i live down the street." "wasn\'t he just calling you \'ben\' just now?" '
        '"no, \'bean\' -- it\'s a nickname',
    ),
    # line 880: `...` attaches left, and `?` after it
    (
        "`` is that a yes yes , or a nicky yes ? '' `` it 's a no . '' `` ok . good . "
        "so the plan ... ? '' `` before all that , we need to go to the florist . '' i "
        'took a few hits of wine . `` we have to go to the florist',
        '"is that a yes yes, or a nicky yes?" "it\'s a no." "ok. good. so the plan...?" '
        '"before all that, we need to go to the florist." i took a few hits of wine. '
        '"we have to go to the florist',
    ),
    # line 557: a passage that starts inside a quotation; `$ 30` -> `$30`
    (
        "the bill was only $ 30 , '' she reminded him . `` that 's okay , it 's better "
        "to be generous . people are nicer to you that way , '' he said , as he "
        'shrugged his shoulders . emma was amazed again . who was this guy ? tall , '
        'dark , handsome , fast , strong , and generous',
        'the bill was only $30," she reminded him. "that\'s okay, it\'s better to be '
        'generous. people are nicer to you that way," he said, as he shrugged his '
        'shoulders. emma was amazed again. who was this guy? tall, dark, handsome, '
        'fast, strong, and generous',
    ),
    # line 2885: a spaced ellipsis after `i.` keeps its spaces
    (
        'the ghola saw her indrawn breath , the tightening of her cheeks , said : `` is '
        "it your time ? '' `` i. . . yes , it is . '' `` you must not delay , '' he "
        'said . he grasped her arm , hurried her down the hall . she sensed panic in '
        "him , said : `` there 's time",
        'the ghola saw her indrawn breath, the tightening of her cheeks, said: "is it '
        'your time?" "i. . . yes, it is." "you must not delay," he said. he grasped her '
        'arm, hurried her down the hall. she sensed panic in him, said: "there\'s time',
    ),
    # line 1054: `--` stays spaced; the last word `sal` gets its opening quote glued on
    (
        "listen , we 've found a rear gate in the fence -- '' `` sal ! '' `` -- we can "
        "pull it down with a rope i found in the car . it 's all quiet here so i do n't "
        "think -- '' `` sal ! '' `` -- anyone has seen us . i 'm sure it 'll be -- '' "
        '`` sal',
        'listen, we\'ve found a rear gate in the fence --" "sal!" "-- we can pull it '
        'down with a rope i found in the car. it\'s all quiet here so i don\'t think --" '
        '"sal!" "-- anyone has seen us. i\'m sure it\'ll be --" "sal',
    ),
]


@pytest.mark.parametrize("tokenized, natural", GOLDEN)
def test_golden_passages(tokenized, natural):
    assert detok.detokenize(tokenized) == natural
    assert detok.tokenize(natural) == tokenized


@pytest.fixture(scope="module")
def lines(data_dir):
    lines = (data_dir / FILE).read_text(encoding="utf-8").split("\n")
    assert lines[-1] == "", "the plain-text file should end with a newline"
    assert len(lines) - 1 == N_LINES, f"expected {N_LINES} passages, got {len(lines) - 1}"
    return lines[:-1]


def test_round_trip_rate(lines):
    n_ok = len(lines) - len(round_trip_failures(detok, lines))
    print(f"LAMBADA plain-text round trip: {n_ok}/{len(lines)} = {n_ok / len(lines):.4%}")
    assert n_ok >= MIN_ROUND_TRIPS, f"only {n_ok}/{len(lines)} passages round-trip"


def test_detokenize_changes_every_passage(lines):
    n_changed = sum(detok.detokenize(line) != line for line in lines)
    assert n_changed == len(lines), f"only {n_changed}/{len(lines)} passages changed"


def test_detokenized_passage_ends_with_the_target_word(lines):
    """The target (last word of the original line) survives at the end of the natural text,
    but in 37 passages an opening quote is glued on, so its last WHITESPACE word differs."""
    targets = [line.split()[-1] for line in lines]
    natural = [detok.detokenize(line) for line in lines]
    assert all(text.endswith(word) for text, word in zip(natural, targets))
    n_glued = sum(text.split()[-1] != word for text, word in zip(natural, targets))
    assert n_glued == 37, n_glued
