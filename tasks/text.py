"""Any UTF-8 text file, scored as is: the whole content, byte for byte, as one stream.

No detokenizer and no line splitting; ``--text-denominator`` (was ``--unit``) picks what
the perplexity is per: ``word`` (whitespace-separated words, the default), ``token`` (the
model's tokens), ``char`` (Unicode code points) or ``byte`` (UTF-8 bytes).
"""
from pathlib import Path

from gpt2eval.errors import UsageError
from gpt2eval.engine.options import Option
from gpt2eval.engine.stream import StreamTask
from gpt2eval.engine.task import Document

DENOMINATOR = Option("text_denominator", choices=("word", "token", "char", "byte"), default="word", old_names=("unit",),
                     help="what the perplexity is per: word | token (the model's) | char | byte")


class Text(StreamTask):
    name = "text"
    document_name = "file"  # the whole --data-file is one document
    description = "your own UTF-8 text file (--data-file), scored as one stream"
    options = (DENOMINATOR,)
    reads_data_file = True

    def __init__(self, data):
        super().__init__(data)
        if not data.data_file:
            raise UsageError("task text needs --data-file PATH (a UTF-8 text file)")
        self.counts = self.option("text_denominator")
        self.metric = f"{self.counts}_perplexity"

    def documents(self) -> list[Document]:
        text = self.read(Path(self.data.data_file))
        n_units = {"word": len(text.split()), "char": len(text), "byte": len(text.encode("utf-8")), "token": 0}
        return [Document(id=Path(self.data.data_file).name, text=text, n_units=n_units[self.counts], original=text)]

    def read(self, path: Path) -> str:
        from gpt2eval.data.files import read_text

        text = read_text(path, self.record)
        if not text.strip():
            raise UsageError(f"{path} is empty: nothing to score")
        return text

    def evaluate(self, docs, lm):
        sums = super().evaluate(docs, lm)
        if self.counts == "token":  # the model's own tokens, as scored
            for s in sums:
                s["n_units"] = s["n_tokens"]
        return sums
