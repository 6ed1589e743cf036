"""The web pages of gapwatch, one blueprint per feature."""
