"""Corpus detokenizers: pure str -> str functions, each with its inverse."""
