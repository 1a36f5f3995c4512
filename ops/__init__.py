"""The operator console (客服运营后台): figures, review inbox, retraining; served under /ops/ by web/server.py."""
