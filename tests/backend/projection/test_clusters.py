"""Clusters of semantic vectors: HDBSCAN finds clearly separate groups, numbers them by
size, caches them, and the map's labels and outlines say what their neurons share."""

import json

import numpy as np

from backend.projection.clusters import ClusterCache, cluster_vectors
from backend.services.clusters import clusters_body, label_of


def _groups(sizes=(40, 30, 20), dim=64, seed=0):
    """Vectors in tight groups around orthogonal directions, the groups shuffled."""
    rng = np.random.default_rng(seed)
    centres = np.linalg.qr(rng.normal(size=(dim, dim)))[0][: len(sizes)] * 5
    truth = np.concatenate([np.full(n, g) for g, n in enumerate(sizes)])
    order = rng.permutation(len(truth))
    vectors = centres[truth] + 0.3 * rng.normal(size=(len(truth), dim))
    return vectors[order].astype(np.float32), truth[order]


def test_separate_groups_are_found_and_numbered_by_size():
    vectors, truth = _groups()
    labels = cluster_vectors(vectors, min_size=8)
    assert labels.dtype == np.int32 and sorted(set(labels.tolist())) == [0, 1, 2]
    for group in range(3):  # each group is one cluster, largest first
        assert set(labels[truth == group].tolist()) == {group}


def test_too_few_vectors_make_no_cluster():
    vectors, _ = _groups(sizes=(4, 3))
    assert (cluster_vectors(vectors, min_size=5) == -1).all()


def test_clusterings_are_cached_by_vectors(tmp_path):
    vectors, _ = _groups()
    cache = ClusterCache(tmp_path)
    assert cache.cached(vectors, 8) is None
    first, hit = cache.get_or_compute(vectors, 8)
    again, hit_again = cache.get_or_compute(vectors, 8)
    assert (hit, hit_again) == (False, True) and (first == again).all()
    assert (cache.cached(vectors, 8) == first).all()
    assert cache.cached(vectors + 1.0, 8) is None  # other vectors: another entry


def _columns(truth):
    """Group 0: neurons of classes cat and dog in layer3; group 1: ship in layer1; group 2
    half cat, half frog, in two layers."""
    label, layer = [], []
    for k, g in enumerate(truth.tolist()):
        if g == 0:
            label.append("cat" if k % 2 else "dog")
            layer.append("layer3")
        elif g == 1:
            label.append("ship")
            layer.append("layer1")
        else:
            label.append("cat" if k % 2 else "frog")
            layer.append("layer1" if k % 2 else "layer2")
    return {"label": label, "layer": layer, "selectivity": [0.5] * len(truth)}


def test_labels_name_the_dominant_classes_and_layers():
    vectors, truth = _groups()
    labels = cluster_vectors(vectors, min_size=8)
    columns = _columns(truth)
    names = [label_of(np.flatnonzero(labels == c).tolist(), columns)[0] for c in range(3)]
    assert names[1] == "ship · layer1"
    assert set(names[0].split(" · ")[0].split(", ")) == {"cat", "dog"}
    assert names[0].endswith(" · layer3")
    classes, layers = names[2].split(" · ")
    assert set(classes.split(", ")) == {"cat", "frog"} and set(layers.split(", ")) == {
        "layer1",
        "layer2",
    }
    unlabelled = {"label": [None] * len(truth), "layer": columns["layer"], "selectivity": [None]}
    assert label_of(np.flatnonzero(labels == 1).tolist(), unlabelled)[0] == "layer1"


def _inside(x, y, px, py) -> bool:
    """Ray casting: is (x, y) inside the closed polygon (px, py)?"""
    inside = False
    for k in range(len(px) - 1):
        (x0, y0), (x1, y1) = (px[k], py[k]), (px[k + 1], py[k + 1])
        if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
            inside = not inside
    return inside


def test_outlines_go_round_the_members_on_the_map():
    vectors, truth = _groups()
    labels = cluster_vectors(vectors, min_size=8)
    rng = np.random.default_rng(1)
    where = np.array([[0, 0], [10, 0], [0, 10]])  # each group in its own corner of the map
    coords = (where[labels] + rng.normal(size=(len(labels), 2))).astype(np.float32)
    body = json.loads(clusters_body(labels, _columns(truth), coords, {"method": "pca"}))
    assert body["unclustered"] == 0 and len(body["clusters"]) == 3
    for cluster in body["clusters"]:
        members = cluster["members"]
        assert sorted(members) == np.flatnonzero(labels == cluster["id"]).tolist()
        assert cluster["label"].startswith(f"#{cluster['id'] + 1} ")
        px, py = cluster["outline"]["x"], cluster["outline"]["y"]
        inside = sum(_inside(*coords[i], px, py) for i in members)
        assert inside >= len(members) - cluster["outside"]  # all but those it says are out
        assert cluster["outside"] <= 0.2 * len(members)
        others = np.flatnonzero(labels != cluster["id"])
        assert not any(_inside(*coords[i], px, py) for i in others)  # no other group's points
