"""The model's own components, named in config.yml: the NLU components in pipeline order (normaliser,
spaCy entity ruler, classifier tokens, sentence embeddings, input guard; `stateless` holds what they share)
and the dialogue policy. `rasa train` and the Rasa server load them; they are the only Python the model
depends on, with the parts of common/ they import."""
