"""Escalations, reminders and deadlines: the pure policy and the timer engine."""
