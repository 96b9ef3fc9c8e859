"""Models: loading any causal LM and its tokenizer the same way from the hub or a folder, the checks that can run before the weights load, the fingerprint of the weights, FLOP accounting."""
