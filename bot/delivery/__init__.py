"""Everything the bot owes someone outside the request: message kinds, the outbox, senders."""
