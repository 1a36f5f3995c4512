"""Custom Rasa NLU components, in pipeline order: normaliser, spaCy entity ruler, classifier tokens,
input guard; `stateless` holds what they share."""
