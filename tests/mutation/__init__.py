"""Mutation testing of core/ (``make mutation``): the score and the mutants judged equivalent."""
