"""Evaluation data: the original files (plain, .gz, .zip), their checksums, and the hub rows they are rebuilt from; `resources/` holds the packaged tables and word lists."""
