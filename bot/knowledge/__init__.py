"""What is known: the model catalog and the error taxonomy, loaded from bundled YAML."""
