"""The engine: model requests, work units, windows and scoring; knows no task by name."""
