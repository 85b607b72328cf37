"""The map's deep links: how it draws its neurons (view=pictures) travels in the URL."""

import app.pages.explorer  # noqa: F401  (imported first, as the app does: it imports app.urls)
from app.urls import format_view, parse_view


def test_the_pictures_view_is_kept_in_the_link_and_dots_are_the_unsaid_default():
    link = format_view("digits-default", "umap", {}, "conv3:5", "pictures")
    assert link == "?run=digits-default&method=umap&neuron=conv3:5&view=pictures"
    assert parse_view(link)["look"] == "pictures"
    assert "view" not in format_view("digits-default", "umap", {}, None, "dots")
    assert parse_view("?run=digits-default")["look"] == "dots"


def test_an_unknown_view_falls_back_to_dots_and_says_so():
    view = parse_view("?run=digits-default&view=atlas")
    assert view["look"] == "dots" and view["bad"] == ["view=atlas (use dots or pictures)"]
