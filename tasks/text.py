"""Any UTF-8 text file, scored as is: the whole content, byte for byte, as one stream.

No detokenizer and no line splitting; ``--unit`` picks the perplexity denominator:
``word`` (whitespace-separated words, the default), ``token`` (the model's tokens),
``char`` (Unicode code points) or ``byte`` (UTF-8 bytes).
"""
from pathlib import Path

from gpt2eval.errors import UsageError
from gpt2eval.engine.stream import StreamTask
from gpt2eval.engine.task import Document

UNITS = ("word", "token", "char", "byte")


class Text(StreamTask):
    name = "text"
    document_name = "file"  # the whole --data-file is one document
    description = "your own UTF-8 text file (--data-file), scored as one stream"
    options = ("data_file", "unit")
    defaults = {"unit": "word"}

    def __init__(self, data):
        super().__init__(data)
        if not data.data_file:
            raise UsageError("task text needs --data-file PATH (a UTF-8 text file)")
        if self.option("unit") not in UNITS:
            raise UsageError(f"--unit {self.option('unit')!r} is not one of {', '.join(UNITS)}")
        self.unit = self.option("unit")
        self.metric = f"{self.unit}_perplexity"

    def documents(self) -> list[Document]:
        text = self.read(Path(self.data.data_file))
        units = {"word": len(text.split()), "char": len(text), "byte": len(text.encode("utf-8")), "token": 0}
        return [Document(id=Path(self.data.data_file).name, text=text, n_units=units[self.unit], original=text)]

    def read(self, path: Path) -> str:
        from gpt2eval.data.files import read_text

        text = read_text(path, self.record)
        if not text.strip():
            raise UsageError(f"{path} is empty: nothing to score")
        return text

    def evaluate(self, docs, lm):
        sums = super().evaluate(docs, lm)
        if self.unit == "token":  # the model's own tokens, as scored
            for s in sums:
                s["n_units"] = s["n_tokens"]
        return sums
