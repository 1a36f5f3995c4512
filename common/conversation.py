"""Names the action server writes into a conversation's events and the operator console reads back."""

# Slots (domain.yml): the service in context, the last problem answered, and misunderstood turns in a row.
PRODUCT_SLOT = "product"
TOPIC_SLOT = "topic"
CLARIFY_ATTEMPTS_SLOT = "clarify_attempts"
CLARIFY_ACTION = "action_clarify"

# A hotline card carries the key of its service under this name; Rasa stores it in the BotUttered event's
# metadata, and the console counts handoffs by it, whatever the card's wording.
HANDOFF_KEY = "handoff"
