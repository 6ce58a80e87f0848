"""outturn: financial recovery for NHS commissioners."""

__version__ = "0.1.0"
