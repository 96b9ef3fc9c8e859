"""Children's Book Test: undo the PTB tokenization of one CBT sentence.

CBT (Hill et al. 2016) was built with Stanford CoreNLP, whose PTB tokenizer also produced
the original LAMBADA release, and the two files share every convention: `` and '' for
double quotes, ` for an opening single quote, `n't` `'s` `'ll` ... split off, `can not`,
`--`, `...`, spaces around punctuation. The differences: CBT keeps case, so its bracket
words are upper-case (-LRB- -RRB- -LSB- -RSB- -LCB- -RCB-), and a line is one sentence
of a book (after the leading line number, which the caller strips), e.g.

    `` Come here , '' said the King .   ->   "Come here," said the King.

So this module is `lambada`'s detokenizer with the bracket words' case mapped, and
everything `lambada` documents as not undone holds here too (spaced `--`, `'` tokens that
may open a quote, 'em vs ` em). Query sentences hold the blank `XXXXX`, a plain word
that passes through both functions unchanged, so a candidate can be filled in before or
after detokenizing.

A sentence may hold only the `` or only the '' of a quotation that spans several
sentences; PTB quotes carry their direction, so no pairing is needed, unlike Moses-style
`"` (see one_billion_word.py).

Caveat: no CBT file is available here, so the round trip is measured on a fixture written
in CBT's style (tests/test_detok_cbt.py), not on the real validation set.
"""

import re

from gpt2eval.detokenizers import lambada

_UPPER_BRACKET = re.compile(r"(?<!\S)-(LRB|RRB|LSB|RSB|LCB|RCB)-(?!\S)")
_LOWER_BRACKET = re.compile(r"(?<!\S)-(lrb|rrb|lsb|rsb|lcb|rcb)-(?!\S)")


def detokenize(line: str) -> str:
    """PTB-tokenized CBT sentence -> natural text."""
    return lambada.detokenize(_UPPER_BRACKET.sub(lambda m: m.group(0).lower(), line))


def tokenize(line: str) -> str:
    """Natural text -> CBT's PTB tokenization (inverse of `detokenize`)."""
    return _LOWER_BRACKET.sub(lambda m: m.group(0).upper(), lambada.tokenize(line))
