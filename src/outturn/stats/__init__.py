"""Statistics for NHS finance: case-mix drift now; SPC, funnel plots and Monte Carlo to come. Pure functions."""
