"""Code that only the Rasa server loads: its channels (REST and socket.io with a reply guarantee), request
limits, the SQL tracker store, the Redis conversation lock, the operators' privacy endpoint, and the one
module that touches Rasa's private internals (rasa_internals.py). `python -m rasa_server run …` starts it."""
