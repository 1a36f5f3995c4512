"""Code shared by the Rasa server (NLU components, channels) and the action server."""
