"""Running the dbt models on Spark (docs/spark.md): raw tables exported to Parquet, the check."""
