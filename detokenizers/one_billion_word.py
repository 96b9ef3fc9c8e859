"""One Billion Word benchmark: undo Moses tokenization of one news sentence.

The 1BW sentences were split with an old Moses `tokenizer.perl` (English, no XML escaping,
no aggressive dash splits), so the file holds raw `"`, `&`, `'s`, `don 't`, `O 'Reilly`,
whole hyphenated words (`well-known`, no `@-@`) and spaces around every other punctuation
mark, including `:`, `/` and `@` inside times, fractions, URLs and e-mail addresses.

`detokenize` is sacremoses' `MosesDetokenizer` (the port of Moses' own inverse: it pairs
`"` quotes by counting, attaches `,` `.` `)` to the left and `$` `(` to the right, and
re-attaches `'s` / `'t`) plus repairs for what it gets wrong on this file:
  - `7 : 49` -> `7:49` and `http : / /` -> `http://`: Moses split every colon, but in news
    text a colon between digits is a time, score or ratio.
  - `9 / 11`, `and / or`, `HIV / AIDS` -> no spaces: the tokenizer split every slash, and in
    this file most were unspaced (fractions, URLs, dates, `/PRNewswire/`).
  - `editor @ mediaguardian.co.uk` -> `editor@...`: e-mail addresses.
  - a run of period tokens (`. . .`, `. ...`) keeps its inner spaces, since Moses would
    otherwise glue `. . .` into `...` and `... .` into `....`, which re-tokenize differently.
  - a sentence that starts inside a quotation and holds its closing `"` (203 of 6,075 lines
    hold an odd number of `"`): Moses would open a quote there (`impossible, "said Van`).

`tokenize` is sacremoses' `MosesTokenizer(escape=False)`, which splits everything the old
tokenizer split, plus two repairs: a line-initial `'` quote is split off (Moses' rule needs
a character before it) and a line-final month abbreviation (`Jan.`) gets its period split
off, as the old tokenizer's word list did not protect months.

Deliberately not undone: spaced `--` and ` - ` dashes (both styles occur in news copy), AP's
`_` dash, `* * *`, and the U+FFFD characters from broken encodings; all are left as they are.
Every heldout line round-trips (measured in tests/test_detok_one_billion_word.py), but the
detokenized text is a best guess where tokenization lost information: whether a slash had
spaces, and which of an odd number of single quotes (`'`) open and which close.
"""

import re
from functools import lru_cache


@lru_cache(maxsize=None)
def _moses():
    """(detokenizer, tokenizer): building them loads word lists and compiles many regexes, so
    once per process, and only when used (the 1BW task imports this module, `gpt2eval
    --help` must not pay for sacremoses)."""
    from sacremoses import MosesDetokenizer, MosesTokenizer

    return MosesDetokenizer(lang="en"), MosesTokenizer(lang="en")

# Moses tokens are space-separated, so a slash token always has a space on each side
# unless it starts or ends the line.
_SLASH = re.compile(r" ?/ ?")
_DIGIT_COLON = re.compile(r"(?<=\d) : (?=\d)")
_URL_COLON = re.compile(r"\b(https?) :(?=/)")
_AT = re.compile(r"(?<=\S) @ (?=\S)")
# Two or more adjacent period tokens, e.g. `. . .` or `... .`.
_PERIOD_RUN = re.compile(r"(?<= )\.+(?: \.+)+(?= |$)")
# A private-use character that never occurs in the data, used to hide the inner spaces
# of a period run from Moses, which would otherwise glue the run together.
_JOIN = "\ue000"
_GLUE_RUN_LEFT = re.compile(r" (?=\.+" + _JOIN + ")")

# Punctuation that ends a quotation, so a `"` right after it closes one.
_CLOSES_QUOTE = re.compile(r"^[,.?!]+$")

_LINE_START_QUOTE = re.compile(r"^'(?=[^\W\d_])")
_FINAL_MONTH = re.compile(r"\b(Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.$")


def _protect_period_runs(line: str) -> str:
    return _PERIOD_RUN.sub(lambda m: m.group(0).replace(" ", _JOIN), line)


def _restore_period_runs(text: str) -> str:
    return _GLUE_RUN_LEFT.sub("", text).replace(_JOIN, " ")


def _moses_detokenize(tokens: list[str]) -> str:
    # unescape=False: the file holds no XML entities, so a literal `&amp;` must stay.
    return _moses()[0].detokenize(tokens, unescape=False)


def _detokenize_quotes(tokens: list[str]) -> str:
    """Moses pairs `"` by counting, so with an odd count it reads the first one as opening.

    A sentence cut from the end of a multi-sentence quote starts with its CLOSING quote:
    `That 's impossible , " said Van Conway .` would become `impossible, "said`. When the
    count is odd and the first `"` follows `,` `.` `?` `!`, close it by hand and let Moses
    pair the (now even) rest.
    """
    if tokens.count('"') % 2 == 0:
        return _moses_detokenize(tokens)
    i = tokens.index('"')
    if i == 0 or not _CLOSES_QUOTE.match(tokens[i - 1]):
        return _moses_detokenize(tokens)
    rest = _moses_detokenize(tokens[i + 1:])
    return _moses_detokenize(tokens[:i]) + '"' + (" " + rest if rest else "")


def detokenize(line: str) -> str:
    """Moses-tokenized 1BW sentence -> natural news text."""
    line = _DIGIT_COLON.sub(":", line)
    line = _SLASH.sub("/", line)
    line = _URL_COLON.sub(r"\1:", line)  # after the slashes: `http : //`
    line = _AT.sub("@", line)
    line = _protect_period_runs(line)
    return _restore_period_runs(_detokenize_quotes(line.split()))


def tokenize(line: str) -> str:
    """Natural news text -> 1BW Moses tokenization (inverse of `detokenize`)."""
    line = _LINE_START_QUOTE.sub("' ", line)
    line = _FINAL_MONTH.sub(r"\1 .", line)
    # Moses leaves a trailing space after a line-final quote; 1BW lines have none.
    return _moses()[1].tokenize(line, escape=False, return_str=True).strip()
