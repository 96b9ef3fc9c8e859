"""NVIDIA Megatron-LM's zero-shot GPT-2 detokenizers (``tasks/zeroshot_gpt/detokenizer.py``).

Reimplemented from reading that file, for ``--detokenizer megatron`` and ``--preset
megatron``; lm-eval's ``wikitext`` task applies the same WikiText rules to each article
(``lm_eval/tasks/wikitext/preprocess_wikitext.py``). Megatron runs them on the WHOLE file
as one string, newlines included, in this order; every step is a plain replacement or a
regex over that string:

    ptb       " '" -> "'"; strip spaces around "\\n"; " n't" -> "n't"; " N " -> "1 ";
              "$ 1" -> "$1"; "# 1" -> "#1"
    wikitext  "s '" -> "s'"; " @-@ " " @,@ " " @.@ " -> "-" "," "."; " : " -> ": " (and ; . ! ? ,);
              no spaces inside (...), [...], {...}, "...", '...' (the non-greedy pairs may
              span lines); "= = = =" -> "===="; "= = =" -> "==="; "= =" -> "=="; " ° " -> "°";
              strip spaces around "\\n"; " N " -> " 1 "; " 's" -> "'s"
    lambada   the identity

Not invertible, by design of the source: PTB's ``N`` (any number) becomes ``1`` and, in
PTB, glues to the word before it (``about N shares`` -> ``about1 shares``, since the
replacement " N " -> "1 " eats the leading space); the bracket and quote regexes pair
any two quotes, also across lines. ``<unk>`` stays as it is. ``gpt2eval detok-check
--detokenizer megatron`` reports how many lines still come back through gpt2eval's own
``tokenize``.

Stream tasks run the rules over the whole stream, as Megatron does, and cut the
result back into documents (``per_document``), so the scored text is Megatron's exactly.
"""
import re

_PTB_STEPS = ((" '", "'"), (" \n", "\n"), ("\n ", "\n"), (" n't", "n't"), (" N ", "1 "), ("$ 1", "$1"), ("# 1", "#1"))

_WIKI_CONTRACTIONS = (("s '", "s'"),)
_WIKI_ODD_RULE = (re.compile(r"/' [0-9]/"), r"/'[0-9]/")  # matches literal slashes: a no-op on WikiText, kept as in the source
_WIKI_SEPARATORS = ((" @-@ ", "-"), (" @,@ ", ","), (" @.@ ", "."))
_WIKI_PUNCTUATION = tuple((f" {p} ", f"{p} ") for p in ":;.!?,")
_WIKI_PAIRS = (
    (re.compile(r"\(\s*([^\)]*?)\s*\)"), r"(\1)"),
    (re.compile(r"\[\s*([^\]]*?)\s*\]"), r"[\1]"),
    (re.compile(r"{\s*([^}]*?)\s*}"), r"{\1}"),
    (re.compile(r"\"\s*([^\"]*?)\s*\""), r'"\1"'),
    (re.compile(r"'\s*([^']*?)\s*'"), r"'\1'"),
)
_WIKI_MISC = (("= = = =", "===="), ("= = =", "==="), ("= =", "=="), (" \u00b0 ", "\u00b0"), (" \n", "\n"), ("\n ", "\n"),
              (" N ", " 1 "), (" 's", "'s"))


def _replace_all(text: str, steps) -> str:
    for old, new in steps:
        text = text.replace(old, new)
    return text


def ptb(text: str) -> str:
    """Megatron's PTB detokenizer on ``text`` (a whole file, or a part of one)."""
    return _replace_all(text, _PTB_STEPS)


def wikitext(text: str) -> str:
    """Megatron's (and lm-eval's) WikiText detokenizer on ``text``."""
    text = _replace_all(text, _WIKI_CONTRACTIONS)
    text = _WIKI_ODD_RULE[0].sub(_WIKI_ODD_RULE[1], text)
    text = _replace_all(text, _WIKI_SEPARATORS + _WIKI_PUNCTUATION)
    for pattern, repl in _WIKI_PAIRS:
        text = pattern.sub(repl, text)
    return _replace_all(text, _WIKI_MISC)


def lambada(text: str) -> str:
    """Megatron scores LAMBADA's text as it is."""
    return text


DETOKENIZERS = {"ptb": ptb, "wikitext": wikitext, "lambada": lambada}


def per_document(originals: list[str], corpus: str) -> list[str]:
    """Megatron's whole-file pass over ``"".join(originals)``, cut back into documents.

    The whole stream is detokenized at once (WikiText's quote regex pairs quotes across
    the whole file, so no per-document pass reproduces it), then cut where each document
    starts. Every rule only deletes characters, except ``N`` -> ``1``, so the output is a
    subsequence of the input up to that substitution: a left-most two-pointer match
    finds where each input boundary lands in the output.
    """
    whole = "".join(originals)
    out = DETOKENIZERS[corpus](whole)
    cuts, j, starts = [], 0, set()
    at = 0
    for text in originals[:-1]:
        at += len(text)
        starts.add(at)
    for i, ch in enumerate(whole):
        if i in starts:
            cuts.append(j)
        if j < len(out) and (out[j] == ch or (ch == "N" and out[j] == "1")):
            j += 1
    assert j == len(out), f"Megatron's {corpus} output is not a subsequence of its input"
    bounds = [0, *cuts, len(out)]
    return [out[lo:hi] for lo, hi in zip(bounds, bounds[1:])]


def word_counts(originals: list[str]) -> list[int]:
    """Megatron's denominator, ``len(whole.strip().split(" "))``, shared out per document.

    That count is 1 + the spaces left after stripping the file's ends, so each document
    gets its spaces, the first one the 1, and the file's stripped ends come off.
    """
    whole = "".join(originals)
    counts = [text.count(" ") for text in originals]
    if not whole.strip():
        return [0] * len(originals)
    lead = whole[: len(whole) - len(whole.lstrip())].count(" ")
    trail = whole[len(whole.rstrip()):].count(" ")
    counts[0] += 1 - lead  # the leading spaces lie in the first document(s)
    counts[-1] -= trail
    assert sum(counts) == len(whole.strip().split(" ")), "Megatron word count shared out wrongly"
    return counts
