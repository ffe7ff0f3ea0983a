"""Pictures the service draws: labels (QR code and text) and the genealogy SVG."""
