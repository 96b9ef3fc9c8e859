"""What the memorising test model learns (``gpt2eval.testing.memorising_gpt2``), and the
LAMBADA file the peer tests score it on.

LAMBADA passages (OpenAI's file, by index), each learnt as every peer feeds it: the
context, then the target and <|endoftext|> (the loss is on those), under the openai,
as-is (Megatron, lm-eval) and bflm cuts:

    0-23                   plain passages
    6, 9, 19, 21           learnt with another answer, so the matching rules disagree:
                           "queen" for "Queen", "Coffee" for "coffee", "Izzy's" for "Izzy",
                           "Sarah's" for "Sarah" (bflm's rule counts them, the bare rule not)
    90 180 1661 2111 2404 3718     targets of 4 BPE tokens (3 steps cannot write them)
    70 122 1053 1597 3804 4167     bflm cuts inside the last word (quotes, a glued word);
                                   1597 and 4167 long too, 1053 after a line break
    56 91 105 279          targets that are stop words (the stop-word filters skip them)

and the CBT fixture's questions, each with its answer filled in (the loss on the answer
and the rest of the query). The peer file adds passages 200-205, never learnt.
"""
from __future__ import annotations

import json

PLAIN = list(range(24))
OTHER_ANSWER = {6: "queen", 9: "Coffee", 19: "Izzy's", 21: "Sarah's"}
LONG = [90, 180, 1661, 2111, 2404, 3718]
BFLM_CUT = [70, 122, 1053, 1597, 3804, 4167]
STOP_WORD = [56, 91, 105, 279]
LEARNT = PLAIN + LONG + BFLM_CUT + STOP_WORD
UNSEEN = list(range(200, 206))
FORMATS = ("openai", "as-is", "bflm")


def passages(data_dir) -> list[str]:
    lines = (data_dir / "lambada" / "lambada_test.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["text"] for line in lines]


def sequences(data_dir, cbt_dir) -> list[tuple[list[int], int]]:
    """(token ids, n): the model learns the last n tokens of each."""
    from gpt2eval.config import DataConfig
    from gpt2eval.tasks.cbt import CBTCN, CBTNE
    from gpt2eval.tasks.lambada import Lambada
    from gpt2eval.testing import gpt2_tokenizer

    tok = gpt2_tokenizer()
    eot = tok.eos_token_id
    texts = passages(data_dir)
    out = {}
    for i in LEARNT:
        for fmt in FORMATS:
            doc = Lambada(DataConfig(options={"lambada_format": fmt})).document(i, texts[i])
            cont = doc.extra["continuation"]
            if i in OTHER_ANSWER:
                cont = cont[: len(cont) - len(doc.extra["target"])] + OTHER_ANSWER[i]
            answer = tok.encode(cont) + [eot]
            out[tuple(tok.encode(doc.extra["context"]) + answer)] = len(answer)
    for cls in (CBTCN, CBTNE):
        for doc in cls(DataConfig(data_dir=str(cbt_dir))).documents():
            context, cont = doc.extra["pairs"][doc.extra["answer_index"]]
            answer = tok.encode(cont)
            out[tuple(tok.encode(context) + answer)] = len(answer)
    return [(list(ids), n) for ids, n in out.items()]


def write_peer_file(data_dir, out_dir) -> list[int]:
    """``out_dir/lambada/lambada_test.jsonl``: the learnt passages and 6 unseen ones, as OpenAI
    writes the file; returns their indices in the real file, in order."""
    texts = passages(data_dir)
    chosen = LEARNT + UNSEEN
    (out_dir / "lambada").mkdir(parents=True, exist_ok=True)
    lines = "".join(json.dumps({"text": texts[i]}) + "\n" for i in chosen)
    (out_dir / "lambada" / "lambada_test.jsonl").write_text(lines, encoding="utf-8")
    return chosen

