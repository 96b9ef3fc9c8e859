"""Analyses that run the pipeline many times or over other data: stride sweeps, sensitivity, train/test overlap."""
