"""Names the action server writes into a conversation's events and the operator console reads back."""

# Slots (domain.yml): the service in context, the last problem answered, and misunderstood turns in a row.
PRODUCT_SLOT = "product"
TOPIC_SLOT = "topic"
CLARIFY_ATTEMPTS_SLOT = "clarify_attempts"
CLARIFY_ACTION = "action_clarify"

# A hotline card carries the key of its service under this name; Rasa stores it in the BotUttered event's
# metadata, and the console counts handoffs by it, whatever the card's wording.
HANDOFF_KEY = "handoff"

# How the latest message leans on the conversation (common/follow_ups.py), set by the context policy
# (pipeline/context_policy.py) for the action that answers it.
FOLLOW_UP_SLOT = "follow_up"
FOLLOW_UP_ACTION = "action_follow_up"
# What an answer is about, in the BotUttered event's metadata beside HANDOFF_KEY: the topic and service it
# answers and the follow-up kind it answers. `make eval` scores by them.
ANSWER_TOPIC_KEY = "topic"
ANSWER_SERVICE_KEY = "service"
ANSWER_KIND_KEY = "follow_up"

# In an intent_ranking entry of an embedded message (pipeline/cascade.py): that intent's share of the nearest
# training examples' vote. action_clarify answers a topic under the threshold when they agree on it.
NEIGHBOURS_KEY = "neighbours"
