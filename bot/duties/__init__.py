"""Art. 20(2) and Art. 73 duties: the investigation, the authorities, deadlines."""
