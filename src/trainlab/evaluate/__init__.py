"""Step 5, evaluation: metrics, diagnosis, errors, importance, curves."""
