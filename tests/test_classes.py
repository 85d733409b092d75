"""Class names, class lists and label maps."""

from __future__ import annotations

import numpy as np
import pytest

from sed.classes import (
    _ontology,
    all_classes,
    class_children,
    load_class_map,
    parse_class_list,
    read_label_map,
)
from sed.errors import ParameterError

CLASSES = load_class_map()


def test_class_map():
    assert len(CLASSES) == 521
    assert CLASSES.display_names[CLASSES.index_of("Bicycle bell")] == "Bicycle bell"
    assert CLASSES.index_of("/m/09x0r") == 0 and CLASSES.index_of("speech") == 0
    found = CLASSES.search("bicycle")  # in model output order
    assert [CLASSES.display_names[i] for i in found] == ["Bicycle bell", "Bicycle"]
    assert found == sorted(found)
    assert CLASSES.search("bell  bicycle") == [CLASSES.index_of("Bicycle bell")]
    assert CLASSES.search("/m/0gy1t2s") == [CLASSES.index_of("Bicycle bell")]


def test_class_list_with_commas_inside_names():
    selection = parse_class_list("Dog, Chicken, rooster,Bark,Chicken,rooster", CLASSES)
    assert selection.event_labels == ("Dog", "Chicken, rooster", "Bark")
    assert selection.class_indices == tuple(
        (CLASSES.index_of(n),) for n in ("Dog", "Chicken, rooster", "Bark")
    )


def test_unknown_class_suggests_close_names():
    with pytest.raises(ParameterError, match=r"unknown YAMNet class 'Dgo'.*'Dog'"):
        parse_class_list("Bark,Dgo", CLASSES)
    with pytest.raises(ParameterError, match="no class names"):
        parse_class_list(" , ", CLASSES)


def test_selection_scores_are_the_max_over_names(tmp_path):
    (tmp_path / "map.csv").write_text(
        'event_label,yamnet_display_names\ndog,Dog;Bark\nbell,"Bicycle bell"\n'
    )
    selection = read_label_map(tmp_path / "map.csv", CLASSES)
    assert selection.event_labels == ("dog", "bell")
    scores = np.zeros((2, 521), np.float32)
    scores[0, CLASSES.index_of("Bark")] = 0.7
    scores[0, CLASSES.index_of("Dog")] = 0.2
    scores[1, CLASSES.index_of("Bicycle bell")] = 0.4
    np.testing.assert_allclose(selection.apply(scores), [[0.7, 0.0], [0.0, 0.4]])
    assert all_classes(CLASSES).is_identity


@pytest.mark.parametrize(
    "text,message",
    [
        ("label,names\ndog,Dog\n", "must start with the header"),
        (
            "event_label,yamnet_display_names\ndog,Dog\ncat,Caat\n",
            r"line 3: unknown YAMNet class 'Caat'",
        ),
        (
            "event_label,yamnet_display_names\ndog,Dog\ndog,Bark\n",
            "line 3: event label 'dog' appears twice",
        ),
        (
            "event_label,yamnet_display_names\ndog\n",
            "line 2: expected event_label,yamnet_display_names",
        ),
        ("event_label,yamnet_display_names\n", "no event labels"),
    ],
)
def test_malformed_label_maps(tmp_path, text, message):
    path = tmp_path / "map.csv"
    path.write_text(text)
    with pytest.raises(ParameterError, match=message) as error:
        read_label_map(path, CLASSES)
    assert str(path) in str(error.value)


def test_shared_label_maps_resolve(shared_data):
    for name in ("animals_to_yamnet.csv", "office_to_yamnet.csv"):
        assert len(read_label_map(shared_data / "labels" / name, CLASSES)) in (10, 11)


def test_the_shipped_ontology_holds_every_yamnet_class_under_its_own_name():
    # Two references nobody here wrote, read from two files: Google's AudioSet ontology and
    # YAMNet's class map must agree on every one of the 521 mids and names.
    ontology, class_map = _ontology(), load_class_map()
    assert len(ontology) == 632
    assert [ontology[mid]["name"] for mid in class_map.mids] == list(class_map.display_names)


def test_children_of_a_class_in_depth_first_order_with_yamnet_indices():
    below = class_children("bird")  # case-insensitive
    rows = {entry.display_name: entry for entry in below}
    assert (rows["Crow"].index, rows["Crow"].depth) == (112, 1)
    assert (rows["Caw"].depth, below.index(rows["Caw"]) - below.index(rows["Crow"])) == (2, 1)
    animals = class_children("/m/0jbk")  # Animal, by mid
    assert {"Dog", "Bird", "Crow"} <= {entry.display_name for entry in animals}
    assert len({entry.mid for entry in animals}) == len(animals)
    assert any(entry.index is None for entry in class_children("Human sounds"))
    assert class_children("Caw") == []


def test_children_of_an_unknown_class_suggest_close_names():
    from click.testing import CliRunner

    from sed.cli import cli

    with pytest.raises(ParameterError, match=r"ontology class 'Brid'; did you mean 'Bird'"):
        class_children("Brid")
    result = CliRunner().invoke(cli, ["classes", "--children", "Brid"], prog_name="sed")
    assert result.exit_code == 2 and result.stdout == ""
    assert "did you mean 'Bird'" in result.stderr
    listed = CliRunner().invoke(cli, ["classes", "--children", "Bird"], prog_name="sed")
    assert listed.exit_code == 0
    assert listed.stdout.splitlines()[:2] == [
        "index,mid,display_name,depth",
        '107,/m/020bb7,"Bird vocalization, bird call, bird song",1',
    ]
