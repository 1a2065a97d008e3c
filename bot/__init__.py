"""nonconformity-bot: runs the EU AI Act Article 20 corrective-action procedure in Slack."""
