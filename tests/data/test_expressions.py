from __future__ import annotations

import pytest

from olmo_core.errors import ConfigError
from olmo_data.expressions import Expression

KEYS = ["g__g__word_count", "p__p__EMAIL", "lang-x__top", "c4__c4__lines"]
ATTRIBUTES = {"g__g__word_count": [[0, 100, 42]], "p__p__EMAIL": [[3, 10, 1.0], [20, 30, 0.4]],
              "lang-x__top": [[0, 100, "fr"]], "c4__c4__lines": [[0, 25, 1], [50, 75, 1]]}


@pytest.mark.parametrize(("text", "value"), [
    ("g__g__word_count < 50", True),
    ("g__g__word_count * 2 == 84", True),
    ("count(p__p__EMAIL)", 2),
    ("total(p__p__EMAIL)", 1.4),
    ("highest(p__p__EMAIL)", 1.0),
    ("covered(c4__c4__lines)", 0.5),          # 50 of 100 characters
    ("attr('lang-x__top') in ['fr', 'es']", True),
    ("not (source == 'c4') and length >= 100", True),
    ("count(missing_but_known)", 0),
])
def test_values(text: str, value: object) -> None:
    expression = Expression.parse(text, [*KEYS, "missing_but_known"])
    assert expression.evaluate(ATTRIBUTES, 100, "wikipedia") == pytest.approx(value)


@pytest.mark.parametrize(("text", "message"), [
    ("__import__('os').system('true')", "functions are count"),
    ("g__g__word_count.real", "uses Attribute"),
    ("open('x')", "functions are count, total, highest, covered, attr"),
    ("g__g__word_cont < 3", "(did you mean 'g__g__word_count'?)"),
    ("(lambda: 1)()", "functions are count"),
    ("[x for x in p__p__EMAIL]", "uses ListComp"),
    ("g__g__word_count <", "cannot parse filter expression"),
    # bounded cost (issue 22): no string formatting or repetition, no unbounded literals, no crash on odd calls
    ("'%0999999999d' % 1 == source", "does arithmetic on what is not a number"),
    ("length % 2 == 0", "uses Mod, which is not allowed"),
    ("'a'*99999999999 == source", "does arithmetic on what is not a number"),
    ("[0] * 99999999999 == source", "does arithmetic on what is not a number"),
    ("count(1+1) > 0", "calls a function wrongly: functions are count"),
    ("attr(3) > 0", "calls a function wrongly"),
    ("b'x' == source", "uses the literal b'x', which is not allowed"),
    ("length > " + "9" * 1000, "has 1009 characters, more than 1000"),
])
def test_refused(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        Expression.parse(text, KEYS)
    assert message in str(info.value)
    assert repr(text[:60]) in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("text", ["source * 99999999999 == 'a'", "attr('lang-x__top') + 1 > 0", "-source == 0"])
def test_arithmetic_on_a_string_value_fails_per_document_in_one_line(text: str) -> None:
    expression = Expression.parse(text, KEYS)
    with pytest.raises(ConfigError) as info:
        expression.evaluate(ATTRIBUTES, 100, "wikipedia")
    assert str(info.value).startswith(f"filter expression {text!r} fails on a document: ")


def test_an_unknown_key_among_many_names_the_closest_few_and_the_count() -> None:
    many = [f"gopher__gopher__rule_{i:03d}" for i in range(100)] + ["pii__pii__EMAIL_ADDRESS"]
    with pytest.raises(ConfigError) as close:
        Expression.parse("pii__pii__EMAIL_ADRESS > 0", many)
    assert str(close.value) == ("filter expression 'pii__pii__EMAIL_ADRESS > 0' names attribute "
                                "'pii__pii__EMAIL_ADRESS', which the attribute files do not have (did you mean "
                                "'pii__pii__EMAIL_ADDRESS'?); 101 attribute keys in all")
    with pytest.raises(ConfigError) as far:
        Expression.parse("zzz > 0", many)
    message = str(far.value)
    assert message.startswith("filter expression 'zzz > 0' names attribute 'zzz', which the attribute files do not "
                              "have; the closest of its 101 attribute keys: ")
    assert message.count("__") == 6 and "\n" not in message  # three keys named, not a hundred
    assert Expression.parse("count(anything) > 0 and length > 3", None).keys == {"anything"}
