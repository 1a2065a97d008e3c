"""Block Kit builders: pure functions from domain objects to Slack JSON. No I/O, no Slack client,
so that listeners and the scheduler render the same messages."""
