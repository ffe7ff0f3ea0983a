"""Reports for regulators: the mass balance with its red flags."""
