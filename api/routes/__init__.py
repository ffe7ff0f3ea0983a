"""One Flask blueprint per resource: each view parses input, calls one domain function, and
answers.
"""
