"""Request schemas (marshmallow) and the JSON representations the API answers with."""
