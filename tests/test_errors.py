"""The exception tree: one base class the CLI catches, messages that name the file."""

from __future__ import annotations

import pytest

from sed.errors import AnnotationError, AudioError, ModelError, ParameterError, SedError


@pytest.mark.parametrize("kind", [AudioError, AnnotationError, ModelError, ParameterError])
def test_every_error_is_a_sed_error_and_names_its_file(kind):
    error = kind("line 3: offset 'later' is not a number", "ref/a.tsv")
    assert isinstance(error, SedError)
    assert str(error) == "ref/a.tsv: line 3: offset 'later' is not a number"
    assert error.message == "line 3: offset 'later' is not a number" and error.path == "ref/a.tsv"
    assert str(kind("no path")) == "no path"


def test_a_bad_parameter_is_also_a_value_error():
    # Code that catches ValueError around a library call keeps working.
    assert issubclass(ParameterError, ValueError)
