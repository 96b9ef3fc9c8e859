"""LAMBADA (original release): undo the lower-cased PTB tokenization of one passage.

Two versions of the LAMBADA test set exist, and they are NOT the same text:
  - `lambada_test_plain_text.txt` (the original, "lambada-standard"): one passage a line,
    lower-cased and tokenized Penn-Treebank style: `` and '' for double quotes, ` for
    most opening single quotes, n't 's 'm 'd 'll 're 've split off, cannot / gonna /
    wanna / gotta split in two, -lrb- -rrb- -lsb- -rsb- -lcb- -rcb- for brackets, spaces
    around all punctuation (but `mr.`, `u.s.`, `i.` keep their period), no paragraph breaks.
  - `lambada_test.jsonl` (OpenAI's, the one GPT-2 was scored on) is NOT a detokenized copy
    of that file: it is re-extracted from the source books, so it keeps the original case,
    paragraph breaks (in 4,642 of 5,153 passages) and the books' own typography: curly
    quotes (“ ” in 1,586 passages, ’ in 1,604; straight quotes elsewhere, even 38 stray
    backticks), `…`, `—` and `–` dashes, non-breaking spaces. It needs no detokenizer.
    Its last whitespace word sometimes carries an opening quote (`“Sal`, `"Nadia`: 38
    passages differ from the plain file's last word beyond case).

This module maps the plain-text style to natural text (still lower-case) and back:
  (`` x '') -> ("x"), (` x ') -> ('x'), (do n't) -> (don't), (can not) -> (cannot),
  (-lrb- x -rrb-) -> ((x)), ($ 5) -> ($5), and , . ? ! ; : % ... attach to the left.

Deliberately not undone: case (lost for good; guessing it would not invert), spaced `--`
and ` - ` (the books used both spaced and unspaced dashes and the tokenizer kept no trace of
which). A `'` token always attaches left (closing quote, `others'`, `goin'`): the tokenizer
left some opening single quotes unconverted to `, and those cannot be told apart from
closing ones. Period runs keep their inner spaces (`i. . .`), so that they re-tokenize to
the same tokens. Not invertible: ` em vs 'em (both occur), and a single letter before
a final period (`b .` comes back as `b.`, since `i.` and initials keep theirs).

Interaction with lambada-standard's target (the last whitespace word of the ORIGINAL line,
always alphabetic in this file): detokenizing glues an opening quote onto that word in 37
passages (`... `` nadia` -> `..."nadia`), so the task must take the target and the unit
count from the original line, and cut the context off before the target there.
"""

import re

# PTB writes brackets as words so that they cannot be confused with tree brackets.
_PTB_BRACKETS = {"-lrb-": "(", "-rrb-": ")", "-lsb-": "[", "-rsb-": "]", "-lcb-": "{", "-rcb-": "}"}
_BRACKET_WORDS = {v: k for k, v in _PTB_BRACKETS.items()}
_NATURAL = {**_PTB_BRACKETS, "``": '"', "''": '"', "`": "'"}

# Words the tokenizer cut in two without any apostrophe.
# (Case-insensitive so that cbt.py, which keeps case, can share these rules.)
_SPLIT_WORDS = re.compile(
    r"(?<= )(can) (not)(?= )|(?<= )(gon|wan) (na)(?= )|(?<= )(got) (ta)(?= )", re.IGNORECASE
)
_JOINED_WORDS = re.compile(r"\b(can)(not)\b|\b(gon|wan)(na)\b|\b(got)(ta)\b", re.IGNORECASE)

# Detokenize: which tokens glue to their left or right neighbour.
_GLUES_RIGHT = {"``", "`", "-lrb-", "-lsb-", "-lcb-", "$"}
_GLUES_LEFT = re.compile(
    r"''|'|-rrb-|-rsb-|-rcb-|n't|'s|'m|'d|'ll|'re|'ve|[.,;:?!%]+", re.IGNORECASE
)

# Tokenize.
_DOUBLE_OPENER = re.compile(r'(?<=[\s(\[{])"')
# Words that keep an apostrophe at an end instead of it becoming a quote token.
_KEEPS_APOSTROPHE = re.compile(
    r"(?<!\w)'(?:em|til|n')(?!\w)|(?<!\w)(?:ol|d)'(?!\w)", re.IGNORECASE
)
_SINGLE_OPENER = re.compile(r"(?<=[\s(\[{])'(?=\w)")
_CLITIC_SUFFIX = re.compile(r"(?<=\w)(n't|'s|'m|'d|'ll|'re|'ve)\b", re.IGNORECASE)
_LEADING = re.compile(r"^(``|`|[(\[{$])(?=.)")
_TRAILING = re.compile(r"(?<=.)(\.\.\.|[?!]+|''|[,;:%)\]}'])$")
_PERIODS = re.compile(r"\.+")
_FINAL_PERIOD = re.compile(r"(?<=.)\.$")
# Words whose final period the tokenizer kept: initialisms (`u.s.`), titles, a few
# abbreviations, single letters (mostly `i.` before `. .`, and initials).
_KEEPS_PERIOD = re.compile(
    r"(?:\w\.)+\w|[a-z]|mr|mrs|ms|dr|st|jr|det|vs|hon|etc|al|brig|wed|alex", re.IGNORECASE
)


def _glues_left(token: str, prev: str) -> bool:
    # After a period token, keep the space: `i. . .` must not become `i...`, which
    # re-tokenizes as `i ...`. Two `'` tokens stay apart so they do not read as `''`.
    if prev.endswith(".") and token.startswith("."):
        return False
    if token == "'" and prev in ("'", "`"):
        return False
    return bool(_GLUES_LEFT.fullmatch(token))


def detokenize(line: str) -> str:
    """Lower-cased PTB-tokenized LAMBADA passage -> natural (lower-case) text."""
    line = _SPLIT_WORDS.sub(lambda m: "".join(g for g in m.groups() if g), f" {line} ")
    pieces, prev = [], ""
    for token in line.split():
        if pieces and prev not in _GLUES_RIGHT and not _glues_left(token, prev):
            pieces.append(" ")
        pieces.append(_NATURAL.get(token, token))
        prev = token
    return "".join(pieces)


def _split_chunk(chunk: str) -> list[str]:
    """Peel openers off the front and closers / punctuation off the back of one chunk."""
    if chunk in ("``", "''"):
        return [chunk]
    head, tail = [], []
    while m := _LEADING.match(chunk):
        head.append(_BRACKET_WORDS.get(m.group(1), m.group(1)))
        chunk = chunk[len(m.group(1)):]
    # A bare period run is a token of its own (`...`, or each `.` of `. . .`).
    while not _PERIODS.fullmatch(chunk):
        if m := _TRAILING.search(chunk):
            tail.append(_BRACKET_WORDS.get(m.group(1), m.group(1)))
            chunk = chunk[: -len(m.group(1))]
        elif _FINAL_PERIOD.search(chunk) and not _KEEPS_PERIOD.fullmatch(chunk[:-1]):
            tail.append(".")
            chunk = chunk[:-1]
        else:
            break
    return head + [_BRACKET_WORDS.get(chunk, chunk)] + tail[::-1]


def tokenize(line: str) -> str:
    """Natural lower-case text -> LAMBADA's PTB tokenization (inverse of `detokenize`)."""
    # Quote marks become separate tokens first, so that a run like `,"'` peels in order.
    text = _DOUBLE_OPENER.sub(" `` ", f" {line} ").replace('"', " '' ")
    # Hide apostrophes that belong to a word (`'em`, `ol'`) from the quote rules.
    text = _KEEPS_APOSTROPHE.sub(lambda m: m.group(0).replace("'", "\0"), text)
    text = _SINGLE_OPENER.sub("` ", text)
    text = _CLITIC_SUFFIX.sub(r" \1", text)
    text = _JOINED_WORDS.sub(lambda m: " ".join(g for g in m.groups() if g), text)
    tokens = [tok for chunk in text.split() for tok in _split_chunk(chunk)]
    return " ".join(tokens).replace("\0", "'")
