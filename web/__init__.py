"""The customer-service chat page: a small static server for the page and the rasa-webchat widget."""
