#!/usr/bin/env python3
"""Renders the template parity cases with the real Jinja2 and writes Tests/Fixtures/template/cases.jsonl.

The environment mirrors PromptSource's templates.py: a default Environment with `zip` as a global and the
`choice` / `most_frequent` filters. `choice` is random there, so its cases use one-element sequences.

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install jinja2==3.1.6
    /tmp/venv/bin/python tools/make_template_fixtures.py
"""
import json
import random
from collections import Counter
from pathlib import Path

import jinja2
from jinja2 import BaseLoader, Environment

assert jinja2.__version__ == "3.1.6", jinja2.__version__

env = Environment(loader=BaseLoader)
env.globals.update(zip=zip)


def choice(choices):
    return random.choice(choices)


def most_frequent(items):
    """Returns the set of items which appear most frequently in the input"""
    if not items:
        return
    item_counts = Counter(items).most_common()
    max_freq = item_counts[0][1]
    most_frequent_items = [c[0] for c in item_counts if c[1] == max_freq]
    return most_frequent_items


env.filters["choice"] = choice
env.filters["most_frequent"] = most_frequent

CASES = []


def case(name, template, variables=None):
    CASES.append((name, template, variables or {}))


# --- data, whitespace control, comments, raw, trailing newline -------------------------------------------
case("text_plain", "Hello world")
case("text_trailing_newline", "Hello\n")
case("text_two_trailing_newlines", "Hello\n\n")
case("text_crlf", "a\r\nb\r\n")
case("text_cr", "a\rb")
case("text_only_newline", "\n")
case("text_empty", "")
case("var_simple", "Hello {{ name }}!", {"name": "World"})
case("var_trailing_newline_after_tag", "{{ x }}\n", {"x": 1})
case("ws_minus_left_var", "a  \n  {{- x }}", {"x": "X"})
case("ws_minus_right_var", "{{ x -}}  \n  b", {"x": "X"})
case("ws_minus_both_block", "a \n {%- if true -%} \n b \n {%- endif -%} \n c")
case("ws_block_no_strip", "a\n{% if true %}\nb\n{% endif %}\nc")
case("ws_plus_ignored", "a\n{%+ if true +%}\nb{% endif %}")
case("ws_comment_strip", "a  {#- comment -#}  b")
case("ws_comment_plain", "a {# comment #} b")
case("ws_comment_multiline", "a{# line1\nline2 #}b")
case("ws_comment_minus_inside", "a {#-#} b")
case("ws_for_strip", "{% for i in [1,2,3] -%}\n  {{ i }}\n{%- endfor %}")
case("ws_for_lines", "{% for i in [1,2] %}\n- {{ i }}\n{% endfor %}\n")
case("ws_set_newlines", "{% set x = 1 %}\n{{ x }}\n")
case("ws_strip_unicode_space", "a\u00a0\u3000{{- 'b' }}")
case("ws_strip_tabs", "a\t\t\n{%- if true %}b{% endif %}")
case("raw_block", "{% raw %}{{ not parsed }}{% endraw %}")
case("raw_block_strip", "x  {%- raw -%}  {{ y }}  {%- endraw -%}  z")
case("raw_with_spaces", "{%raw%} {% if %} {%endraw%}")
case("brace_in_text", "a { b } c {x} }}")
case("lone_brace_end", "{ {{ '{' }}")
case("dict_in_var_braces", "{{ {'a': {'b': 1}} }}")
case("dict_in_var_tight", "{{ {'a': 1}}}")
case("multiline_tag", "{{\n  x\n  +\n  1\n}}", {"x": 1})
case("string_with_tag_chars", "{{ '}}' }}{{ \"%}\" }}")

# --- literals ----------------------------------------------------------------------------------------------
case("lit_int", "{{ 42 }}")
case("lit_neg_int", "{{ -42 }}")
case("lit_float", "{{ 1.5 }}")
case("lit_float_exp", "{{ 1e3 }}")
case("lit_float_small", "{{ 1.5e-7 }}")
case("lit_underscore", "{{ 1_000 }}|{{ 1_0.5 }}")
case("lit_hex_oct_bin", "{{ 0x1F }}|{{ 0o17 }}|{{ 0b101 }}")
case("lit_strings", "{{ 'single' }}|{{ \"double\" }}")
case("lit_string_escapes", r"{{ 'a\nb\tc\\d\'e' }}")
case("lit_string_unicode_escape", r"{{ '\u00e9\x41\U0001F600' }}")
case("lit_string_unknown_escape", r"{{ 'a\db' }}")
case("lit_string_octal", r"{{ '\101\0' | length }}")
case("lit_string_concat_adjacent", "{{ 'a' 'b' \"c\" }}")
case("lit_bools", "{{ true }}|{{ True }}|{{ false }}|{{ False }}")
case("lit_none", "{{ none }}|{{ None }}")
case("lit_list", "{{ [1, 'a', none, true, 1.0] }}")
case("lit_list_trailing_comma", "{{ [1, 2,] }}")
case("lit_tuple", "{{ (1, 'a') }}|{{ (1,) }}|{{ () }}")
case("lit_dict", "{{ {'a': 1, 'b': [1, 2], 'c': {'d': none}} }}")
case("lit_dict_int_keys", "{{ {1: 'a', 2.5: 'b', none: 'c', true: 'd'} }}")
case("lit_dict_dup_key", "{{ {'a': 1, 'a': 2} }}")
case("lit_nested_parens", "{{ ((1 + 2) * 3) }}")
case("output_tuple_bare", "{{ 1, 2 }}")
case("lit_empty_dict_list", "{{ {} }}|{{ [] }}")

# --- Python str() of values ----------------------------------------------------------------------------------
FLOATS = [0.0, -0.0, 1.0, 0.1, 0.5, 1.5, 100.0, 1e15, 1e16, 1.5e16, 1e-4, 1e-5, 1.2345e-5, 123456789.123,
          3.141592653589793, 2.0 / 3.0, 1e22, 1e100, 5e-324, 1.7976931348623157e308, 0.30000000000000004,
          123456789012345678.0, 9007199254740993.0, -2.5]
for i, f in enumerate(FLOATS):
    case(f"float_str_{i}", "{{ x }}", {"x": f})
case("float_inf_nan", "{{ x }}|{{ y }}|{{ z }}", {"x": float("inf"), "y": float("-inf"), "z": float("nan")})
case("float_in_list", "{{ [x, 1, 'b'] }}", {"x": 0.1})
case("str_list_quotes", "{{ x }}", {"x": ["it's", 'say "hi"', "both ' \"", "plain"]})
case("str_list_escapes", "{{ x }}", {"x": ["a\nb", "t\tb", "back\\slash", "\x00\x7f", "\u00e9", "\u200b", "\U0001F600", "\u00a0"]})
case("str_dict_repr", "{{ x }}", {"x": {"k": "v", "n": 1, "f": 2.5, "l": [None, True], "d": {}}})
case("str_nested", "{{ x }}", {"x": [[1, [2, [3]]], {"a": ["b"]}]})
case("str_none_bool", "{{ x }}{{ y }}{{ z }}", {"x": None, "y": True, "z": False})
case("str_big_int", "{{ x }}", {"x": 9007199254740993})
case("str_tuple_from_zip", "{{ zip([1, 2], ['a', 'b']) | list }}")
case("str_unicode_passthrough", "{{ x }}", {"x": "héllo wörld 😀 \u200b"})

# --- variables, attributes, items -----------------------------------------------------------------------------
case("attr_dict", "{{ d.a }}|{{ d['a'] }}|{{ d.b.c }}", {"d": {"a": 1, "b": {"c": 2}}})
case("attr_missing_key_undefined", "[{{ d.missing }}]", {"d": {"a": 1}})
case("item_missing_key_undefined", "[{{ d['missing'] }}]", {"d": {"a": 1}})
case("attr_of_missing_key_error", "{{ d.missing.x }}", {"d": {"a": 1}})
case("attr_undefined_error", "{{ nope.x }}")
case("item_undefined_error", "{{ nope[0] }}")
case("undefined_renders_empty", "[{{ nope }}]")
case("list_index", "{{ l[0] }}|{{ l[-1] }}|{{ l.1 }}", {"l": ["a", "b", "c"]})
case("list_index_out_of_range", "[{{ l[10] }}]", {"l": [1]})
case("list_index_float_undefined", "[{{ l[1.0] }}]", {"l": [1, 2]})
case("string_index", "{{ s[0] }}{{ s[-1] }}{{ s[1] }}", {"s": "héllo"})
case("string_index_emoji", "{{ s[1] }}|{{ s | length }}", {"s": "a😀b"})
case("slice_list", "{{ l[1:3] }}|{{ l[:2] }}|{{ l[2:] }}|{{ l[::-1] }}|{{ l[::2] }}|{{ l[-2:] }}", {"l": [1, 2, 3, 4, 5]})
case("slice_string", "{{ s[1:3] }}|{{ s[:2] }}|{{ s[::-1] }}|{{ s[-3:] }}|{{ s[10:] }}|", {"s": "héllo"})
case("slice_string_step", "{{ s[1:8:3] }}|{{ s[5:1:-2] }}", {"s": "abcdefghij"})
case("slice_step_zero_error", "{{ l[::0] }}", {"l": [1]})
case("slice_undefined_error", "{{ nope[1:] }}")
case("slice_with_none", "{{ l[none:2] }}", {"l": [1, 2, 3]})
case("dict_key_int", "{{ d[1] }}|{{ d[true] }}", {"d": {"1": "str"}})
case("dict_literal_int_key", "{% set d = {1: 'one'} %}{{ d[1] }}|{{ d[1.0] }}|{{ d[true] }}")
case("dict_method_attr_wins", "{{ d.get('items') }}", {"d": {"items": "field"}})
case("item_method_fallback", "{{ d['get']('a') }}", {"d": {"a": 5}})
case("attr_on_none", "[{{ x.y }}]", {"x": None})
case("item_on_none", "[{{ x[0] }}]", {"x": None})
case("attr_on_int", "[{{ x.y }}]", {"x": 3})
case("attr_number_on_dict", "{{ d.0 }}", {"d": {"0": "zero"}})
case("nested_list_access", "{{ x.a[1].b }}", {"x": {"a": [{"b": 1}, {"b": 2}]}})
case("tuple_index", "{% set t = (1, 2, 3) %}{{ t[1] }}|{{ t[-1] }}|{{ t[1:] }}")

# --- arithmetic --------------------------------------------------------------------------------------------------
case("arith_int", "{{ 1 + 2 }}|{{ 5 - 7 }}|{{ 3 * 4 }}|{{ 2 ** 10 }}")
case("arith_div_float", "{{ 6 / 3 }}|{{ 7 / 2 }}|{{ 1 / 3 }}")
case("arith_floordiv", "{{ 7 // 2 }}|{{ -7 // 2 }}|{{ 7 // -2 }}|{{ 7.5 // 2 }}|{{ -7.5 // 2 }}")
case("arith_mod", "{{ 7 % 3 }}|{{ -7 % 3 }}|{{ 7 % -3 }}|{{ 7.5 % 2 }}|{{ -7.5 % 2 }}|{{ 5 % 2.5 }}")
case("arith_pow", "{{ 2 ** -1 }}|{{ 2.0 ** 3 }}|{{ 2 ** 3 ** 2 }}|{{ -2 ** 2 }}|{{ 4 ** 0.5 }}")
case("arith_mixed", "{{ 1 + 1.5 }}|{{ true + 1 }}|{{ true * 3 }}|{{ 0.1 + 0.2 }}")
case("arith_unary", "{{ -x }}|{{ +x }}|{{ -(-x) }}|{{ -true }}", {"x": 3})
case("arith_neg_filter_precedence", "{{ -x | abs }}", {"x": 3})
case("arith_string_concat", "{{ 'a' + 'b' }}|{{ 'ab' * 3 }}|{{ 2 * 'x' }}|{{ 'x' * 0 }}|{{ 'x' * -1 }}")
case("arith_list_concat", "{{ [1] + [2, 3] }}|{{ [0] * 3 }}|{{ (1,) + (2,) }}")
case("arith_int_plus_str_error", "{{ 1 + 'a' }}")
case("arith_str_plus_int_error", "{{ 'a' + 1 }}")
case("arith_list_plus_str_error", "{{ [1] + 'a' }}")
case("arith_div_zero_error", "{{ 1 / 0 }}")
case("arith_floordiv_zero_error", "{{ 1 // 0 }}")
case("arith_mod_zero_error", "{{ 1 % 0 }}")
case("arith_float_div_zero_error", "{{ 1.0 / 0 }}")
case("arith_undefined_error", "{{ nope + 1 }}")
case("arith_undefined_right_error", "{{ 1 + nope }}")
case("arith_neg_undefined_error", "{{ -nope }}")
case("arith_neg_string_error", "{{ -'a' }}")
case("arith_sub_str_error", "{{ 'a' - 'b' }}")
case("arith_precedence", "{{ 1 + 2 * 3 - 4 / 2 }}|{{ (1 + 2) * 3 }}|{{ 2 * 3 % 4 }}")
case("printf_format", "{{ '%s and %s' % ('a', 'b') }}|{{ '%d%%' % 50 }}|{{ '%.2f' % 3.14159 }}|{{ '%5s|%-5s|' % ('a', 'b') }}")
case("printf_single", "{{ '%s!' % x }}|{{ '%r' % x }}", {"x": "hi"})
case("printf_dict", "{{ '%(a)s-%(b)d' % {'a': 'x', 'b': 2} }}")
case("printf_numbers", "{{ '%05.1f|%x|%X|%o|%e|%g|%+d|% d' % (3.14159, 255, 255, 8, 12345.678, 0.0001, 5, 5) }}")
case("printf_too_few_error", "{{ '%s %s' % ('a',) }}")
case("printf_too_many_error", "{{ '%s' % ('a', 'b') }}")
case("printf_round_half", "{{ '%.2f' % 2.675 }}|{{ '%.0f' % 0.5 }}|{{ '%.0f' % 1.5 }}|{{ '%.1f' % 0.25 }}")

# --- comparisons and logic -----------------------------------------------------------------------------------------
case("cmp_basic", "{{ 1 < 2 }}|{{ 2 <= 2 }}|{{ 3 > 4 }}|{{ 4 >= 4 }}|{{ 1 == 1.0 }}|{{ 1 != 2 }}")
case("cmp_chain", "{{ 1 < 2 < 3 }}|{{ 1 < 3 < 2 }}|{{ 1 == 1 < 2 }}")
case("cmp_strings", "{{ 'a' < 'b' }}|{{ 'B' < 'a' }}|{{ 'abc' == 'abc' }}|{{ 'é' > 'z' }}")
case("cmp_lists", "{{ [1, 2] < [1, 3] }}|{{ [1, 2] == [1, 2] }}|{{ [1] < [1, 0] }}|{{ (1, 2) == [1, 2] }}")
case("cmp_mixed_eq", "{{ 1 == '1' }}|{{ none == none }}|{{ true == 1 }}|{{ 0 == false }}")
case("cmp_mixed_order_error", "{{ 1 < 'a' }}")
case("cmp_none_order_error", "{{ none < 1 }}")
case("cmp_undefined_eq", "{{ nope == none }}|{{ nope == nope2 }}|{{ nope != 1 }}")
case("cmp_undefined_order_error", "{{ nope < 1 }}")
case("logic_and_or_values", "{{ 0 or 'x' }}|{{ 'a' or 'b' }}|{{ 'a' and 'b' }}|{{ '' and 'b' }}|{{ none or [] }}")
case("logic_not", "{{ not 0 }}|{{ not 'a' }}|{{ not nope }}|{{ not [] }}|{{ not not 1 }}")
case("logic_precedence", "{{ true or false and false }}|{{ not true or true }}|{{ not 1 == 2 }}")
case("in_list", "{{ 1 in [1, 2] }}|{{ 3 in [1, 2] }}|{{ 3 not in [1, 2] }}|{{ 1.0 in [1] }}")
case("in_string", "{{ 'ell' in 'hello' }}|{{ 'x' not in 'hello' }}|{{ '' in 'a' }}")
case("in_dict", "{{ 'a' in d }}|{{ 'z' in d }}|{{ 1 in d }}", {"d": {"a": 1}})
case("in_string_int_error", "{{ 1 in 'abc' }}")
case("in_undefined", "{{ 1 in nope }}")
case("in_int_error", "{{ 1 in 5 }}")
case("concat_tilde", "{{ 'a' ~ 1 ~ none ~ nope ~ [1] ~ 1.0 }}")
case("cond_expr", "{{ 'y' if x else 'n' }}|{{ 'y' if not x else 'n' }}", {"x": 1})
case("cond_expr_no_else", "[{{ 'y' if x }}]", {"x": 0})
case("cond_expr_nested", "{{ 'a' if x == 1 else 'b' if x == 2 else 'c' }}", {"x": 2})
case("cond_expr_filter", "{{ x | upper if x else 'none' }}", {"x": "hi"})

# --- truthiness -------------------------------------------------------------------------------------------------------
case("truthy_values", "{% for v in [0, 1, '', 'a', [], [0], {}, none, 0.0, 0.1] %}{{ 'T' if v else 'F' }}{% endfor %}")
case("truthy_undefined", "{% if nope %}T{% else %}F{% endif %}")

# --- tests ---------------------------------------------------------------------------------------------------------------
case("test_defined", "{{ x is defined }}|{{ nope is defined }}|{{ nope is undefined }}|{{ x is not defined }}", {"x": None})
case("test_none", "{{ x is none }}|{{ 0 is none }}|{{ nope is none }}", {"x": None})
case("test_types", "{{ 'a' is string }}|{{ 1 is string }}|{{ 1 is number }}|{{ 1.5 is number }}|{{ true is number }}|{{ 'a' is number }}")
case("test_integer_float", "{{ 1 is integer }}|{{ 1.0 is integer }}|{{ true is integer }}|{{ 1.0 is float }}|{{ 1 is float }}")
case("test_boolean", "{{ true is boolean }}|{{ 1 is boolean }}|{{ true is true }}|{{ 1 is true }}|{{ false is false }}")
case("test_sequence_mapping", "{{ [] is sequence }}|{{ 'a' is sequence }}|{{ {} is sequence }}|{{ 1 is sequence }}|{{ {} is mapping }}|{{ [] is mapping }}")
case("test_iterable", "{{ [] is iterable }}|{{ 'a' is iterable }}|{{ 1 is iterable }}|{{ nope is iterable }}|{{ nope is sequence }}")
case("test_even_odd", "{{ 2 is even }}|{{ 3 is even }}|{{ 3 is odd }}|{{ -3 is odd }}|{{ 0 is even }}")
case("test_divisibleby", "{{ 9 is divisibleby 3 }}|{{ 9 is divisibleby(4) }}|{{ 10 is not divisibleby 3 }}")
case("test_in", "{{ 1 is in [1, 2] }}|{{ 'a' is in 'bcd' }}|{{ 3 is not in [1] }}")
case("test_comparisons", "{{ 1 is eq 1 }}|{{ 1 is equalto 2 }}|{{ 1 is ne 2 }}|{{ 1 is lt 2 }}|{{ 2 is le 2 }}|{{ 3 is gt 2 }}|{{ 3 is ge 4 }}|{{ 1 is == 1 }}|{{ 2 is greaterthan 1 }}|{{ 1 is lessthan 2 }}")
case("test_lower_upper", "{{ 'abc' is lower }}|{{ 'aBc' is lower }}|{{ 'ABC' is upper }}|{{ '1' is upper }}")
case("test_callable", "{{ range is callable }}|{{ 'a'.upper is callable }}|{{ 1 is callable }}")
case("test_sameas", "{{ none is sameas none }}|{{ true is sameas true }}|{{ 1 is sameas true }}")
case("test_filter_test", "{{ 'upper' is filter }}|{{ 'nofilter' is filter }}|{{ 'odd' is test }}|{{ 'x' is test }}")
case("test_and_or", "{{ x is defined and x > 1 }}|{{ y is defined or 'no' }}", {"x": 2})
case("test_odd_undefined_error", "{{ nope is odd }}")
case("test_unknown_error", "{{ 1 is nothing }}")
case("test_unknown_in_if_runtime", "{% if 1 is nothing %}a{% endif %}")
case("test_chain_error", "{{ 1 is odd is even }}")
case("test_escaped", "{{ 'a' is escaped }}")

# --- if / elif / else --------------------------------------------------------------------------------------------------------
case("if_basic", "{% if x %}yes{% endif %}", {"x": True})
case("if_else", "{% if x %}yes{% else %}no{% endif %}", {"x": False})
case("if_elif", "{% if x == 1 %}one{% elif x == 2 %}two{% elif x == 3 %}three{% else %}other{% endif %}", {"x": 3})
case("if_elif_else_other", "{% if x == 1 %}one{% elif x == 2 %}two{% else %}other{% endif %}", {"x": 9})
case("if_nested", "{% if a %}{% if b %}ab{% else %}a{% endif %}{% endif %}", {"a": 1, "b": 0})
case("if_tuple_test", "{% if 0, 0 %}t{% endif %}")
case("if_colon_allowed", "{% if true: %}x{% endif %}")

# --- for loops ----------------------------------------------------------------------------------------------------------------
case("for_basic", "{% for i in [1, 2, 3] %}{{ i }},{% endfor %}")
case("for_loop_vars", "{% for x in 'abc' %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.revindex }}{{ loop.revindex0 }};{% endfor %}")
case("for_previtem_nextitem", "{% for x in [1, 2, 3] %}[{{ loop.previtem }}|{{ loop.nextitem }}]{% endfor %}")
case("for_previtem_defined", "{% for x in [1, 2] %}{{ loop.previtem is defined }}{% endfor %}")
case("for_cycle", "{% for x in range(5) %}{{ loop.cycle('a', 'b') }}{% endfor %}")
case("for_depth", "{% for a in [1] %}{{ loop.depth }}{% for b in [1] %}{{ loop.depth }}{{ loop.depth0 }}{% endfor %}{% endfor %}")
case("for_tuple_unpack", "{% for a, b in [[1, 2], (3, 4), 'xy'] %}{{ a }}-{{ b }};{% endfor %}")
case("for_dict_items", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}", {"d": {"b": 1, "a": 2}})
case("for_dict_keys", "{% for k in d %}{{ k }};{% endfor %}", {"d": {"b": 1, "a": 2}})
case("for_string", "{% for c in 'héy' %}[{{ c }}]{% endfor %}")
case("for_else", "{% for x in [] %}{{ x }}{% else %}empty{% endfor %}")
case("for_else_undefined", "{% for x in nope %}{{ x }}{% else %}empty{% endfor %}")
case("for_inline_if", "{% for x in range(10) if x is odd %}{{ x }}{{ loop.index }}/{{ loop.length }} {% endfor %}")
case("for_inline_if_else", "{% for x in [1, 2] if x > 5 %}{{ x }}{% else %}none{% endfor %}")
case("for_nested_loop_var", "{% for a in [1, 2] %}{% for b in [3, 4] %}{{ loop.index }}{% endfor %}{{ loop.index }}|{% endfor %}")
case("for_unpack_error", "{% for a, b in [[1, 2, 3]] %}{% endfor %}")
case("for_unpack_too_few_error", "{% for a, b in [[1]] %}{% endfor %}")
case("for_unpack_int_error", "{% for a, b in [1] %}{% endfor %}")
case("for_over_int_error", "{% for a in 5 %}{% endfor %}")
case("for_over_none_error", "{% for a in x %}{% endfor %}", {"x": None})
case("for_range", "{% for i in range(3) %}{{ i }}{% endfor %}|{% for i in range(1, 10, 3) %}{{ i }}{% endfor %}|{% for i in range(5, 0, -2) %}{{ i }}{% endfor %}")
case("for_zip", "{% for a, b in zip(x, y) %}{{ a }}{{ b }} {% endfor %}", {"x": [1, 2, 3], "y": ["a", "b"]})
case("for_loop_var_after", "{% for i in [1, 2] %}{% endfor %}[{{ i }}]")
case("for_target_shadow", "{% set i = 'outer' %}{% for i in [1, 2] %}{{ i }}{% endfor %}{{ i }}")
case("for_loop_outside_undefined", "[{{ loop }}]{{ loop is defined }}")
case("for_nested_tuple_target", "{% for (a, b), c in [((1, 2), 3)] %}{{ a }}{{ b }}{{ c }}{% endfor %}")
case("for_recursion_of_lists", "{% for row in rows %}{% for cell in row %}{{ cell }}{% if not loop.last %},{% endif %}{% endfor %};{% endfor %}", {"rows": [[1, 2], [3]]})

case("for_filter_lazy_dedup", "{% set seen = [] %}{% for x in ['a', 'b', 'a', 'c', 'b'] if x not in seen %}{{ seen.append(x) | default('', true) }}{{ x }}{% endfor %}|{{ seen }}")
case("for_filter_last_peeks", "{% set seen = [] %}{% for x in ['a', 'a', 'b'] if x not in seen %}{{ x }}{{ loop.last }}{% set _ = seen.append(x) %}{% endfor %}")
case("for_filter_length_materializes", "{% set seen = [] %}{% for x in ['a', 'a', 'b'] if x not in seen %}{{ loop.length }}{% set _ = seen.append(x) %}{% endfor %}")
case("for_filter_revindex_nextitem", "{% for x in range(8) if x is even %}{{ loop.revindex }}{{ loop.nextitem }};{% endfor %}")
case("for_sort_undefined_keys", "{{ 'cab' | sort(attribute='k') | join }}")
case("slice_dict_error", "{{ d[1:] }}", {"d": {"a": 1}})
case("slice_none_error", "{{ x[:1] }}", {"x": None})
case("slice_str_bound_error", "{{ l['a':] }}", {"l": [1]})
# --- set and scoping --------------------------------------------------------------------------------------------------------------
case("set_basic", "{% set x = 5 %}{{ x }}")
case("set_expression", "{% set x = a + 1 %}{{ x }}", {"a": 1})
case("set_tuple_unpack", "{% set a, b = 1, 2 %}{{ a }}{{ b }}")
case("set_tuple_unpack_list", "{% set a, b = [3, 4] %}{{ a }}{{ b }}")
case("set_tuple_unpack_error", "{% set a, b = [1, 2, 3] %}")
case("set_block", "{% set x %}hello {{ name }}{% endset %}[{{ x }}]", {"name": "N"})
case("set_block_filter", "{% set x | upper %}hello{% endset %}{{ x }}")
case("set_block_scope", "{% set y = 1 %}{% set x %}{% set y = 2 %}{{ y }}{% endset %}{{ x }}{{ y }}")
case("set_in_for_no_leak", "{% set x = 0 %}{% for i in [1, 2] %}{% set x = i %}{% endfor %}{{ x }}")
case("set_in_for_per_iteration", "{% set c = 0 %}{% for i in [1, 2] %}{{ c }}{% set c = c + 1 %}{{ c }}{% endfor %}{{ c }}")
case("set_in_for_fresh_each_iteration", "{% for i in [1, 2] %}{% if i == 2 %}[{{ c }}]{% endif %}{% set c = i %}{% endfor %}")
case("set_in_if_leaks", "{% if true %}{% set x = 1 %}{% endif %}{{ x }}")
case("set_nested_for", "{% set c = 1 %}{% for i in [1, 2] %}{% for j in [3] %}{{ c }}{% set c = j %}{{ c }}{% endfor %}{{ c }}{% endfor %}{{ c }}")
case("set_shadows_variable", "{{ x }}{% set x = 1 %}{{ x }}", {"x": 5})
case("set_uses_self", "{% set x = x + 1 %}{{ x }}", {"x": 5})
case("set_in_false_if", "{% if false %}{% set x = 1 %}{% endif %}{{ x }}", {"x": 5})
case("set_namespace", "{% set ns = namespace(count=0) %}{% for i in [1, 2, 3] %}{% set ns.count = ns.count + i %}{% endfor %}{{ ns.count }}")
case("set_namespace_dict_arg", "{% set ns = namespace({'a': 1}, b=2) %}{{ ns.a }}{{ ns.b }}")
case("set_namespace_repr", "{% set ns = namespace(a=1) %}{{ ns }}")
case("set_namespace_missing", "{% set ns = namespace() %}[{{ ns.x }}]")
case("set_namespace_non_ns_error", "{% set d = {} %}{% set d.x = 1 %}")
case("set_cannot_assign_const", "{% set true = 1 %}")
case("set_in_with", "{% with a = 1, b = 2 %}{{ a + b }}{% set c = 3 %}{% endwith %}[{{ a }}{{ c }}]")
case("filter_block", "{% filter upper %}hello {{ x }}{% endfilter %}", {"x": "w"})
case("filter_block_chain", "{% filter trim | replace('a', 'b') %}  aaa  {% endfilter %}")
case("print_tag", "{% print 'a', 1 %}")
case("list_append_visible", "{% set l = [] %}{% for i in range(3) %}{% set _ = l.append(i) %}{% endfor %}{{ l }}")
case("list_append_renders_none", "{% set l = [1] %}{{ l.append(2) }}{{ l }}")
case("list_append_alias", "{% set a = [] %}{% set b = a %}{% set _ = b.append(1) %}{{ a }}")
case("list_append_input", "{% set _ = x.append(3) %}{{ x }}|{{ y }}", {"x": [1, 2], "y": [1, 2]})
case("list_append_nested_input", "{% set _ = d.l.append(3) %}{{ d }}", {"d": {"l": [1]}})
case("dict_update_namespace", "{% set ns = namespace(value={}) %}{% set _ = ns.value.update({'a': 1}) %}{% set _ = ns.value.update(b=2) %}{{ ns.value }}")
case("list_methods", "{% set l = [3, 1, 2] %}{{ l.index(1) }}{{ l.count(3) }}{{ l.pop() }}{{ l }}{% set _ = l.insert(0, 9) %}{{ l }}{% set _ = l.extend([7, 8]) %}{{ l }}{{ l.pop(0) }}{{ l }}")
case("list_remove_reverse_sort", "{% set l = [3, 1, 2, 1] %}{% set _ = l.remove(1) %}{{ l }}{% set _ = l.reverse() %}{{ l }}{% set _ = l.sort() %}{{ l }}{% set _ = l.sort(reverse=true) %}{{ l }}")
case("list_pop_empty_error", "{% set l = [] %}{{ l.pop() }}")
case("list_index_missing_error", "{{ [1, 2].index(5) }}")
case("dict_methods", "{{ d.keys() | list }}|{{ d.values() | list }}|{{ d.items() | list }}|{{ d.get('a') }}|{{ d.get('z') }}|{{ d.get('z', 0) }}", {"d": {"a": 1, "b": 2}})
case("dict_pop_setdefault", "{% set d = {'a': 1} %}{{ d.pop('a') }}{{ d }}{{ d.pop('x', 'dflt') }}{{ d.setdefault('k', 5) }}{{ d }}")
case("dict_pop_missing_error", "{% set d = {} %}{{ d.pop('a') }}")
case("dict_global", "{{ dict(a=1, b='x') }}|{{ dict([('k', 'v')]) }}")
case("tuple_methods", "{% set t = (1, 2, 2) %}{{ t.count(2) }}{{ t.index(2) }}")

# --- filters ------------------------------------------------------------------------------------------------------------------------
case("f_join", "{{ l | join }}|{{ l | join(', ') }}|{{ l | join(d='-') }}", {"l": ["a", "b", "c"]})
case("f_join_nonstr", "{{ [1, none, 2.5, true] | join(',') }}")
case("f_join_attribute", "{{ l | join(', ', attribute='n') }}", {"l": [{"n": "x"}, {"n": "y"}]})
case("f_join_string", "{{ 'abc' | join('.') }}")
case("f_join_undefined", "[{{ nope | join(',') }}]")
case("f_replace", "{{ 'aaa' | replace('a', 'b') }}|{{ 'aaa' | replace('a', 'b', 2) }}|{{ 'abc' | replace('', '-') }}|{{ 123 | replace(2, 9) }}")
case("f_replace_undefined", "[{{ nope | replace('a', 'b') }}]")
case("f_length", "{{ 'héllo' | length }}|{{ [1, 2] | length }}|{{ {'a': 1} | length }}|{{ nope | length }}|{{ 'x' | count }}")
case("f_length_int_error", "{{ 5 | length }}")
case("f_default", "{{ nope | default('d') }}|{{ none | default('d') }}|{{ '' | default('d') }}|{{ '' | default('d', true) }}|{{ 0 | d('z', boolean=true) }}|[{{ nope | default }}]")
case("f_default_attr_chain", "{{ x.missing | default('fallback') }}", {"x": {}})
case("f_int", "{{ '42' | int }}|{{ '3.7' | int }}|{{ 'abc' | int }}|{{ 'abc' | int(7) }}|{{ 3.9 | int }}|{{ -3.9 | int }}|{{ true | int }}|{{ none | int }}|{{ ' 12 ' | int }}|{{ '1_000' | int }}")
case("f_int_base", "{{ 'ff' | int(base=16) }}|{{ '0x1A' | int(0, 16) }}|{{ '0x1A' | int }}|{{ '101' | int(base=2) }}")
case("f_int_undefined_error", "{{ nope | int }}")
case("f_float", "{{ '1.5' | float }}|{{ 'x' | float }}|{{ 2 | float }}|{{ '1e3' | float }}|{{ 'x' | float(1.5) }}|{{ ' -2.5 ' | float }}|{{ 'inf' | float }}")
case("f_float_undefined_error", "{{ nope | float }}")
case("f_string", "{{ 1 | string }}|{{ none | string }}|{{ [1, 'a'] | string }}|[{{ nope | string }}]|{{ 1.0 | string }}")
case("f_trim", "[{{ '  a b  ' | trim }}]|[{{ 'xxaxx' | trim('x') }}]|[{{ '\n\ta\u3000' | trim }}]")
case("f_list", "{{ 'abc' | list }}|{{ {'a': 1, 'b': 2} | list }}|{{ nope | list }}|{{ (1, 2) | list }}")
case("f_case", "{{ 'Hello World' | lower }}|{{ 'Hello World' | upper }}|{{ 'hELLO wORLD' | capitalize }}|{{ 'hello wORLD' | title }}")
case("f_title_separators", "{{ \"they're bill's friends-from(the) uk\" | title }}")
case("f_case_unicode", "{{ 'ÉCOLE straße' | lower }}|{{ 'straße' | upper }}|{{ 'éa' | capitalize }}")
case("f_round", "{{ 2.5 | round }}|{{ 3.5 | round }}|{{ 2.675 | round(2) }}|{{ 3 | round }}|{{ 3.14159 | round(3) }}|{{ 2.1 | round(0, 'ceil') }}|{{ 2.9 | round(method='floor') }}|{{ 1234.5 | round(-2) }}|{{ -0.5 | round }}")
case("f_round_int", "{{ 2.7 | round | int }}|{{ 15 | round(-1) }}|{{ 25 | round(-1) }}")
case("f_round_string_error", "{{ 'a' | round }}")
case("f_map_filter", "{{ ['a', 'B'] | map('upper') | list }}|{{ ['1', '2'] | map('int') | sum }}|{{ ['a b', 'c'] | map('replace', ' ', '_') | join(',') }}")
case("f_map_attribute", "{{ l | map(attribute='n') | list }}|{{ l | map(attribute='m', default='-') | list }}", {"l": [{"n": 1}, {"n": 2, "m": 3}]})
case("f_map_attribute_path", "{{ l | map(attribute='a.0') | join(',') }}", {"l": [{"a": ["x", "y"]}, {"a": ["z"]}]})
case("f_map_unknown_filter_error", "{{ [1] | map('nofilter') | list }}")
case("f_select_reject", "{{ [1, 2, 3, 4] | select('odd') | list }}|{{ [1, 2, 3, 4] | reject('odd') | list }}|{{ [0, 1, '', 'a'] | select | list }}|{{ [1, 2, 3] | select('gt', 1) | list }}|{{ ['a', 'b'] | select('equalto', 'a') | list }}")
case("f_select_in", "{{ [1, 2, 3] | select('in', [2, 3]) | list }}")
case("f_selectattr", "{{ l | selectattr('ok') | map(attribute='n') | list }}|{{ l | rejectattr('ok') | map(attribute='n') | list }}|{{ l | selectattr('n', 'equalto', 2) | list }}", {"l": [{"n": 1, "ok": True}, {"n": 2, "ok": False}]})
case("f_selectattr_missing", "{{ l | selectattr('x', 'defined') | list }}|{{ l | selectattr('x', 'undefined') | list | length }}", {"l": [{"x": 1}, {"y": 2}]})
case("f_first_last", "{{ [1, 2, 3] | first }}|{{ [1, 2, 3] | last }}|{{ 'abc' | first }}|{{ 'abc' | last }}|[{{ [] | first }}]|[{{ [] | last }}]")
case("f_first_int_error", "{{ 5 | first }}")
case("f_truncate_short", "{{ 'hello world' | truncate(9) }}")
case("f_truncate_leeway", "{{ 'hello world' | truncate(8) }}|{{ 'hello world' | truncate(5) }}|{{ 'hello world foo bar' | truncate(9) }}")
case("f_truncate_killwords", "{{ 'hello world foo bar' | truncate(9, true) }}|{{ 'hello world foo bar' | truncate(9, end='…') }}|{{ 'hello world foo bar' | truncate(9, leeway=0) }}|{{ 'hello world foo bar' | truncate(11, false, '', 0) }}")
case("f_truncate_default", "{{ x | truncate }}", {"x": "word " * 60})
case("f_truncate_unicode", "{{ x | truncate(6, leeway=0) }}", {"x": "héllo wörld ünïcode"})
case("f_truncate_nospace", "{{ x | truncate(5, leeway=0) }}", {"x": "abcdefghijkl"})
case("f_truncate_error", "{{ 'abc' | truncate(2) }}")
case("f_truncate_promptsource", "{{ x | string | truncate(2048) }}", {"x": "a" * 3000})
case("f_truncate_promptsource_short", "{{ x | string | truncate(2048) }}|{{ y | string | truncate(2048) }}|{{ z | string | truncate(2048) }}", {"x": "short", "y": [1, 2], "z": None})
case("f_truncate_promptsource_undefined", "[{{ nope | string | truncate(2048) }}]")
case("f_truncate_boundary", "{{ x | truncate(10) }}|{{ y | truncate(10) }}", {"x": "a" * 15, "y": "a" * 16})
case("f_unique", "{{ [1, 2, 1, 3, 2] | unique | list }}|{{ ['a', 'A', 'b'] | unique | list }}|{{ ['a', 'A', 'b'] | unique(true) | list }}")
case("f_unique_attribute", "{{ l | unique(attribute='k') | map(attribute='v') | list }}", {"l": [{"k": 1, "v": "a"}, {"k": 1, "v": "b"}, {"k": 2, "v": "c"}]})
case("f_sort", "{{ [3, 1, 2] | sort }}|{{ [3, 1, 2] | sort(reverse=true) }}|{{ ['b', 'A', 'c'] | sort }}|{{ ['b', 'A', 'c'] | sort(case_sensitive=true) }}")
case("f_sort_attribute", "{{ l | sort(attribute='n') | map(attribute='s') | join }}|{{ l | sort(attribute='n', reverse=true) | map(attribute='s') | join }}", {"l": [{"n": 2, "s": "b"}, {"n": 1, "s": "a"}, {"n": 2, "s": "c"}]})
case("f_sort_multi_attribute", "{{ l | sort(attribute='a,b') | map(attribute='s') | join }}", {"l": [{"a": 2, "b": 1, "s": "x"}, {"a": 1, "b": 2, "s": "y"}, {"a": 1, "b": 1, "s": "z"}]})
case("f_sort_mixed_error", "{{ [1, 'a'] | sort }}")
case("f_reverse", "{{ 'abc' | reverse }}|{{ [1, 2, 3] | reverse | list }}")
case("f_wordcount", "{{ 'hello world, this is-a test_x 42' | wordcount }}|{{ '' | wordcount }}")
case("f_abs", "{{ -3 | abs }}|{{ -2.5 | abs }}|{{ 3 | abs }}")
case("f_abs_error", "{{ 'a' | abs }}")
case("f_max_min", "{{ [3, 1, 2] | max }}|{{ [3, 1, 2] | min }}|{{ ['b', 'A', 'c'] | max }}|{{ ['b', 'A', 'c'] | min(case_sensitive=true) }}|[{{ [] | max }}]")
case("f_max_attribute", "{{ (l | max(attribute='n')).s }}", {"l": [{"n": 2, "s": "b"}, {"n": 5, "s": "a"}]})
case("f_sum", "{{ [1, 2, 3] | sum }}|{{ [1.5, 2] | sum }}|{{ l | sum(attribute='n') }}|{{ [1] | sum(start=10) }}", {"l": [{"n": 2}, {"n": 3}]})
case("f_sum_str_error", "{{ ['a', 'b'] | sum }}")
case("f_batch", "{{ [1, 2, 3, 4, 5] | batch(2) | list }}|{{ [1, 2, 3] | batch(2, 'x') | list }}")
case("f_items", "{{ d | items | list }}|{{ nope | items | list }}", {"d": {"a": 1, "b": 2}})
case("f_items_error", "{{ [1] | items | list }}")
case("f_dictsort", "{{ d | dictsort }}|{{ d | dictsort(by='value') }}|{{ d | dictsort(reverse=true) }}", {"d": {"b": 1, "a": 3, "C": 2}})
case("f_center", "[{{ 'ab' | center(7) }}]|[{{ 'abc' | center(8) }}]|[{{ 'a' | center(4) }}]|[{{ 'a' | center(2) }}]")
case("f_indent", "{{ 'a\nb\n\nc' | indent }}|{{ 'a\nb' | indent(2, true) }}|{{ 'a\n\nb' | indent(2, blank=true) }}|{{ 'a\nb' | indent('> ') }}")
case("f_striptags", "{{ '<p>Hello <b>World</b></p>  <!-- c --> x &amp; y' | striptags }}")
case("f_escape", "{{ '<a href=\"x\">&\\'</a>' | e }}|{{ '<b>' | escape }}")
case("f_format", "{{ '%s-%s' | format(1, 'a') }}|{{ '%(a)s' | format(a='k') }}|{{ '%05d' | format(42) }}")
case("f_tojson", "{{ d | tojson }}", {"d": {"b": [1, 2.5, None, True], "a": "<x & 'y'>", "c": "é"}})
case("f_choice_single", "{{ ['only'] | choice }}|{{ 'x' | choice }}")
case("f_choice_empty_error", "{{ [] | choice }}")
case("f_random_single", "{{ [7] | random }}")
case("f_most_frequent", "{{ ['a', 'b', 'b', 'a', 'c'] | most_frequent }}|{{ ['x', 'y', 'y'] | most_frequent }}|{{ [] | most_frequent }}|{{ [3, 1, 3, 1] | most_frequent | first }}")
case("f_zip_global", "{{ zip([1, 2], 'ab', [True, False, None]) | list }}")
case("f_safe", "{{ '<b>' | safe }}|{{ [1] | safe }}")
case("f_attr", "{{ d | attr('a') }}|[{{ d | attr('zz') }}]", {"d": {"a": 1}})
case("f_chain", "{{ '  A,B , c ' | trim | lower | replace(' ', '') }}")
case("f_unknown_error", "{{ x | nofilter }}")
case("f_unknown_in_if_runtime", "{% if true %}{{ x | nofilter }}{% endif %}")
case("f_unknown_in_false_if", "{% if false %}{{ x | nofilter }}{% endif %}ok")
case("f_unknown_in_condexpr", "{{ x | nofilter if false else 1 }}")
case("f_unknown_in_for_in_if", "{% if false %}{% for i in x %}{{ i | nofilter }}{% endfor %}{% endif %}")
case("f_with_args_kwargs", "{{ 'a b c' | replace(' ', '-', count=1) }}")
case("f_arg_error", "{{ 'x' | join(',', 'a', 'b') }}")
case("f_int_list_default", "{{ [1] | int }}")

# --- str methods --------------------------------------------------------------------------------------------------------------------------
case("m_split", "{{ 'a b  c'.split() }}|{{ 'a,b,,c'.split(',') }}|{{ 'a,b,c'.split(',', 1) }}|{{ '  a  b  '.split() }}|{{ ''.split() }}|{{ ''.split(',') }}")
case("m_split_maxsplit", "{{ '  a  b  c  '.split(none, 1) }}|{{ 'a b c'.split(maxsplit=1) }}|{{ 'a\u3000b\u00a0c\u200bd'.split() }}")
case("m_rsplit", "{{ 'a,b,c'.rsplit(',', 1) }}|{{ '  a  b  c  '.rsplit(none, 1) }}|{{ 'a b c'.rsplit() }}")
case("m_split_empty_sep_error", "{{ 'a'.split('') }}")
case("m_strip", "[{{ '  a  '.strip() }}]|[{{ '  a  '.lstrip() }}]|[{{ '  a  '.rstrip() }}]|[{{ 'xyaxy'.strip('xy') }}]|[{{ '..a..'.rstrip('.') }}]")
case("m_case", "{{ 'AbC'.lower() }}|{{ 'AbC'.upper() }}|{{ 'hello world'.capitalize() }}|{{ \"they're bill's\".title() }}|{{ 'AbC'.swapcase() }}")
case("m_replace", "{{ 'aaaa'.replace('a', 'b') }}|{{ 'aaaa'.replace('a', 'b', 2) }}|{{ 'abc'.replace('', '.') }}")
case("m_startswith", "{{ 'hello'.startswith('he') }}|{{ 'hello'.startswith(('x', 'h')) }}|{{ 'hello'.endswith('lo') }}|{{ 'hello'.endswith(('a', 'b')) }}|{{ 'hello'.startswith('l', 2) }}")
case("m_find", "{{ 'héllo'.find('l') }}|{{ 'héllo'.rfind('l') }}|{{ 'hello'.find('z') }}|{{ 'héllo'.index('o') }}|{{ 'hello'.count('l') }}|{{ 'hello'.find('l', 3) }}|{{ 'aaa'.count('') }}")
case("m_index_error", "{{ 'hello'.index('z') }}")
case("m_join", "{{ ', '.join(['a', 'b']) }}|{{ '-'.join('abc') }}")
case("m_join_error", "{{ ', '.join([1, 2]) }}")
case("m_format", "{{ '{} and {}'.format('a', 'b') }}|{{ '{1}{0}'.format('a', 'b') }}|{{ '{name}!'.format(name='N') }}|{{ '{{x}}'.format() }}|{{ '{:>5}|{:<4}|{:^5}'.format('a', 'b', 'c') }}")
case("m_format_numbers", "{{ '{:.2f}'.format(3.14159) }}|{{ '{:d}'.format(42) }}|{{ '{:,}'.format(1234567) }}|{{ '{:05d}'.format(42) }}|{{ '{:.1%}'.format(0.256) }}|{{ '{}'.format(1.0) }}|{{ '{!r}'.format('a') }}|{{ '{0[a]}'.format({'a': 1}) }}")
case("m_format_index_error", "{{ '{} {}'.format('a') }}")
case("m_predicates", "{{ '123'.isdigit() }}|{{ '12a'.isdigit() }}|{{ 'abc'.isalpha() }}|{{ 'ab1'.isalnum() }}|{{ 'ABC'.isupper() }}|{{ 'abc'.islower() }}|{{ ' \t'.isspace() }}|{{ ''.isdigit() }}|{{ 'Ab Cd'.istitle() }}|{{ '½'.isnumeric() }}|{{ '½'.isdigit() }}")
case("m_splitlines", "{{ 'a\nb\r\nc\rd'.splitlines() }}|{{ 'a\nb\n'.splitlines(true) }}|{{ ''.splitlines() }}")
case("m_zfill_center", "{{ '42'.zfill(5) }}|{{ '-42'.zfill(5) }}|[{{ 'ab'.center(6, '*') }}]|[{{ 'ab'.ljust(4) }}]|[{{ 'ab'.rjust(4, '.') }}]")
case("m_partition", "{{ 'a=b=c'.partition('=') }}|{{ 'a=b=c'.rpartition('=') }}|{{ 'abc'.partition('=') }}")
case("m_unknown_method_error", "{{ 'a'.nomethod() }}")
case("m_on_undefined_error", "{{ nope.split() }}")
case("m_split_chain", "{{ x.split(' ')[0] | lower }}|{{ x.split()[-1] }}", {"x": "Hello big World"})
case("m_strip_non_str_error", "{{ 'a'.strip(1) }}")
case("m_method_not_called", "{{ 'a'.upper is defined }}")
case("m_str_len_slice", "{{ x[:5] }}|{{ (x | length) > 3 }}", {"x": "😀😀😀😀😀😀"})

# --- calls and globals --------------------------------------------------------------------------------------------------------------------
case("call_range", "{{ range(3) | list }}|{{ range(2, 5) | list }}|{{ range(0) | list }}|{{ range(10, 0, -3) | list }}")
case("call_range_float_error", "{{ range(1.5) | list }}")
case("call_undefined_error", "{{ nope() }}")
case("call_string_error", "{{ 'a'() }}")
case("call_kwarg_before_arg_error", "{{ range(a=1, 2) }}")
case("call_trailing_comma", "{{ range(3,) | list }}")

# --- syntax errors ------------------------------------------------------------------------------------------------------------------------------
case("syntax_unclosed_var", "{{ x ")
case("syntax_unclosed_block", "{% if x %}")
case("syntax_unclosed_for", "{% for x in y %}a")
case("syntax_unknown_tag", "{% foo %}")
case("syntax_endif_without_if", "{% endif %}")
case("syntax_missing_end_comment", "{# never closed")
case("syntax_unclosed_string", "{{ 'abc }}")
case("syntax_bad_char", "{{ x $ y }}")
case("syntax_empty_var", "{{ }}")
case("syntax_unbalanced_paren", "{{ (1 + 2 }}")
case("syntax_extra_paren", "{{ 1 + 2) }}")
case("syntax_else_twice", "{% if x %}{% else %}{% else %}{% endif %}")
case("syntax_for_missing_in", "{% for x y %}{% endfor %}")
case("syntax_missing_end_raw", "{% raw %} abc")
case("syntax_dangling_operator", "{{ 1 + }}")
case("syntax_set_missing_value", "{% set x = %}")
case("syntax_unexpected_end_tag", "{% for x in y %}{% endif %}")
case("syntax_dot_nothing", "{{ x. }}")
case("syntax_filter_no_name", "{{ x | }}")
case("syntax_mismatched_brackets", "{{ [1, 2) }}")
case("syntax_bad_escape", r"{{ '\x4' }}")
case("syntax_break_not_enabled", "{% for x in [1] %}{% break %}{% endfor %}")

# --- PromptSource-style templates ----------------------------------------------------------------------------------------------------------------
PS_VARS = {
    "premise": "The cat sat on the mat.",
    "hypothesis": "A cat is sitting.",
    "label": 1,
    "answer_choices": ["Yes", "Maybe", "No"],
    "choices": {"text": ["red", "green", "blue"], "label": ["A", "B", "C"]},
    "answerKey": "B",
    "question": "What color?",
    "answers": {"text": ["Paris", "Paris, France"], "answer_start": [0, 0]},
    "context": "  Paris is the capital.\n",
    "tokens": ["EU", "rejects", "German", "call"],
    "ner_tags": [3, 0, 7, 0],
    "score": 3.7,
}
case("ps_nli", "{{premise}} Question: {{hypothesis}} {{answer_choices | join(\", \")}}?\n|||\n{% if label !=-1 %}{{ answer_choices[label] }}{% endif %}", PS_VARS)
case("ps_nli_trunc", "{{premise | string | truncate(2048) }} Question: {{hypothesis | string | truncate(2048) }}?\n||| {{ answer_choices[label] | string | truncate(2048) }}", PS_VARS)
case("ps_choices_loop", "{{question}}\n{% for i in range(choices[\"text\"]|length) %}\n- {{choices[\"label\"][i]}}: {{choices[\"text\"][i]}}\n{% endfor %}\n|||\n{{ choices[\"text\"][choices[\"label\"].index(answerKey)] }}", PS_VARS)
case("ps_answers_choice", "{{context | trim}}\n{{question}}\n|||\n{{answers.text | choice}}", {**PS_VARS, "answers": {"text": ["Paris"]}})
case("ps_zip_tokens", "{% for token, tag in zip(tokens, ner_tags) %}{% if tag != 0 %}{{ token }} {% endif %}{% endfor %}", PS_VARS)
case("ps_set_answer", "{% set ans = answers.text[0] %}{{ ans | lower }}{% if answers.text | length > 1 %} (also {{ answers.text[1:] | join(', ') }}){% endif %}", PS_VARS)
case("ps_score_round", "{{ score | round | int }}|{{ (score * 20) | round(1) }}|{{ '%.1f' | format(score) }}", PS_VARS)
case("ps_namespace_accumulate", "{% set ns = namespace(out=[]) %}{% for t in tokens %}{% if t[0].isupper() %}{% set ns.out = ns.out + [t] %}{% endif %}{% endfor %}{{ ns.out | join(' ') }}", PS_VARS)
case("ps_abbr_dict", "{% set abbr_exp_dict = namespace(value = {}) %}{% set abbr_string=namespace(value='') %}{% for t in tokens %}{% if t|length == 2 %}{% set abbr_string.value = t %}{% set _dummy = abbr_exp_dict.value.update({abbr_string.value: loop.index}) %}{% endif %}{% endfor %}{{ abbr_exp_dict.value }}{{ abbr_exp_dict.value.keys() | list }}", PS_VARS)
case("ps_if_elif_label", "{% if label == 0 %}\nentailment\n{% elif label == 1 %}\nneutral\n{% else %}\ncontradiction\n{% endif %}", PS_VARS)
case("ps_replace_pipe", "{{ premise.replace('.', '') }} ||| {{ hypothesis | replace('A ', 'The ') }}", PS_VARS)
case("ps_list_append_set", "{% set lst = [] %}{% for c in choices.text %}{% set lst = lst.append(c|upper) %}{% endfor %}[{{ lst }}]", PS_VARS)
case("ps_select_unique", "{{ tokens | map('lower') | unique | select('ne', 'call') | join(' ') }}", PS_VARS)
case("ps_default_missing", "{{ missing_field | default('', true) }}|{{ question | default('none') }}", PS_VARS)
case("ps_answer_choices_split", "{{ 'Yes ||| No ||| Maybe'.split(' ||| ') }}")
case("ps_loop_index_label", "{% for c in choices.text %}{{ loop.index }}. {{ c }}{{ '\\n' if not loop.last }}{% endfor %}", PS_VARS)

# --- deep nesting and edge inputs -------------------------------------------------------------------------------------------------------------------
case("nest_parens_50", "{{ " + "(" * 50 + "1" + ")" * 50 + " }}")
case("nest_lists_30", "{{ " + "[" * 30 + "1" + "]" * 30 + " }}")
case("nest_ifs_20", "{% if true %}" * 20 + "x" + "{% endif %}" * 20)
case("long_chain_filters", "{{ 'a' " + "| upper | lower " * 20 + "}}")
case("json_nested_input", "{{ x }}", {"x": {"a": [{"b": [1, {"c": None}]}]}})
case("empty_var_dict_key_order", "{{ d }}", {"d": {"z": 1, "a": 2, "m": 3}})
case("unicode_keys", "{{ d['clé'] }}|{{ d }}", {"d": {"clé": "v"}})
case("control_chars_output", "{{ x }}", {"x": "a\x01b\x1fc"})


def render(template, variables):
    try:
        t = env.from_string(template)
        return {"output": t.render(**variables)}
    except Exception as e:
        name = type(e).__name__
        if name == "TemplateAssertionError":
            name = "TemplateSyntaxError"
        if name == "FilterArgumentError":
            name = "TemplateRuntimeError"
        return {"error": name, "message": str(e)}


def main():
    out = Path(__file__).resolve().parent.parent / "Tests/Fixtures/template/cases.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    names = set()
    with out.open("w", encoding="utf-8") as f:
        for name, template, variables in CASES:
            assert name not in names, name
            names.add(name)
            record = {"name": name, "template": template, "variables": variables}
            record.update(render(template, json.loads(json.dumps(variables))))
            f.write(json.dumps(record, ensure_ascii=False, allow_nan=True) + "\n")
    print(f"wrote {len(CASES)} cases to {out}")


if __name__ == "__main__":
    main()
