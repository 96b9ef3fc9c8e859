"""Reports built from result files alone (tables, figures, the HTML report); never imports torch."""
