"""Step 6, fine-tuning under a budget: trials on validation folds, scheduling, tuning, ensembling."""
