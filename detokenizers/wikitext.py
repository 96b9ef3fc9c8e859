"""WikiText (``wiki.test.tokens``) detokenizer and its inverse, one line at a time.

WikiText lines are Moses-style tokens joined by single spaces, with a leading and a
trailing space (a blank line is a single space). GPT-2 saw Wikipedia-like text on the
web, so ``detokenize`` puts the text back the way a page would show it:

    " = = Career = = "                        ->  "== Career =="
    " He had a guest @-@ starring role . "    ->  "He had a guest-starring role."
    " ( 1 @,@ 000 km ) "                      ->  "(1,000 km)"
    " Teddy 's Story cost $ 1 @.@ 5 million "  ->  "Teddy's Story cost $1.5 million"

What is undone, grouped as the rules below:
  * number and word separators: ``@-@`` ``@,@`` ``@.@`` glue their neighbours;
  * punctuation: no space before . , ; : ! ? % ) ] ” ... and after ( [ “ or a currency
    sign before a digit; double quotes pair up within the line; em dashes, slashes and
    en dashes or colons between digits (``2000–2005``, ``3:04``) lose both spaces;
  * clitics: ``'s`` ``'t`` ``'re`` ``'d`` (and foreign ``d 'Italia``) rejoin the word
    before them, as does ``’ t`` after a letter and a lone ``'`` after a word ending in
    ``s`` (plural possessive, ``Stevens ' father`` -> ``Stevens' father``);
  * headings: ``= = Title = =`` becomes ``== Title ==`` (MediaWiki markup, so a heading
    keeps its level and stays invertible);
  * the leading and trailing space of each line; a blank line becomes "".

What is deliberately NOT undone:
  * ``<unk>`` stays literal: the word it replaced is gone from the file.
  * Single quotes other than clitics/possessives stay spaced: ``'`` is both a quote and
    an apostrophe, and no local rule pairs them reliably.
  * A period after a token that may be an abbreviation (``Jr``, ``Inc``, ``A``, ``U.S.``)
    keeps its space: joined, it would read as the abbreviation's own period, and
    ``tokenize`` could not tell which one it was. Both directions use ``_keeps_period``.
  * En dashes between words stay spaced (clause dash or compound: the tokens do not say).

``tokenize`` re-splits natural text into these tokens. It relies on the fact that in
WikiText every character in ``_ALWAYS_ALONE`` only ever appears as a token by itself
and every ``'`` only at the start of a token, so padding them is exact.
"""
import re

# Abbreviations seen with an attached period in WikiText (plus common titles). A lone
# "." after one of these keeps its space, see _keeps_period.
_ABBREVIATIONS = frozenset(
    "No Nos Col St vs v Gen Dr Mr Mrs Ms Sr Jr Bros Inc Co Corp Ltd Lt Capt Maj Sgt "
    "Adm Rev Prof Gov Mt Ft p pp al mm".split()
)


def _keeps_period(stem: str) -> bool:
    """Whether ``stem + "."`` reads as one token (an abbreviation or initial)."""
    return "." in stem or (len(stem) == 1 and stem.isupper()) or stem in _ABBREVIATIONS


# --- detokenize: number and word separators -----------------------------------------
_AT_SEPARATOR = re.compile(r" @([-,.])@ ")

# --- detokenize: punctuation --------------------------------------------------------
_PERIOD = re.compile(r"(\S+) (\.\.\.|\.)(?= |$)")
_DIGIT_JOINER = re.compile(r"(?<=\d) ([:–]) (?=\d)")
_BOTH_SIDES = re.compile(r" ([—/⁄]) ")
_ATTACH_LEFT = re.compile(r" ([,;:!?%)\]°”])")
_ATTACH_RIGHT = re.compile(r"([(\[“]) ")
_CURRENCY = re.compile(r"([$£¥₱#]) (?=\d)")

# --- detokenize: clitics ------------------------------------------------------------
_CLITIC = re.compile(r" (?='[^\W\d_])")  # 's 't 're 'Italia: apostrophe + letter
_CURLY_CLITIC = re.compile(r"(?<=[^\W\d_]) ’ (?=(?:s|t|re|ve|ll|d|m)(?: |$))")
_POSSESSIVE = re.compile(r"(?:^|(?<= ))(\S*s) '(?= |$)")
# Words ending in "s" before which a lone ' is an opening quote, not a possessive.
_NOT_POSSESSIVE = frozenset("as is was has his its this thus us does whereas".split())

# --- detokenize: headings -----------------------------------------------------------
_HEADING = re.compile(r"(?<==) (?==)")


def _join_periods(text: str) -> str:
    def join(m: re.Match) -> str:
        word, dot = m.groups()
        return word + dot if not _keeps_period(word) else m.group(0)

    return _PERIOD.sub(join, text)


def _pair_double_quotes(text: str) -> str:
    """Quotes alternate open/close within a line: no space inside a pair."""
    parts = text.split('"')
    for i in range(1, len(parts)):
        if i % 2 == 1:  # quote i-1 opens: drop the space after it
            parts[i] = parts[i].removeprefix(" ")
        else:  # quote i-1 closes: drop the space before it
            parts[i - 1] = parts[i - 1].removesuffix(" ")
    return '"'.join(parts)


def _join_possessive(m: re.Match) -> str:
    word = m.group(1)
    return m.group(0) if word.lower() in _NOT_POSSESSIVE else word + "'"


def detokenize(line: str) -> str:
    """One WikiText line -> natural text (no leading/trailing space)."""
    text = line.strip(" ")
    text = _join_periods(text)  # first, so the stem it checks is still a whole token
    text = _AT_SEPARATOR.sub(r"\1", text)
    text = _HEADING.sub("", text)
    text = _CLITIC.sub("", text)
    text = _CURLY_CLITIC.sub("’", text)
    text = _POSSESSIVE.sub(_join_possessive, text)
    text = _DIGIT_JOINER.sub(r"\1", text)
    text = _BOTH_SIDES.sub(r"\1", text)
    text = _ATTACH_LEFT.sub(r"\1", text)
    text = _ATTACH_RIGHT.sub(r"\1", text)
    text = _CURRENCY.sub(r"\1", text)
    return _pair_double_quotes(text)


# --- tokenize: the inverse ----------------------------------------------------------
# Characters that WikiText only ever has as a token by themselves: pad them blindly.
_ALWAYS_ALONE = re.compile(r'([;:!?%()\[\]"“”’°/⁄—–=$£¥₱#])')
_COMMA = re.compile(r"(?<![\d>]),|,(?![\d<])")  # one inside a number is a @,@
_APOSTROPHE = re.compile(r"(?<=\S)'")  # every ' starts a token
_HYPHEN = re.compile(r"(?<=\S)-(?=\S)")
# Number separators. The digits before one start a token ("T2.5" is one token) and, for
# a comma, the digits after it end one ("1,000th" is one token). WikiText-2 replaced
# rare numbers by <unk> too ("1 @,@ <unk>"), and writes Croatian ordinals "1 @.@ hrvatski".
_NUMBER_COMMA = re.compile(r"((?<!\w)\d+|<unk>),(?=(?:\d+|<unk>)(?!\w))")
_NUMBER_DOT = re.compile(r"((?<!\w)\d+|<unk>)\.(?=\d+(?!\w)|<unk>|[^\W\d_])")
_TRAILING_PERIOD = re.compile(r"(.+?)(\.\.\.|\.)")


def _split_period(token: str) -> str:
    m = _TRAILING_PERIOD.fullmatch(token)
    if m is None or _keeps_period(m.group(1)):
        return token
    return f"{m.group(1)} {m.group(2)}"


def tokenize(text: str) -> str:
    """Natural text -> one WikiText line (inverse of ``detokenize``)."""
    text = _ALWAYS_ALONE.sub(r" \1 ", text)
    text = _COMMA.sub(" , ", text)
    text = _APOSTROPHE.sub(" '", text)
    text = _HYPHEN.sub(" @-@ ", text)
    text = _NUMBER_COMMA.sub(r"\1 @,@ ", text)
    text = _NUMBER_DOT.sub(r"\1 @.@ ", text)
    tokens = [_split_period(t) for t in text.split(" ") if t]
    return " " + " ".join(tokens) + " " if tokens else " "
