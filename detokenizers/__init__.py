"""Corpus detokenizers: pure str -> str functions, each module with its inverse.

Every module here has ``detokenize(line)`` and ``tokenize(line)``; a line round-trips
when ``tokenize(detokenize(line)) == line``.
"""


def round_trip_failures(module, lines) -> list[str]:
    """The lines that do not come back through ``module.detokenize`` then ``module.tokenize``."""
    return [line for line in lines if module.tokenize(module.detokenize(line)) != line]
