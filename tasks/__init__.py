"""Built-in evaluation tasks, one file per task family."""
