"""Builders of the Haizhu district data files from ``data/sources/``."""
