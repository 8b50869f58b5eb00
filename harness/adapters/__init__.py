"""Model adapters: every kind of reward model behind one contract (see ``base``)."""
