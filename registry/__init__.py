"""The registry's domain: models, the rules they obey, and the operations on them.

Nothing here knows about HTTP; the api package parses requests, calls one function
from here, and turns the domain's exceptions into problem responses.
"""
