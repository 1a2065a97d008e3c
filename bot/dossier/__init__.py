"""What an authority or an auditor receives: the dossier, its formats, the register."""
