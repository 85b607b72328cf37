"""Architectures from any source (zoo, torchvision, timm, entry points, user code)."""

from backend.models.record import CodeCopy, ModelRecord, Preprocess
from backend.models.resolve import build, catalogue, check_offered, is_user_code, parse, slug

__all__ = [
    "CodeCopy",
    "ModelRecord",
    "Preprocess",
    "build",
    "catalogue",
    "check_offered",
    "is_user_code",
    "parse",
    "slug",
]
