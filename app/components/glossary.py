"""What every number on the page means, in one place: tooltips, legends and table heads
read their words from here."""

GLOSSARY = {
    "neurons": "channels of the probed layers, each one point on the map",
    "held-out r": "how faithful the semantic vectors are: Pearson correlation between their "
    "cosine similarities and the neurons' activation correlations on held-out images "
    "(1 is perfect)",
    "P@10": "precision@10: share of each neuron's 10 nearest semantic neighbours that are "
    "among its 10 most correlated neurons on held-out images (1 = all)",
    "P@10 without copies": "P@10 with each neuron's residual copies (the same channel of the "
    "other blocks of its residual stage, linked by identity skips) left out of both lists: "
    "what the vectors find beyond the skip connections",
    "no live neurons": "every neuron's activation is constant on the held-out images, so "
    "there is no pair of neurons to compare: the network carries no signal here",
    "test accuracy": "the model's accuracy on the held-out test images",
    "test acc.": "the model's accuracy on the held-out test images",
    "dominant class": "the class whose images excite this neuron most, on average",
    "selectivity": "how much more the neuron fires for its dominant class than for the "
    "others: 0 = the same for every class, 1 = only for that class",
    "quality r": "how well this neuron's vector predicts its correlations with every other "
    "neuron on held-out images (Pearson r; 1 is perfect)",
    "precision@10": "share of its 10 nearest semantic neighbours that are also among its 10 "
    "most correlated neurons on held-out images (1 = all of them)",
    "dead": "its activation does not vary over the images: it carries no signal",
    "how": "train: trained here with alignment; align: a loaded model whose vectors were "
    "fitted afterwards; distill: a student distilled from a teacher",
}


def hint(term: str) -> str | None:
    return GLOSSARY.get(term)
