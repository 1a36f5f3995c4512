"""`make eval`: how well the assistant understands, side by side with two peers (see run_eval.py)."""
