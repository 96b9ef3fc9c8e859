"""Penn Treebank (Mikolov's ``ptb.*.txt``) detokenizer and its inverse, one line at a time.

Each line is one WSJ sentence, lower-cased, tokens joined by single spaces, with a
leading and a trailing space:

    " no it was n't black monday "          ->  "no it wasn't black monday"
    " the company 's $ N million loss "      ->  "the company's $N million loss"

What is undone, grouped as the functions below:
  * clitics: ``n't`` ``'s`` ``'re`` ``'ve`` ``'ll`` ``'d`` ``'m`` rejoin the word before
    them (``ca n't`` -> ``can't``, ``wo n't`` -> ``won't`` fall out of the same rule), and
    so does a lone ``'`` (plural possessive: ``analysts ' estimates``);
  * currency: ``$ N`` -> ``$N`` (also ``c$`` ``hk$`` ``us$``); ``# N`` -> ``£N``, since the
    Treebank writes the pound sign as ``#`` and this test set uses it only for sums;
  * escapes: ``\\/`` -> ``/``;
  * the leading and trailing space of the line.

What is deliberately NOT undone, because the information is gone from the file:
  * lower-casing: we cannot know which words were capitalised;
  * ``N``: every number became ``N`` (so ``N N`` may have been "1 3/8" or "5 %");
  * ``<unk>``: the word it replaced is gone (it stays literal);
  * punctuation and quotes: Mikolov's preprocessing deleted them, so sentences stay
    without commas or final periods. Inventing them would add text the corpus never had.

``tokenize`` re-splits natural text into these tokens; it relies on PTB having every
``'`` at the start of a token and every ``$`` at the end of one.
"""
import re

# --- detokenize: clitics ------------------------------------------------------------
_CLITIC = re.compile(r" (?=n't(?: |$)|'[a-z]+(?: |$)|'(?: |$))")

# --- detokenize: currency -----------------------------------------------------------
_DOLLAR = re.compile(r"(?<=\$) (?=\S)")
_POUND = re.compile(r"(?:^|(?<= ))# (?=\S)")

# --- tokenize: the inverse ----------------------------------------------------------
_SPLIT_CLITIC = re.compile(r"(?<=\S)(n't|')")  # leftmost first: "didn't" -> "did n't"
_SPLIT_DOLLAR = re.compile(r"\$(?=\S)")


def detokenize(line: str) -> str:
    """One PTB line -> natural text (no leading/trailing space)."""
    text = line.strip(" ")
    text = _CLITIC.sub("", text)
    text = _DOLLAR.sub("", text)
    text = _POUND.sub("£", text)
    return text.replace("\\/", "/")


def tokenize(text: str) -> str:
    """Natural text -> one PTB line (inverse of ``detokenize``)."""
    text = text.replace("/", "\\/")
    text = _SPLIT_CLITIC.sub(r" \1", text)
    text = _SPLIT_DOLLAR.sub("$ ", text)
    text = text.replace("£", "# ")
    return " " + " ".join(t for t in text.split(" ") if t) + " "
