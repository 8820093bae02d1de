{#-
  DESIGN.md RFM score from a rank() over n scored customers, in whole numbers
  (no float rounding at the quintile edges): least(5, 1 + 5 * (rank - 1) // (n - 1)),
  1 when n = 1. Equals 1 + floor(5 * percent_rank()), capped at 5.
-#}
{% macro rfm_score(rank_column, scored_customers) -%}
    case
        when {{ scored_customers }} = 1 then 1
        else least(5, 1 + {{ integer_divide('5 * (' ~ rank_column ~ ' - 1)', scored_customers ~ ' - 1') }})
    end
{%- endmacro %}
