"""Custom Rasa NLU components, in pipeline order: normaliser, spaCy entity ruler, input guard."""
