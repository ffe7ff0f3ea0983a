"""Signed identifiers: issuing a token for a batch and its containers, and verifying one."""
