"""Which images a quality figure or a reference is computed on.

An image folder lists its images class by class, so "the first 4,096" can be a few
classes only: every such sample is drawn stratified by class, seeded.
"""

from backend.data.subset import stratified_subset


def balanced_sample(split, max_images: int, seed: int = 0):
    """At most `max_images` images of `split` in its class proportions (all when fewer)."""
    return stratified_subset(split, max_images, seed)


def describe(sample) -> dict:
    """How many images and classes a sample holds (what a report says it used)."""
    labels = sample.labels()
    return {"images": len(labels), "classes": int(labels[labels >= 0].unique().numel())}
