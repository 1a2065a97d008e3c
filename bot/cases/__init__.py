"""The case: its typed state, the pure state machine, the services, its views."""
