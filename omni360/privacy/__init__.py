"""Personal data: erasure of a person (`omni360 forget`) and the suppression that keeps them out."""
