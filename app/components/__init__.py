"""Pieces the pages share: the map figure, the neuron panel, small charts."""
