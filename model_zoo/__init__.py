"""Architectures by name, and the small checkpoints that ship with semvec."""

# Importing the families registers their architectures.
from model_zoo import (  # noqa: F401
    cifar_resnet,
    cifar_resnet_a,
    digits_cnn,
    torchvision_models,
    wrn,
)
from model_zoo.registry import ModelEntry, get_model, list_models, model_entry, register_model

__all__ = ["ModelEntry", "get_model", "list_models", "model_entry", "register_model"]
