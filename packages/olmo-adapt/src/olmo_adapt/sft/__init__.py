"""Supervised fine-tuning on chat conversations (the Tulu template, loss on assistant turns only)."""
