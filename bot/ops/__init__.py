"""Running the bot: settings, the workspace file, serving, logs, metrics, doctor."""
