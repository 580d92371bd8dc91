"""Reverse ETL: audiences from the warehouse to the messaging channels, incrementally."""
