"""CBT detokenizer, on a fixture: no CBT file is available here (see shared/data/SOURCES.md).

CBT lines look like `1 With almost everything else ... .`; the caller strips the line
number, so these are sentences only. The first six are real (quoted from
cbtest_NE_valid_2000ex.txt in the CBT README); the rest are written in the same style
(CoreNLP PTB tokens over Gutenberg children's books), the last two on purpose with the
two ambiguities LAMBADA's identically tokenized text shows.
"""

import pytest

from gpt2eval.detokenizers import cbt as detok

SENTENCES = [
    "With almost everything else to make them happy , they wanted one thing : they had no"
    " children .",
    "`` Everyone who should be asked , '' answered the queen .",
    "`` People are so touchy on these occasions , '' said his majesty .",
    "`` You have not forgotten any of our aunts ? ''",
    "`` No ; the old cats ! ''",
    "replied the XXXXX ; for the king 's aunts were old-fashioned , and did not approve of her ,"
    " and she knew it .",
    "`` Come here , '' said the King .",
    "`` I do n't know , '' said Alice , `` and I ca n't think what it means . ''",
    "`` We wo n't go back , '' cried the children ; `` we 'll stay here with you ! ''",
    "So the little tailor went on , always following his nose .",
    "`` Well , Mr. Toad , I 'm sure I can not say , '' answered the Rat .",
    "Mowgli laughed and said : `` What is the use of that ? ''",
    "The wolf 's eyes shone in the dark -- he was very hungry indeed .",
    "`` It 's only the wind , '' she whispered ... but it was not .",
    "-LRB- This happened long before the time of which I am telling you . -RRB-",
    "`` Oh , what a lovely XXXXX ! '' said the queen .",
    "`` Hush ! ''",
    "said Mrs. Rabbit ; `` you 'll get into trouble if you go into Mr. McGregor 's garden . ''",
    "And then he said , ` Good-bye , little brother ! '",
    "`` Who are you ? '' said the Caterpillar .",
    "The boys ' faces fell when they saw how far the XXXXX was from the shore .",
    "He had a hundred and fifty pounds , and a great deal more than that in gold .",
    "`` Father , '' said Tom , `` I 've been thinking , and I 'd like to go to sea . ''",
    "`` You must n't do that ! '' cried Dorothy .",
    "But the Prince , who had never been told about the fairies , only laughed .",
    "`` Is n't it pretty ? ''",
    "The old woman came out of her cottage and looked at XXXXX for a long time .",
    "`` There , '' said the Tin Woodman , `` now I 've got a heart ! ''",
    "Then Jack climbed down the beanstalk as fast as he could go .",
    "`` Where is my hat ? '' he asked ; `` I 'm sure I left it on the table . ''",
    # Known not to round-trip: ` em comes back as 'em, and a final B . as B.
    "`` Let ` em come , '' said the captain .",
    "And the letter was signed with a single B .",
]
# Measured on SENTENCES: 30 / 32 round-trip (the two known ambiguities above).
MIN_ROUND_TRIPS = 30

# (tokenized, expected natural text); the first three are real CBT sentences.
GOLDEN = [
    (
        "With almost everything else to make them happy , they wanted one thing : they had no"
        " children .",
        "With almost everything else to make them happy, they wanted one thing: they had no"
        " children.",
    ),
    (
        "`` Everyone who should be asked , '' answered the queen .",
        "\"Everyone who should be asked,\" answered the queen.",
    ),
    (
        "replied the XXXXX ; for the king 's aunts were old-fashioned , and did not approve of"
        " her , and she knew it .",
        "replied the XXXXX; for the king's aunts were old-fashioned, and did not approve of"
        " her, and she knew it.",
    ),
    (
        "`` I do n't know , '' said Alice , `` and I ca n't think what it means . ''",
        "\"I don't know,\" said Alice, \"and I can't think what it means.\"",
    ),
    (
        "`` Well , Mr. Toad , I 'm sure I can not say , '' answered the Rat .",
        "\"Well, Mr. Toad, I'm sure I cannot say,\" answered the Rat.",
    ),
    (
        "-LRB- This happened long before the time of which I am telling you . -RRB-",
        "(This happened long before the time of which I am telling you.)",
    ),
    (
        "`` Oh , what a lovely XXXXX ! '' said the queen .",
        "\"Oh, what a lovely XXXXX!\" said the queen.",
    ),
    (
        "And then he said , ` Good-bye , little brother ! '",
        "And then he said, 'Good-bye, little brother!'",
    ),
    (
        "The boys ' faces fell when they saw how far the XXXXX was from the shore .",
        "The boys' faces fell when they saw how far the XXXXX was from the shore.",
    ),
]


@pytest.mark.parametrize("tokenized, natural", GOLDEN)
def test_golden_sentences(tokenized, natural):
    assert detok.detokenize(tokenized) == natural
    assert detok.tokenize(natural) == tokenized


def test_round_trip_rate():
    n_ok = sum(detok.tokenize(detok.detokenize(s)) == s for s in SENTENCES)
    print(f"CBT fixture round trip: {n_ok}/{len(SENTENCES)} = {n_ok / len(SENTENCES):.4%}")
    assert n_ok >= MIN_ROUND_TRIPS, f"only {n_ok}/{len(SENTENCES)} sentences round-trip"


def test_detokenize_changes_typical_sentences():
    n_changed = sum(detok.detokenize(s) != s for s in SENTENCES)
    assert n_changed == len(SENTENCES), f"only {n_changed}/{len(SENTENCES)} changed"


@pytest.mark.parametrize("query", [s for s in SENTENCES if "XXXXX" in s])
def test_query_blank_survives(query):
    """A candidate is substituted for XXXXX, so the blank must come through intact."""
    natural = detok.detokenize(query)
    assert natural.count("XXXXX") == query.count("XXXXX") == 1
    assert detok.tokenize(natural) == query


def test_upper_case_bracket_words():
    assert detok.detokenize("-LRB- see below -RRB-") == "(see below)"
    assert detok.tokenize("(see below)") == "-LRB- see below -RRB-"
