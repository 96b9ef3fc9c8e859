"""Reports built from result files alone: Table 3 beside the paper, comparisons, figures, the HTML report. Never imports torch."""
