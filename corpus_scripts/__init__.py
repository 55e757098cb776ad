"""Scripts that build the pretraining corpus (not part of the installed package)."""
