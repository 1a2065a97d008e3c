"""The App Home tab: what waits on each person, kept current."""
