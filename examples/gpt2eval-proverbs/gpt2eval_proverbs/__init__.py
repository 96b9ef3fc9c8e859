"""``proverbs``: per-word perplexity on 30 English proverbs, an example of a third-party task.

The whole task is this file and one entry point (pyproject.toml). It shows the three
things a task brings:

- its data and documents: one proverb per line of ``proverbs.txt`` (shipped with the
  package; ``--data-dir DIR`` reads ``DIR/proverbs/proverbs.txt`` instead), one
  document per proverb; the denominator is counted on the original text, its words plus
  one end of line per proverb, whatever the stream looks like;
- its scoring: inherited, ``StreamTask`` scores the documents as one stream by rolling
  windows (``--max-length``, ``--stride`` and ``--eos-prefix`` apply);
- its option, declared once as data: gpt2eval makes the flag ``--proverbs-separator``
  from it, checks its values, fills it under ``--preset lm-eval`` (here only to show
  how a preset sets an option), varies it in ``gpt2eval sensitivity``, marks a result
  with a value other than the paper preset's by † in tables, and records it in every
  result (``config.data`` when given, ``config.protocol`` as run).
"""
from importlib import resources

from gpt2eval.engine.options import Option
from gpt2eval.engine.stream import StreamTask, lines_of
from gpt2eval.engine.task import Document

SEPARATOR = Option(
    "proverbs_separator", choices=("newline", "space"), default="newline", presets={"lm-eval": "space"},
    help="what separates the proverbs in the stream: newline (one per line, as in the file) | space",
)


class Proverbs(StreamTask):
    name = "proverbs"
    description = "30 English proverbs as one stream, per-word perplexity (example plugin)"
    document_name = "proverb"
    denominator = 198  # 168 words + 30 ends of line
    file = "proverbs/proverbs.txt"  # under --data-dir
    options = (SEPARATOR,)

    def original_text(self) -> str:
        if self.data.data_dir:
            return super().original_text()
        return resources.files(__package__).joinpath("proverbs.txt").read_text(encoding="utf-8")

    def documents(self) -> list[Document]:
        lines = self.limited(lines_of(self.original_text()))
        return [Document(id=f"proverb-{i}", text=self.joined(i, line), n_units=len(line.split()) + 1, original=line + "\n")
                for i, line in enumerate(lines)]

    def joined(self, i: int, line: str) -> str:
        """The proverb as it stands in the stream: a space goes before it, so the next word
        keeps its leading space as GPT-2's BPE expects."""
        if self.option("proverbs_separator") == "newline":
            return line + "\n"
        return line if i == 0 else " " + line
