"""Rasa-free logic that more than one process imports: the knowledge loader (knowledge/*.yml), Chinese text
handling, masking of personal numbers, private files and conversation erasure. The Rasa server, the action
server, the page server (operator console) and the command line all use it; nothing here imports Rasa."""
