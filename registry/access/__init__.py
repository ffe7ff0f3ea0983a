"""Who may act: API keys and identity-platform principals, and the log of who looked up what."""
