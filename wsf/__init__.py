"""wsf: weighted student funding — from a formula file and enrollment to every school's budget."""

__version__ = "0.1.0"
