"""Static knowledge distillation and its baselines (docs/design.md §1): the knowledge file,
the methods by name, and the one student trainer they all share."""
