{#-
  Rule segments are declared by where they live: dbt_project.yml tags every
  model in models/segments/ `rule_segment`, and everything that needs the list
  (customer_segments, its accepted_values test, the gate through the manifest)
  reads it from the graph. The graph is filled only at execution, so at parse
  time this is empty.
-#}
{% macro rule_segments() -%}
    {%- set names = [] -%}
    {%- if execute -%}
        {%- for node in graph.nodes.values() -%}
            {%- if node.resource_type == 'model' and node.package_name == project_name
                and 'rule_segment' in node.tags -%}
                {%- do names.append(node.name) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(names | sort) }}
{%- endmacro %}

{#-
  The union of every rule segment (customer_id, segment, as_of), in name order.
  dbt learns a model's parents when it parses it, before the graph exists, so
  the calling model names each segment once in a `-- depends_on: ref(...)` line;
  this stops the build, saying which line to add or remove, when those lines and
  the segments folder disagree.
-#}
{% macro union_rule_segments() -%}
    {%- set segments = rule_segments() -%}
    {%- if execute -%}
        {%- set prefix = 'model.' ~ project_name ~ '.' -%}
        {%- set parents = [] -%}
        {%- for parent in model.depends_on.nodes if parent.startswith(prefix) -%}
            {%- do parents.append(parent) -%}
        {%- endfor -%}
        {%- for name in segments -%}
            {%- if prefix ~ name not in parents -%}
                {{ exceptions.raise_compiler_error(
                    "rule segment '" ~ name ~ "' (models/segments/) is not named by "
                    ~ model.original_file_path ~ ": add the line `-- depends_on: {" ~ "{ ref('"
                    ~ name ~ "') }" ~ "}` to it, so dbt builds the segment first.") }}
            {%- endif -%}
        {%- endfor -%}
        {%- for parent in parents -%}
            {%- set name = parent.split('.')[2] -%}
            {%- if name not in segments -%}
                {{ exceptions.raise_compiler_error(
                    model.original_file_path ~ " names '" ~ name
                    ~ "', which is not a rule segment (a model in models/segments/): "
                    ~ "remove its depends_on line or move the model there.") }}
            {%- endif -%}
        {%- endfor -%}
        {%- if not segments -%}
            {{ exceptions.raise_compiler_error(
                "no rule segments: add a model to models/segments/ (see the README, \"Add a segment\").") }}
        {%- endif -%}
    {%- endif -%}
    {%- for name in segments %}
    select
        customer_id,
        segment,
        as_of
    from {{ ref(name) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}
