"""Custom actions for the action server (`rasa run actions`); knowledge comes from common.knowledge."""
