{#
    Registers the raw tables exported to Parquet (omni360/spark/raw_export.py) as tables
    of schema `raw` on Spark, one per table of source `raw`, read from `<root>/<table>`:
    dbt run-operation register_raw_parquet --target spark --args '{root: /path/to/raw}'
    The tables are external: dropping one leaves its files. A source table missing under
    `root` is an error, so a partial export never builds.
#}
{% macro register_raw_parquet(root) %}
    {%- if target.type != 'spark' -%}
        {{ exceptions.raise_compiler_error(
            'register_raw_parquet is for the spark target, not ' ~ target.type) }}
    {%- endif -%}
    {%- set schemas = [] -%}
    {%- set tables = [] -%}
    {%- for source in graph.sources.values() if source.source_name == 'raw' -%}
        {%- if source.schema not in schemas -%}{%- do schemas.append(source.schema) -%}{%- endif -%}
        {%- do tables.append(source) -%}
    {%- endfor -%}
    {%- for schema in schemas -%}
        {%- do run_query('create database if not exists ' ~ schema) -%}
    {%- endfor -%}
    {%- for source in tables | sort(attribute='identifier') -%}
        {%- set relation = source.schema ~ '.' ~ source.identifier -%}
        {%- set location = root.rstrip('/') ~ '/' ~ source.identifier -%}
        {%- do run_query('drop table if exists ' ~ relation) -%}
        {%- do run_query('create table ' ~ relation ~ " using parquet location '"
            ~ location | replace("\\", "\\\\") | replace("'", "\\'") ~ "'") -%}
        {%- set rows = run_query('select count(*) from ' ~ relation).columns[0].values()[0] -%}
        {%- do log('registered ' ~ relation ~ ': ' ~ rows ~ ' rows from ' ~ location, info=True) -%}
    {%- endfor -%}
{% endmacro %}
