"""What the registry knows before anything moves: substances, control lists, organisations, their
facilities and licences, and the checks of CAS RNs and enterprise codes.
"""
