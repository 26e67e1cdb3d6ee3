"""The answer-quality evaluation: ``make eval`` (``python -m eval``)."""
