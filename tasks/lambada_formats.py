"""What the model sees of a LAMBADA passage, and when a predicted word counts.

``--lambada-format`` (the paper does not say; see the README):

    openai   (default) the one detail an author of the paper gave (openai/gpt-2 issue 131):
             curly double quotes “ ” -> ", ``text.strip()``, the context fed as
             "\n" + context.strip() (the newline takes <|endoftext|>'s place); the target,
             after the same quote replacement, scored as " " + target
    as-is    the passage as it is; the context starts with <|endoftext|> under
             ``--eos-prefix``, as a document does in GPT-2's training data
    lm-eval  lm-eval 0.4's ``lambada_openai``: context " ".join(text.split(" ")[:-1]),
             target " " + text.split(" ")[-1], no prefix, and the pair encoded as lm-eval
             does (context + target whole, the context's tokens cut off the front)
    bflm     cybertronai/bflm's: the target is the passage's last BERT-basic token, the
             context what precedes it, stripped, no prefix (``gpt2eval.tasks.lambada_bflm``);
             in 38 passages a quote or a glued word stays in the context

Passages longer than the window keep their end. The target is always scored with one
leading space, also in the 7 OpenAI passages where a line break precedes it (under
``lm-eval`` the "target" is then the word before the break, the break and the last word,
as there).

``--lambada-match``: ``bare`` (default) counts a predicted word when it equals the target
after stripping non-alphanumeric characters from both ends (``"Nadia,`` matches
``"Nadia``), case counting; ``bert``, bflm's, when the target's BERT-basic tokens
(lower-cased, punctuation split off) begin the prediction's (``Izzy's`` matches ``izzy``).
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from gpt2eval.tasks.lambada_bflm import bert_match

if TYPE_CHECKING:
    from gpt2eval.engine.lm import LM

_EDGE_PUNCT = re.compile(r"^[\W_]+|[\W_]+$")
CURLY_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"'})


def bare(word: str) -> str:
    """``word`` without punctuation at either end: the form predictions are compared in."""
    return _EDGE_PUNCT.sub("", word)


def matches(rule: str, prediction: str, target: str) -> bool:
    """Whether a predicted word (or text) is the target under ``--lambada-match``."""
    return bert_match(prediction, target) if rule == "bert" else bare(prediction) == bare(target)


def bflm_text(tokenizer, ids: list[int]) -> str:
    """bflm's predicted text: the generated tokens decoded whole, special tokens and all,
    spaces as they are (``bert_match`` reads its first BERT-basic token)."""
    return tokenizer.decode(ids, clean_up_tokenization_spaces=False)


def split_target(text: str, target: str | None = None) -> tuple[str, str, str]:
    """(context, separator, target): ``text`` == context + separator + target, up to whitespace.

    The target is the last whitespace word unless given; the separator is " ", or "" when
    the target is glued to the text before it. The context has no trailing whitespace.
    """
    text = text.rstrip()
    target = target or text.split()[-1]
    assert text.endswith(target), f"passage does not end with its target {target!r}: {text[-60:]!r}"
    head = text[: len(text) - len(target)]
    sep = " " if not head or head[-1].isspace() else ""
    return head.rstrip(), sep, target


def openai_split(passage: str) -> tuple[str, str, str]:
    """(context, continuation, target) as the paper's author described it (issue 131)."""
    context, _, target = split_target(passage.translate(CURLY_QUOTES).strip())
    return "\n" + context.strip(), " " + target, target


def lm_eval_split(passage: str) -> tuple[str, str, str]:
    """(context, continuation, target) as lm-eval's ``lambada_openai`` templates make them."""
    words = passage.split(" ")
    return " ".join(words[:-1]), " " + words[-1], words[-1]


def lm_eval_encode(lm: LM, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """lm-eval 0.4's ``_encode_pair``: trailing context spaces move to the continuation,
    the whole text is encoded and the context's tokens cut off its front; an empty
    context is <|endoftext|> (``LM.score_continuations`` does the same)."""
    if not context:
        return [], lm.encode(continuation)
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces:
        context, continuation = context[:-n_spaces], context[-n_spaces:] + continuation
    context_ids = lm.encode(context)
    return context_ids, lm.encode(context + continuation)[len(context_ids):]
