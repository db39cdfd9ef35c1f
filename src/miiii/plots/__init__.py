"""Figures drawn from analysis numbers (matplotlib, Agg); one shared style in ``style``."""
