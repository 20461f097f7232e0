"""Step 1, data preparation: load, infer the schema, check, split, prepare."""
