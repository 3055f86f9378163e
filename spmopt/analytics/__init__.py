"""Performance analytics: KPIs and rep scorecards."""
