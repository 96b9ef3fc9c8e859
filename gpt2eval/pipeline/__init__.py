"""The one pipeline behind every scoring command: plan (resolve presets, check every input and output before the weights load) -> execute (one loaded model, work units) -> result files."""
