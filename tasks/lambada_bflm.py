"""cybertronai/bflm's reading of LAMBADA: its context, its target and its answer matching.

As read in bflm's ``eval_lambada_slow.py`` at commit 620fff7 (the script run on OpenAI's
``lambada_test.jsonl`` since commit 5b8f6be, which also moved it from 3 to 6 steps), with
its default flags (no ``--preprocess``, no ``--jeff_suggestion``, no ``--detokenize``):

    line      passage.strip()
    target    basic_tokens(line)[-1]                 the LAST BERT-basic token, lower-cased
    context   line[:-len(target)].strip()            fed alone: no <|endoftext|>, no "\\n"
    predict   6 steps of the token filter (``gpt2eval.engine.greedy_token``), then
              basic_tokens(decode(6 tokens).strip())[0]
    correct   predicted == target                    (both already lower-case)

    "... yelled, “Holt"    target "holt", context "... yelled, “", scored "Holt" glued on
    "... Izzy's"           target "s",    context "... Izzy'"      (the apostrophe splits)

On the 5,153 OpenAI passages the target is the last whitespace word in all but 38 (a quote
or a word glued before it: the context keeps them). ``bert_match`` generalises the rule to
a target of several BERT-basic tokens (``--lambada-match bert`` under the other formats):
the target's tokens must begin the prediction's.

``basic_tokens`` is BERT's BasicTokenizer as bflm ran it (pytorch_pretrained_bert 0.6,
``do_lower_case=True``), written from its description:

1. drop NUL, U+FFFD and control characters (Unicode category C*, except tab, CR, LF);
   tab, CR, LF and category Zs become a space;
2. put spaces around CJK ideographs;
3. split on whitespace; each piece, unless it is one of ``NEVER_SPLIT``, is lower-cased,
   its accents stripped (NFD, category Mn dropped) and split into runs of non-punctuation
   and single punctuation characters (ASCII 33-47, 58-64, 91-96, 123-126, or category P*).
"""
from __future__ import annotations

import unicodedata

from gpt2eval.errors import UsageError

NEVER_SPLIT = frozenset({"[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]"})  # pytorch_pretrained_bert's default
_CJK = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F), (0x2B740, 0x2B81F),
        (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    return 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126 or unicodedata.category(ch).startswith("P")


def _clean(text: str) -> str:
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in " \t\n\r" or cat == "Zs":
            out.append(" ")
        elif ch != "\0" and ch != "\ufffd" and not cat.startswith("C"):
            out.append(f" {ch} " if any(lo <= ord(ch) <= hi for lo, hi in _CJK) else ch)
    return "".join(out)


def _split_punctuation(token: str) -> list[str]:
    pieces: list[str] = []
    glue = False  # whether the next non-punctuation character extends the last piece
    for ch in token:
        if _is_punctuation(ch):
            pieces.append(ch)
            glue = False
        elif glue:
            pieces[-1] += ch
        else:
            pieces.append(ch)
            glue = True
    return pieces


def basic_tokens(text: str) -> list[str]:
    """BERT's basic tokenization, lower-cased: ``"Izzy's, “Holt”"`` -> izzy ' s , “ holt ”."""
    out = []
    for token in _clean(text).split():
        if token in NEVER_SPLIT:
            out.append(token)
            continue
        token = "".join(c for c in unicodedata.normalize("NFD", token.lower()) if unicodedata.category(c) != "Mn")
        out += _split_punctuation(token)
    return " ".join(out).split()  # a token of accents only is gone


def bflm_split(passage: str) -> tuple[str, str, str]:
    """(context, continuation, target) as bflm cuts a passage; the continuation is what
    gpt2eval scores for perplexity: the original characters of the target, after one space
    where the passage had whitespace before them."""
    line = passage.strip()
    last = basic_tokens(line)[-1]
    context, target = line[: len(line) - len(last)].strip(), line[len(line) - len(last):]
    # bflm cuts by the lower-cased token's length: where lower-casing or accent stripping
    # changes a length the cut misses the token (never in the published file).
    if basic_tokens(target) != [last]:
        raise UsageError(f"--lambada-format bflm: bflm's cut {target!r} misses its last token {last!r} in {line[-60:]!r}")
    glued = line[: len(line) - len(last)] == context
    return context, ("" if glued else " ") + target, target


def bert_match(prediction: str, target: str) -> bool:
    """bflm's rule: the prediction's first BERT-basic tokens are the target's (one, in bflm)."""
    gold = basic_tokens(target)
    return bool(gold) and basic_tokens(prediction)[: len(gold)] == gold
